# Command-line tests: demo, train, predict, eval, info, and their errors.
. tests/shlib.sh
IRIS=tests/data/iris.csv
PYTHON=${PYTHON:-/usr/bin/python3}

# ---- demo ------------------------------------------------------------------
expect_ok demo_runs "$SOMA" demo
cp "$TMP/out" "$TMP/demo1"
"$SOMA" demo >"$TMP/demo2"
check demo_same_output_twice cmp -s "$TMP/demo1" "$TMP/demo2"
check demo_predicts_one grep -q 'Prediction for \[1, 0, 0\]: 0.9999' "$TMP/demo1"
"$SOMA" demo --seed 7 --iterations 50 >"$TMP/demo3"
check demo_seed_changes_start sh -c "! cmp -s '$TMP/demo1' '$TMP/demo3'"
check demo_iterations grep -q 'after 50 iterations' "$TMP/demo3"
expect_error demo_bad_option 2 "unknown option '--bogus'" "$SOMA" demo --bogus
expect_error demo_bad_number 2 "--iterations needs a whole number" "$SOMA" demo --iterations 1x
expect_ok demo_help "$SOMA" demo --help
expect_error unknown_command 2 "unknown command 'dance'" "$SOMA" dance
expect_ok version "$SOMA" --version

# ---- iris: train on 4 of every 5 rows, evaluate on the held-out fifth -------
awk 'NR == 1 || (NR - 2) % 5 != 0' $IRIS >"$TMP/iris_train.csv"
awk 'NR == 1 || (NR - 2) % 5 == 0' $IRIS >"$TMP/iris_test.csv"
expect_ok iris_train "$SOMA" train "$TMP/iris_train.csv" --target species -o "$TMP/iris.safetensors" --quiet
expect_ok iris_eval "$SOMA" eval "$TMP/iris.safetensors" "$TMP/iris_test.csv"
acc=$(awk '/^accuracy/ {print $2}' "$TMP/out")
check "iris_heldout_accuracy_${acc}_at_least_0.95" awk "BEGIN { exit !($acc >= 0.95) }"
check iris_eval_confusion grep -q 'virginica' "$TMP/out"
expect_ok iris_predict "$SOMA" predict "$TMP/iris.safetensors" "$TMP/iris_test.csv"
check iris_predict_header sh -c "head -1 '$TMP/out' | grep -qx 'predicted_species,p_setosa,p_versicolor,p_virginica'"
check iris_predict_rows sh -c "[ \$(wc -l <'$TMP/out') -eq 31 ]"
cp "$TMP/out" "$TMP/pred1"
# columns in another order, target column dropped: same predictions
awk -F, 'BEGIN { OFS = "," } { print $4, $2, $3, $1 }' "$TMP/iris_test.csv" >"$TMP/reordered.csv"
"$SOMA" predict "$TMP/iris.safetensors" "$TMP/reordered.csv" >"$TMP/pred2" 2>"$TMP/err"
check predict_by_column_name cmp -s "$TMP/pred1" "$TMP/pred2"
expect_ok info "$SOMA" info "$TMP/iris.safetensors"
check info_shows_classes grep -Eq '^classes +3: setosa versicolor virginica$' "$TMP/out"
check info_shows_params grep -Eq '^parameters +259$' "$TMP/out"
check info_keys_aligned "$PYTHON" -c "
import re, sys
starts = set()
for line in open(sys.argv[1]):
    if line.startswith(' '):
        continue          # a column of the table, indented
    m = re.match(r'(layer \\d+|\\S+) +', line)
    starts.add(m.end())
assert len(starts) == 1, starts
" "$TMP/out"
expect_ok info_json "$SOMA" info "$TMP/iris.safetensors" --json
check info_json_parses "$PYTHON" -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['inputs'] == 4 and d['parameters'] == 259 and d['classes'] == ['setosa', 'versicolor', 'virginica']
assert [l['units'] for l in d['layers']] == [32, 3] and d['loss'] == 'ce'
assert d['preprocess']['task'] == 'classify' and d['metadata']['target'] == 'species'
" "$TMP/out"
# same seed, same bytes
"$SOMA" train "$TMP/iris_train.csv" --target species -o "$TMP/iris2.safetensors" --quiet
check train_reproducible cmp -s "$TMP/iris.safetensors" "$TMP/iris2.safetensors"
# validation split is reported and stored
expect_ok train_val_split "$SOMA" train $IRIS --target species --val-split 0.2 -o "$TMP/v.safetensors" --epochs 5
check val_split_reported grep -q 'validation (30 rows)' "$TMP/out"
# the post's single neuron through the CLI: --layers none --no-bias
expect_ok train_single_neuron "$SOMA" train $IRIS --target 4 --layers none --no-bias --quiet -o "$TMP/s.safetensors"
"$SOMA" info "$TMP/s.safetensors" >"$TMP/out"
check single_neuron_one_layer sh -c "grep -c '^layer' '$TMP/out' | grep -qx 1"
# --init-from: same architecture continues; another one is refused
expect_ok init_from "$SOMA" train "$TMP/iris_train.csv" --target species --epochs 1 --init-from "$TMP/iris.safetensors" -o "$TMP/cont.safetensors" --quiet
expect_error init_from_mismatch 1 "differ in architecture" "$SOMA" train "$TMP/iris_train.csv" --target species --layers 8 --init-from "$TMP/iris.safetensors" -o "$TMP/x.safetensors"

# ---- the post's rule: a sigmoid output learns 0/1 targets ------------------
printf 'a,b,y\n0,1,0\n1,0,1\n1,1,2\n' >"$TMP/three.csv"
expect_error sigmoid_needs_zero_one 1 "line 4, column 'y': target 2 is not 0 or 1" \
    "$SOMA" train "$TMP/three.csv" --target y --output-activation sigmoid -o "$TMP/x.safetensors"
check no_model_after_error test ! -e "$TMP/x.safetensors"
printf 'a,b,y\n0,1,no\n1,0,yes\n1,1,yes\n0,0,no\n' >"$TMP/yesno.csv"
expect_ok binary_text_labels "$SOMA" train "$TMP/yesno.csv" --target y --epochs 200 --quiet -o "$TMP/yn.safetensors"
"$SOMA" predict "$TMP/yn.safetensors" "$TMP/yesno.csv" >"$TMP/out"
check binary_predict_header sh -c "head -1 '$TMP/out' | grep -qx 'predicted_y,p_no,p_yes'"

# ---- regression: y = 2a - 3b + 1 -------------------------------------------
awk 'BEGIN { print "a,b,y"; s = 1; for (i = 0; i < 200; i++) {
    s = (s * 1103515245 + 12345) % 2147483648; a = s / 2147483648 * 4 - 2;
    s = (s * 1103515245 + 12345) % 2147483648; b = s / 2147483648 * 4 - 2;
    printf "%.6f,%.6f,%.6f\n", a, b, 2 * a - 3 * b + 1 } }' >"$TMP/lin.csv"
expect_ok regression_train "$SOMA" train "$TMP/lin.csv" --target y --layers none --epochs 200 --quiet -o "$TMP/lin.safetensors"
expect_ok regression_eval "$SOMA" eval "$TMP/lin.safetensors" "$TMP/lin.csv"
loss=$(awk '/^mse/ {print $2}' "$TMP/out")
check "regression_mse_${loss}_below_1e-3" awk "BEGIN { exit !($loss < 1e-3) }"
"$SOMA" predict "$TMP/lin.safetensors" "$TMP/lin.csv" >"$TMP/out"
check regression_predict_header sh -c "head -1 '$TMP/out' | grep -qx predicted_y"

# ---- bad input: a clear one-line error, non-zero exit, no crash -------------
expect_error train_missing_target 2 "--target is required" "$SOMA" train $IRIS -o "$TMP/x.safetensors"
expect_error train_missing_output 2 "-o MODEL is required" "$SOMA" train $IRIS --target species
expect_error train_empty_output 2 "-o: the file name is empty" "$SOMA" train $IRIS --target species -o ""
expect_error train_empty_checkpoint 2 "--checkpoint: the file name is empty" "$SOMA" train $IRIS --target species -o "$TMP/x.safetensors" --checkpoint ""
expect_error train_empty_log 2 "--log: the file name is empty" "$SOMA" train $IRIS --target species -o "$TMP/x.safetensors" --log ""
expect_error train_unknown_column 1 "no column 'kind'" "$SOMA" train $IRIS --target kind -o "$TMP/x.safetensors"
expect_error train_missing_file 1 "nope.csv" "$SOMA" train "$TMP/nope.csv" --target y -o "$TMP/x.safetensors"
expect_error train_bad_layers 2 "--layers: '16,x'" "$SOMA" train $IRIS --target species --layers 16,x -o "$TMP/x.safetensors"
expect_error train_bad_activation 2 "unknown activation 'swish'" "$SOMA" train $IRIS --target species --activation swish -o "$TMP/x.safetensors"
expect_error train_bad_lr 2 "--lr needs a number" "$SOMA" train $IRIS --target species --lr nan -o "$TMP/x.safetensors"
expect_error train_bad_loss_combo 1 "loss bce needs a sigmoid output" "$SOMA" train $IRIS --target species --output-activation softmax --loss bce -o "$TMP/x.safetensors"
expect_error train_bad_val_split 2 "--val-split needs a number" "$SOMA" train $IRIS --target species --val-split 1.5 -o "$TMP/x.safetensors"
expect_error train_save_missing_dir 1 "$TMP/no/such/dir/m.safetensors" "$SOMA" train $IRIS --target species --epochs 1 --quiet -o "$TMP/no/such/dir/m.safetensors"
printf 'a,b,y\n1,2,0\n3,x,1\n' >"$TMP/bad_number.csv"
expect_error csv_bad_number 1 "bad_number.csv: line 3, column 'b': 'x' is not a number" "$SOMA" train "$TMP/bad_number.csv" --target y --numeric b -o "$TMP/x.safetensors"
printf 'a,b,y\n1,2,0\n3,4\n' >"$TMP/short_row.csv"
expect_error csv_short_row 1 "short_row.csv: line 3" "$SOMA" train "$TMP/short_row.csv" --target y -o "$TMP/x.safetensors"
printf 'a,b,y\n1,2,0\n3,"4,1\n' >"$TMP/open_quote.csv"
expect_error csv_unterminated_quote 1 "open_quote.csv: line 3" "$SOMA" train "$TMP/open_quote.csv" --target y -o "$TMP/x.safetensors"
printf 'a,b,y\n1,nan,0\n3,4,1\n5,6,1\n' >"$TMP/nan.csv"
expect_error csv_nan 1 "nan.csv: line 2, column 'b': missing value" "$SOMA" train "$TMP/nan.csv" --target y --missing error -o "$TMP/x.safetensors"
printf 'a,b,y\n' >"$TMP/empty.csv"
expect_error csv_no_rows 1 "no data rows" "$SOMA" train "$TMP/empty.csv" --target y -o "$TMP/x.safetensors"
printf 'a,b,y\n1,2,0\n3,4,0\n' >"$TMP/oneclass.csv"
expect_error one_class 1 "has only one value" "$SOMA" train "$TMP/oneclass.csv" --target y -o "$TMP/x.safetensors"
# eval with a label the model has never seen
sed 's/virginica/tulip/' "$TMP/iris_test.csv" >"$TMP/tulip.csv"
expect_ok eval_unknown_label "$SOMA" eval "$TMP/iris.safetensors" "$TMP/tulip.csv"
check eval_unknown_label_warns grep -q "with a label the model never saw (counted as wrong)" "$TMP/err"
check eval_unknown_label_wrong grep -q "^accuracy  0.6" "$TMP/out"
# predict on data without one of the model's features
cut -d, -f1-3 "$TMP/iris_test.csv" >"$TMP/nofeature.csv"
expect_error predict_missing_feature 1 "petal_width" "$SOMA" predict "$TMP/iris.safetensors" "$TMP/nofeature.csv"
# model files that are not models
head -c 100 "$TMP/iris.safetensors" >"$TMP/truncated.safetensors"
expect_error model_truncated 1 "truncated.safetensors" "$SOMA" info "$TMP/truncated.safetensors"
expect_error model_not_safetensors 2 "iris.csv is not a soma model file (a model is a .safetensors file written by soma train)" "$SOMA" predict $IRIS $IRIS
expect_error model_missing 1 "missing.safetensors" "$SOMA" info "$TMP/missing.safetensors"
# misspellings get a suggestion, not the whole list
expect_error optimizer_did_you_mean 2 "--optimizer: unknown optimizer 'SGD' (did you mean 'sgd'?)" "$SOMA" train $IRIS --target species --optimizer SGD -o "$TMP/x.safetensors"
expect_error loss_did_you_mean 2 "--loss: unknown loss 'MSE' (did you mean 'mse'?)" "$SOMA" train $IRIS --target species --loss MSE -o "$TMP/x.safetensors"
expect_error predict_option_did_you_mean 2 "unknown option '--ids' (did you mean '--id'?)" "$SOMA" predict "$TMP/iris.safetensors" $IRIS --ids species

# --optimizer sgd is plain SGD unless --momentum says otherwise, as in PyTorch
"$SOMA" train $IRIS --target species --optimizer sgd --epochs 1 --quiet -o "$TMP/sgd.safetensors"
"$SOMA" info "$TMP/sgd.safetensors" >"$TMP/out"
check sgd_is_plain_by_default grep -Eq '^train.momentum +0$' "$TMP/out"
"$SOMA" train $IRIS --target species --optimizer sgd --momentum 0.9 --epochs 1 --quiet -o "$TMP/sgd.safetensors"
"$SOMA" info "$TMP/sgd.safetensors" >"$TMP/out"
check sgd_momentum_given grep -Eq '^train.momentum +0.9$' "$TMP/out"

# saving over an existing model replaces it whole
cp "$TMP/iris.safetensors" "$TMP/keep.safetensors"
"$SOMA" train $IRIS --target species --epochs 1 --quiet -o "$TMP/keep.safetensors"
check save_replaces sh -c "! cmp -s '$TMP/iris.safetensors' '$TMP/keep.safetensors'"
check no_temp_files_left sh -c "[ \$(ls '$TMP' | grep -c tmp) -eq 0 ]"
