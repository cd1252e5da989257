# Command-line tests for tables as people have them: separators, decimal
# commas, missing values, text columns, gzip, the task rule, target
# scaling, several targets, predict's --id and -o, eval's figures and
# --json, class weights, and the errors of each.
. tests/shlib.sh
PYTHON=${PYTHON:-/usr/bin/python3}
X="$TMP/x.safetensors"

# ---- a messy export: semicolons, decimal commas, NA, text, a date, an id ----
"$PYTHON" - "$TMP" <<'EOF'
import random, sys, gzip
random.seed(3)
tmp = sys.argv[1]
rows = []
for i in range(400):
    size = random.uniform(1, 10)
    colour = random.choice(["red", "green", "blue"])
    price = 1000 * size + {"red": 5000, "green": 0, "blue": -3000}[colour] \
        + random.gauss(0, 300) + 100000
    kind = "big" if size + (2 if colour == "red" else 0) > 6.5 else "small"
    rows.append(["item-%04d" % i, "%.2f" % size, colour, "2024-%02d-%02d" % (i % 12 + 1, i % 28 + 1),
                 "%.1f" % price, kind])
# missing values of several spellings
for i in range(0, 400, 17):
    rows[i][1] = random.choice(["NA", "", "?", "null"])
for i in range(5, 400, 23):
    rows[i][2] = "NA"
for i in range(7, 400, 41):
    rows[i][4] = "NA"
def write(path, rs, opener=open):
    with opener(path, "wt") as f:
        f.write("code;size;colour;day;price;kind\n")
        for r in rs:
            r = list(r)
            r[1] = r[1].replace(".", ",")
            r[4] = r[4].replace(".", ",")
            f.write(";".join(r) + "\n")
write(tmp + "/shop.csv", rows[:300])
write(tmp + "/shop.csv.gz", rows[:300], gzip.open)
test = [list(r) for r in rows[300:]]
test[0][2] = "purple"                      # a colour never seen
test[1][1] = "NA"
write(tmp + "/shop_test.csv", test)
EOF

expect_ok tables_train_messy "$SOMA" train "$TMP/shop.csv" --target kind -o "$TMP/kind.safetensors" --epochs 60
check tables_sep_detected grep -q "separator ';', decimal ','" "$TMP/out"
check tables_id_left_out grep -Eq "^  code +ignored +identifier-like text" "$TMP/out"
check tables_date_left_out grep -Eq "^  day +ignored +dates" "$TMP/out"
check tables_colour_categorical grep -Eq "^  colour +categorical .* -> 4 inputs" "$TMP/out"
check tables_price_numeric grep -Eq "^  price +numeric" "$TMP/out"
check tables_task_said grep -q "task: classification into 2 classes: the target 'kind' holds text" "$TMP/out"
check tables_imputed_said grep -q "missing cells filled" "$TMP/out"
expect_ok tables_info "$SOMA" info "$TMP/kind.safetensors"
check tables_info_roles grep -Eq "^  colour +categorical" "$TMP/out"
check tables_info_fill grep -Eq "^  size +numeric +numbers \(missing -> [0-9.]+\)" "$TMP/out"

# gzip reads like plain text: the same model bytes but for the file name
expect_ok tables_train_gzip "$SOMA" train "$TMP/shop.csv.gz" --target kind -o "$TMP/kind_gz.safetensors" --epochs 60 --quiet
"$SOMA" predict "$TMP/kind.safetensors" "$TMP/shop_test.csv" >"$TMP/p_plain" 2>/dev/null
"$SOMA" predict "$TMP/kind_gz.safetensors" "$TMP/shop_test.csv" >"$TMP/p_gz" 2>/dev/null
check tables_gzip_same_predictions cmp -s "$TMP/p_plain" "$TMP/p_gz"

# predict takes raw rows: missing values, an unseen category (a warning)
expect_ok tables_predict_raw "$SOMA" predict "$TMP/kind.safetensors" "$TMP/shop_test.csv" --id code
check tables_predict_header sh -c "head -1 '$TMP/out' | grep -qx 'code,predicted_kind,p_big,p_small'"
check tables_predict_id sh -c "sed -n 2p '$TMP/out' | grep -q '^item-0300,'"
check tables_predict_rows sh -c "[ \$(wc -l <'$TMP/out') -eq 101 ]"
cp "$TMP/out" "$TMP/p_id"
check tables_unseen_warning grep -q "1 cell with a category not seen in training (first in column 'colour'): encoded as all zeros" "$TMP/err"
expect_ok tables_predict_to_file "$SOMA" predict "$TMP/kind.safetensors" "$TMP/shop_test.csv" --id code -o "$TMP/pred.csv"
check tables_predict_file_written cmp -s "$TMP/pred.csv" "$TMP/p_id"
check tables_predict_stdout_empty test ! -s "$TMP/out"
# an --id column that is also a feature keeps its text and its number
expect_ok tables_id_is_feature "$SOMA" predict "$TMP/kind.safetensors" "$TMP/shop_test.csv" --id size,code
check tables_id_is_feature_same "$PYTHON" -c "
import csv, sys
a = [r[2:] for r in csv.reader(open(sys.argv[1]))]
b = list(csv.reader(open(sys.argv[2])))
assert a == b and len(a) == 101
" "$TMP/out" "$TMP/p_plain"
check tables_id_is_feature_text sh -c "sed -n 2,3p '$TMP/out' | tr '\n' ' ' | grep -q '^\"9,18\",item-0300,.* NA,item-0301,'"
check tables_predict_no_temp sh -c "! ls '$TMP'/pred.csv.tmp.* 2>/dev/null"

# eval: every figure, and --json for scripts
expect_ok tables_eval "$SOMA" eval "$TMP/kind.safetensors" "$TMP/shop_test.csv"
check tables_eval_accuracy grep -q "^accuracy" "$TMP/out"
check tables_eval_per_class grep -Eq "^ *small +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+$" "$TMP/out"
check tables_eval_f1 grep -q "^macro F1" "$TMP/out"
check tables_eval_logloss grep -q "^log loss" "$TMP/out"
acc=$(awk '/^accuracy/ {print $2}' "$TMP/out")
check "tables_heldout_accuracy_${acc}_at_least_0.9" awk "BEGIN { exit !($acc >= 0.9) }"
expect_ok tables_eval_json "$SOMA" eval "$TMP/kind.safetensors" "$TMP/shop_test.csv" --json
check tables_eval_json_parses "$PYTHON" -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['task'] == 'classification' and d['rows'] == 100
assert abs(sum(c['support'] for c in d['classes']) - 100) == 0
assert 0 <= d['macro_f1'] <= 1 and d['log_loss'] > 0
" "$TMP/out"

# a file of the one column a model needs, in the training file's format:
# no separator to find, so the model's own (';', with decimal commas)
printf 'x;y\n0,25;1\n0,75;2\n0,5;1,5\n1,0;2,5\n' >"$TMP/semi.csv"
"$SOMA" train "$TMP/semi.csv" --target y --epochs 5 --quiet -o "$TMP/semi.safetensors"
printf 'x\n0,25\n0,75\n' >"$TMP/one_column.csv"
expect_ok tables_predict_one_column "$SOMA" predict "$TMP/semi.safetensors" "$TMP/one_column.csv"
check tables_predict_one_column_rows sh -c "[ \$(wc -l <'$TMP/out') -eq 3 ]"

# ---- regression in the target's units: a price around 100,000 ----------------
expect_ok tables_regress_train "$SOMA" train "$TMP/shop.csv" --target price --ignore kind -o "$TMP/price.safetensors" --epochs 200 --quiet
expect_ok tables_regress_eval "$SOMA" eval "$TMP/price.safetensors" "$TMP/shop_test.csv" --json
check tables_regress_r2 "$PYTHON" -c "
import json, sys
d = json.load(open(sys.argv[1]))['targets'][0]
assert d['r2'] > 0.95, d
assert d['baseline']['r2'] < 0.05 and d['rmse'] < 0.3 * d['baseline']['rmse'], d
assert 90000 < d['baseline']['predict'] < 120000, d
" "$TMP/out"
"$SOMA" predict "$TMP/price.safetensors" "$TMP/shop_test.csv" >"$TMP/out" 2>/dev/null
check tables_regress_units awk -F, 'NR == 2 { exit !($1 > 80000 && $1 < 130000) }' "$TMP/out"
check tables_regress_header sh -c "head -1 '$TMP/out' | grep -qx predicted_price"
expect_ok tables_regress_info "$SOMA" info "$TMP/price.safetensors"
check tables_regress_info_scale grep -q "trained as (y - " "$TMP/out"

# ---- several targets: one output each ---------------------------------------
"$PYTHON" - "$TMP" <<'EOF'
import random, sys
random.seed(5)
with open(sys.argv[1] + "/two.csv", "w") as f:
    f.write("a,b,u,v\n")
    for i in range(300):
        a, b = random.uniform(-1, 1), random.uniform(-1, 1)
        f.write("%.4f,%.4f,%.4f,%.4f\n" % (a, b, 200 * a + 50, -3 * b + a))
EOF
expect_ok tables_two_targets "$SOMA" train "$TMP/two.csv" --target u,v -o "$TMP/two.safetensors" --epochs 100 --quiet
"$SOMA" predict "$TMP/two.safetensors" "$TMP/two.csv" >"$TMP/out" 2>/dev/null
check tables_two_targets_header sh -c "head -1 '$TMP/out' | grep -qx 'predicted_u,predicted_v'"
expect_ok tables_two_targets_eval "$SOMA" eval "$TMP/two.safetensors" "$TMP/two.csv" --json
check tables_two_targets_r2 "$PYTHON" -c "
import json, sys
t = json.load(open(sys.argv[1]))['targets']
assert [x['target'] for x in t] == ['u', 'v'] and min(x['r2'] for x in t) > 0.98, t
" "$TMP/out"

# ---- the task rule: a weight written 191.0 is regressed ----------------------
printf 'Weight,Waist,Pulse\n191.0,36.0,50.0\n189.0,37.0,52.0\n193.0,38.0,58.0\n162.0,35.0,62.0\n189.0,35.0,46.0\n182.0,36.0,56.0\n211.0,38.0,56.0\n167.0,34.0,60.0\n176.0,31.0,74.0\n154.0,33.0,56.0\n' >"$TMP/linnerud.csv"
expect_ok tables_weight_regressed "$SOMA" train "$TMP/linnerud.csv" --target Weight --epochs 5 -o "$X"
check tables_weight_reason grep -q "task: regression: the target 'Weight' holds numbers written with a fraction (--task classify to change)" "$TMP/out"
expect_ok tables_task_forced "$SOMA" train "$TMP/linnerud.csv" --target Weight --task classify --epochs 1 -o "$X"
check tables_task_forced_said grep -q "classification into 9 classes: as asked" "$TMP/out"

# ---- column options accumulate -------------------------------------------------
expect_ok tables_ignore_accumulates "$SOMA" train "$TMP/shop.csv" --target kind --ignore price --ignore size --epochs 1 -o "$X"
check tables_ignore_both sh -c "grep -Eq '^  price +ignored +as asked' '$TMP/out' && grep -Eq '^  size +ignored +as asked' '$TMP/out'"
expect_ok tables_categorical_forced "$SOMA" train "$TMP/linnerud.csv" --target Pulse --categorical Waist --epochs 1 -o "$X"
check tables_categorical_forced_said grep -Eq '^  Waist +categorical +as asked' "$TMP/out"

# ---- missing values: drop, error, more tokens ----------------------------------
expect_ok tables_missing_drop "$SOMA" train "$TMP/shop.csv" --target kind --missing drop --epochs 1 -o "$X"
check tables_missing_drop_said grep -q "with a missing feature left out (--missing drop)" "$TMP/out"
printf 'a,b,y\n1,-,0\n2,3,1\n4,5,0\n6,7,1\n' >"$TMP/dash.csv"
expect_ok tables_na_values "$SOMA" train "$TMP/dash.csv" --target y --na-values - --epochs 1 -o "$X"
check tables_na_values_numeric grep -Eq '^  b +numeric' "$TMP/out"
expect_error tables_missing_error 1 "dash.csv: line 2, column 'b': missing value (--missing error)" \
    "$SOMA" train "$TMP/dash.csv" --target y --na-values - --missing error -o "$X"

# ---- class weights ----------------------------------------------------------------
awk 'BEGIN { print "a,b,y"; s = 7; for (i = 0; i < 400; i++) {
    s = (s * 1103515245 + 12345) % 2147483648; a = s / 2147483648;
    s = (s * 1103515245 + 12345) % 2147483648; b = s / 2147483648;
    print a "," b "," (a + 0.3 * b > 1.05 ? "rare" : "common") } }' >"$TMP/imb.csv"
expect_ok tables_class_weight "$SOMA" train "$TMP/imb.csv" --target y --class-weight balanced --epochs 20 -o "$TMP/imb.safetensors"
check tables_class_weight_said grep -q "class weights (balanced): common " "$TMP/out"
"$SOMA" info "$TMP/imb.safetensors" >"$TMP/out"
check tables_class_weight_softmax grep -q "2 units, softmax" "$TMP/out"
# the rare class is found more often with the weights than without
"$SOMA" train "$TMP/imb.csv" --target y --epochs 20 --quiet -o "$TMP/imb0.safetensors"
"$SOMA" eval "$TMP/imb0.safetensors" "$TMP/imb.csv" --json >"$TMP/e0"
"$SOMA" eval "$TMP/imb.safetensors" "$TMP/imb.csv" --json >"$TMP/e1"
check tables_class_weight_raises_rare_recall "$PYTHON" -c "
import json, sys
r = [{c['class']: c['recall'] for c in json.load(open(f))['classes']} for f in sys.argv[1:]]
assert r[1]['rare'] > r[0]['rare'], r
" "$TMP/e0" "$TMP/e1"

# ---- Ctrl-C and --resume on a messy table: the same bytes as one run ----------
"$PYTHON" - "$TMP" <<'EOF'
import random, sys
random.seed(9)
with open(sys.argv[1] + "/long.csv", "w") as f:
    f.write("a;b;c;y\n")
    for i in range(20000):
        a, b = random.uniform(0, 10), random.choice(["x", "y", "z", "NA"])
        y = 3 * a + {"x": 1, "y": 2, "z": 3, "NA": 0}[b] + random.gauss(0, 0.1) + 500
        f.write("%s;%s;%d;%s\n" % ("NA" if i % 13 == 0 else ("%.3f" % a).replace(".", ","),
                                   b, i % 7, ("%.3f" % y).replace(".", ",")))
EOF
long_args="$TMP/long.csv --target y --missing drop --layers 16 --epochs 60 --batch-size 4"
"$SOMA" train $long_args --quiet -o "$TMP/long_full.safetensors"
"$SOMA" train $long_args --log "$TMP/long.csv.log" -o "$TMP/long.safetensors" >"$TMP/sig.out" 2>"$TMP/sig.err" &
pid=$!
for i in $(seq 1 400); do
    n=$(cat "$TMP"/long.csv.log.tmp.* 2>/dev/null | wc -l)
    [ "$n" -ge 3 ] && break
    sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
check "tables_sigint_exit_130_got_$rc" test "$rc" -eq 130
expect_ok tables_resume "$SOMA" train "$TMP/long.csv" --target y -o "$TMP/long.safetensors" --resume "$TMP/long.safetensors.checkpoint"
check tables_resume_same_bytes cmp -s "$TMP/long_full.safetensors" "$TMP/long.safetensors"

# ---- errors: a clear one-line message, non-zero exit, nothing written ----------
rm -f "$X"
printf 'a,b,a\n1,2,3\n' >"$TMP/dup.csv"
expect_error tables_duplicate_names 1 "dup.csv: line 1: duplicate column name 'a' (columns 1 and 3)" \
    "$SOMA" train "$TMP/dup.csv" --target b -o "$X"
check tables_nothing_written test ! -e "$X"
printf 'a b\n1,2\n3,4\n' >"$TMP/onecol.csv"
expect_error tables_one_column 1 "the header has one column with the separator ','" \
    "$SOMA" train "$TMP/onecol.csv" --target a --sep , -o "$X"
printf 'a\n1\n2\n' >"$TMP/single.csv"
expect_error tables_single_column 1 "single.csv: line 1: one column only with the separator" \
    "$SOMA" train "$TMP/single.csv" --target a -o "$X"
printf 'a,y\n1,\n2,NA\n' >"$TMP/notarget.csv"
expect_error tables_target_all_missing 1 "column 'y': the target is missing on every row" \
    "$SOMA" train "$TMP/notarget.csv" --target y -o "$X"
expect_error tables_target_did_you_mean 1 "no column 'KIND' (did you mean 'kind'?)" \
    "$SOMA" train "$TMP/shop.csv" --target KIND -o "$X"
expect_error tables_two_roles 1 "column 'size' is given two roles (ignored and numeric)" \
    "$SOMA" train "$TMP/shop.csv" --target kind --ignore size --numeric size -o "$X"
expect_error tables_ignore_target 1 "--ignore: 'kind' is the target" \
    "$SOMA" train "$TMP/shop.csv" --target kind --ignore kind -o "$X"
expect_error tables_target_twice 1 "target 'u' is named twice" \
    "$SOMA" train "$TMP/two.csv" --target u,u -o "$X"
expect_error tables_vocabulary_limit 1 "column 'code' has more than 5 distinct values, too many to be categorical (--max-categories)" \
    "$SOMA" train "$TMP/shop.csv" --target kind --categorical code --max-categories 5 -o "$X"
expect_error tables_several_targets_classify 1 "several targets are trained as regression" \
    "$SOMA" train "$TMP/two.csv" --target u,v --task classify -o "$X"
expect_error tables_no_features 1 "no feature columns are left" \
    "$SOMA" train "$TMP/two.csv" --target u --ignore a,b,v -o "$X"
printf 'a,y,z\n1,NA,1\n2,1,NA\n' >"$TMP/twomiss.csv"
expect_error tables_no_row_all_targets 1 "no row has a value for every target" \
    "$SOMA" train "$TMP/twomiss.csv" --target y,z -o "$X"
printf 'a,y\n1,NA\n2,NA\n3,1\n' >"$TMP/fewy.csv"
expect_error tables_regression_text_target 1 "line 2, column 'kind': 'small' is not a number (a regression target must be numbers)" \
    "$SOMA" train "$TMP/shop.csv" --target kind --task regress -o "$X"
expect_error tables_class_weight_regression 1 "--class-weight: price is a regression target" \
    "$SOMA" train "$TMP/shop.csv" --target price --class-weight balanced -o "$X"
expect_error tables_class_weight_sigmoid 1 "--class-weight balanced weighs the cross-entropy of a softmax output" \
    "$SOMA" train "$TMP/imb.csv" --target y --class-weight balanced --output-activation sigmoid -o "$X"
# usage errors
expect_error tables_bad_sep 2 "--sep: 'x' is not ',', ';', '|', tab or space" "$SOMA" train "$TMP/shop.csv" --target kind --sep x -o "$X"
expect_error tables_bad_decimal 2 "--decimal: ';' is not '.' or ','" "$SOMA" train "$TMP/shop.csv" --target kind --decimal ';' -o "$X"
expect_error tables_decimal_comma_sep 2 "--decimal: ',' needs another --sep than ','" "$SOMA" train "$TMP/shop.csv" --target kind --decimal , --sep , -o "$X"
expect_error tables_bad_missing 2 "--missing: use impute, drop or error" "$SOMA" train "$TMP/shop.csv" --target kind --missing guess -o "$X"
expect_error tables_bad_task 2 "--task: use classify or regress" "$SOMA" train "$TMP/shop.csv" --target kind --task cluster -o "$X"
expect_error tables_bad_class_weight 2 "--class-weight: use balanced or none" "$SOMA" train "$TMP/shop.csv" --target kind --class-weight auto -o "$X"
# predict and eval on the wrong data
cut -d';' -f1,3- "$TMP/shop_test.csv" >"$TMP/nosize.csv"
expect_error tables_predict_missing_column 1 "nosize.csv: line 1: no column 'size', which the model needs (a feature)" \
    "$SOMA" predict "$TMP/kind.safetensors" "$TMP/nosize.csv"
awk -F';' 'BEGIN { OFS = ";" } NR == 3 { $2 = "big" } { print }' "$TMP/shop_test.csv" >"$TMP/textsize.csv"
expect_error tables_predict_text_in_numeric 1 "textsize.csv: line 3, column 'size': 'big' is not a number (the column is numeric in the model)" \
    "$SOMA" predict "$TMP/kind.safetensors" "$TMP/textsize.csv"
awk -F';' 'BEGIN { OFS = ";" } NR == 1 { print; next } { $3 = NR; print }' "$TMP/shop_test.csv" >"$TMP/shifted.csv"
expect_error tables_predict_shifted 1 "column 'colour' held text in training" \
    "$SOMA" predict "$TMP/kind.safetensors" "$TMP/shifted.csv"
expect_error tables_predict_id_missing 1 "line 1: --id: no column 'nope'" \
    "$SOMA" predict "$TMP/kind.safetensors" "$TMP/shop_test.csv" --id nope
expect_error tables_eval_other_target 1 "the model was trained on the target 'kind', not 'colour'" \
    "$SOMA" eval "$TMP/kind.safetensors" "$TMP/shop_test.csv" --target colour
printf '\000\000\010\001\000\000\000\001\000' >"$TMP/lab"
expect_error tables_id_for_idx 2 "--id is for CSV files" "$SOMA" predict "$TMP/kind.safetensors" "$TMP/lab" --id code
expect_error tables_predict_to_bad_dir 1 "cannot create the temporary file" \
    "$SOMA" predict "$TMP/kind.safetensors" "$TMP/shop.csv" -o "$TMP/nodir/p.csv"

