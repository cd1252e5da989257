# The errors of docs/errors.md that the program can reach and no other
# command-line test provokes: each check runs soma, wants its exit status
# and a distinctive part of the message, and docs/errors.md names the check
# (tests/py_errors_catalogue.py holds the two together).
. tests/shlib.sh
IRIS=tests/data/iris.csv
PYTHON=${PYTHON:-/usr/bin/python3}

# expect_error_lines NAME STATUS SUBSTRING CMD...: like expect_error, for a
# message of several lines
expect_error_lines() {
    name=$1; want=$2; sub=$3; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ "$rc" -eq "$want" ] && grep -qF -- "$sub" "$TMP/err"; then pass "$name"
    else fail "$name" "exit $rc (wanted $want) from: $*" "stderr: $(head -c 600 "$TMP/err")"; fi
}

# A model file edited: st.py IN OUT EDIT... with EDIT one of set:KEY=VALUE,
# del:KEY (metadata), nan:TENSOR (its first element), shorten:TENSOR (its
# last element dropped). The header and data are written anew.
cat >"$TMP/st.py" <<'EOF'
import json, math, struct, sys
data = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])
meta = header.pop("__metadata__", {})
buf = data[8 + n:]
tensors = {k: [v["shape"], bytearray(buf[v["data_offsets"][0]:v["data_offsets"][1]])]
           for k, v in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])}
for edit in sys.argv[3:]:
    op, _, arg = edit.partition(":")
    if op == "set":
        key, _, value = arg.partition("=")
        meta[key] = value
    elif op == "del":
        del meta[arg]
    elif op == "nan":
        tensors[arg][1][0:4] = struct.pack("<f", math.nan)
    elif op == "shorten":
        tensors[arg][0] = [tensors[arg][0][0] - 1]
        del tensors[arg][1][-4:]
out, body, at = {"__metadata__": meta}, b"", 0
for k, (shape, b) in tensors.items():
    out[k] = {"dtype": "F32", "shape": shape, "data_offsets": [at, at + len(b)]}
    body += bytes(b)
    at += len(b)
h = json.dumps(out).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + body)
EOF
edit() { "$PYTHON" "$TMP/st.py" "$@"; }

X="$TMP/x.safetensors"
awk 'NR == 1 || NR % 5 != 0' $IRIS >"$TMP/iris.csv"
"$SOMA" train "$TMP/iris.csv" --target species --epochs 5 --quiet -o "$TMP/iris.safetensors"
M="$TMP/iris.safetensors"
# IDX: 4 images of 2x2 and their labels 0, 1, 0, 1 (and 0, 2, 0, 2)
printf '\000\000\010\003\000\000\000\004\000\000\000\002\000\000\000\002' >"$TMP/img"
printf '\000\377\000\377\377\000\377\000\020\040\060\100\200\100\040\020' >>"$TMP/img"
printf '\000\000\010\001\000\000\000\004\000\001\000\001' >"$TMP/lab"
printf '\000\000\010\001\000\000\000\004\000\002\000\002' >"$TMP/lab02"
printf 'epoch,train_loss\n1,0.5\n2,0.25\n' >"$TMP/run.log"
mkdir "$TMP/adir"

# ---- the command line ---------------------------------------------------------
expect_error_lines no_command 2 "usage: soma COMMAND" "$SOMA"
expect_error flag_with_value 2 "--quiet takes no value" "$SOMA" train $IRIS --target species --quiet=1 -o "$X"
expect_error option_without_value 2 "--target needs a value (COL)" "$SOMA" train $IRIS --target
expect_error seed_negative 2 "--seed needs a non-negative whole number, not '-1'" "$SOMA" train $IRIS --target species --seed -1 -o "$X"
expect_error extra_argument 2 "unexpected argument 'b'" "$SOMA" info a b
expect_error idx_with_ignore 2 "--ignore is for CSV columns" "$SOMA" train "$TMP/img" --labels "$TMP/lab" --ignore 0 -o "$X"
expect_error val_labels_without_val 2 "--val-labels goes with --val" "$SOMA" train $IRIS --target species --val-labels "$TMP/lab" -o "$X"
# a model without its preprocessing (as soma 0.1 wrote them) for the tests
# of what such models find in a CSV by themselves
edit "$M" "$TMP/legacy.safetensors" del:soma.preprocess
L="$TMP/legacy.safetensors"
expect_error id_legacy_model 1 "--id needs a model that keeps its preprocessing" \
    "$SOMA" predict "$L" $IRIS --id species
edit "$L" "$TMP/notarget.safetensors" del:target
expect_error eval_model_without_target 2 "the model does not name its target column; give --target" \
    "$SOMA" eval "$TMP/notarget.safetensors" $IRIS

# ---- soma train's options -------------------------------------------------------
expect_error bad_layers 2 "--layers: '16,,8' is not a list of widths" "$SOMA" train $IRIS --target species --layers 16,,8 -o "$X"
expect_error bad_activation 2 "--activation: unknown activation 'swish'" "$SOMA" train $IRIS --target species --activation swish -o "$X"
expect_error bad_output 2 "--output-activation: 'relu' is not sigmoid, softmax or linear" "$SOMA" train $IRIS --target species --output-activation relu -o "$X"
expect_error quiet_and_verbose 2 "--quiet and --verbose exclude each other" "$SOMA" train $IRIS --target species -q --verbose -o "$X"
expect_error momentum_without_sgd 2 "--momentum is for --optimizer sgd" "$SOMA" train $IRIS --target species --momentum 0.9 -o "$X"
expect_error output_old_spelling 2 "--output is the model file (-o); the output layer is --output-activation softmax" "$SOMA" train $IRIS --target species --output softmax -o "$X"
expect_error bad_loss 2 "--loss: unknown loss 'hinge'" "$SOMA" train $IRIS --target species --loss hinge -o "$X"
expect_error bad_optimizer 2 "--optimizer: unknown optimizer 'rmsprop'" "$SOMA" train $IRIS --target species --optimizer rmsprop -o "$X"
expect_error option_did_you_mean 2 "unknown option '--epoch' (did you mean '--epochs'?)" "$SOMA" train $IRIS --target species --epoch 3 -o "$X"
expect_error bad_init 2 "--init: unknown initialiser 'zeros'" "$SOMA" train $IRIS --target species --init zeros -o "$X"
many=$(awk 'BEGIN { for (i = 0; i < 257; i++) printf "%sc%d", i ? "," : "", i }')
expect_error ignore_too_many 2 "--ignore: too many items" "$SOMA" train $IRIS --target species --ignore "$many" -o "$X"
expect_error val_idx_without_labels 1 "--val $TMP/img: IDX images need --val-labels" \
    "$SOMA" train $IRIS --target species --epochs 1 --val "$TMP/img" -o "$X"
expect_error early_stopping_without_val 1 "--early-stopping needs validation data (--val-split or --val)" \
    "$SOMA" train $IRIS --target species --early-stopping 3 -o "$X"
expect_error init_from_missing 1 "--init-from $TMP/none.safetensors: $TMP/none.safetensors: cannot open" \
    "$SOMA" train $IRIS --target species --init-from "$TMP/none.safetensors" -o "$X"
printf 'a,y\n1,0\n' >"$TMP/one_row.csv"
expect_error val_split_takes_all 1 "a validation fraction of 0.5 leaves no training rows out of 1" \
    "$SOMA" train "$TMP/one_row.csv" --target y --val-split 0.5 -o "$X"
expect_error log_unwritable 1 "--log $TMP/no/dir/log.csv: cannot create: No such file" \
    "$SOMA" train $IRIS --target species --epochs 1 --quiet --log "$TMP/no/dir/log.csv" -o "$X"
expect_error log_is_directory 1 "--log $TMP/adir: cannot write: Is a directory" \
    "$SOMA" train $IRIS --target species --epochs 1 --quiet --log "$TMP/adir" -o "$X"

# Ctrl-C with a checkpoint that cannot be written: the run is lost, exit 1
awk 'BEGIN { srand(5); print "a,b,y"; for (i = 0; i < 5000; i++) {
    a = rand(); b = rand(); printf "%.4f,%.4f,%d\n", a, b, (a > b) } }' >"$TMP/long.csv"
# the checkpoint's directory exists when training starts (soma checks it
# then) and is gone when Ctrl-C wants to save there
mkdir "$TMP/ckdir"
"$SOMA" train "$TMP/long.csv" --target y --layers 32 --epochs 100000 --batch-size 8 \
    --checkpoint "$TMP/ckdir/ck" --checkpoint-every 1000000 --log "$TMP/long.log" \
    -o "$X" >/dev/null 2>"$TMP/int.err" &
pid=$!
for i in $(seq 1 400); do
    [ "$(cat "$TMP"/long.log.tmp.* 2>/dev/null | wc -l)" -ge 2 ] && break
    sleep 0.05
done
rmdir "$TMP/ckdir"
kill -INT $pid
wait $pid
rc=$?
check "interrupt_checkpoint_unwritable_exit_1_got_$rc" test "$rc" -eq 1
check interrupt_checkpoint_unwritable grep -q "^soma: interrupted, and the checkpoint could not be written: $TMP/ckdir/ck: cannot create the temporary file" "$TMP/int.err"

# ---- data against the task and the model --------------------------------------------
expect_error sigmoid_three_classes 1 "the target 'species' has 3 classes; one sigmoid output can only tell two apart" \
    "$SOMA" train $IRIS --target species --output-activation sigmoid -o "$X"
printf 'a,b,y\n0,1,0\n1,0,1\n1,1,3\n' >"$TMP/three.csv"
expect_error sigmoid_csv_not_zero_one 1 "three.csv: line 4, column 'y': target 3 is not 0 or 1 (a sigmoid output needs 0/1 targets)" \
    "$SOMA" train "$TMP/three.csv" --target y --output-activation sigmoid -o "$X"
expect_error sigmoid_idx_not_zero_one 1 "lab02: item 1 (0-based): label 2 is not 0 or 1 (a sigmoid output needs 0/1 targets)" \
    "$SOMA" train "$TMP/img" --labels "$TMP/lab02" --output-activation sigmoid -o "$X"
# models whose classes, outputs or features disagree (edited files)
edit "$L" "$TMP/two_classes.safetensors" 'set:soma.classes=["a","b"]'
sed -e 's/setosa/a/' -e 's/versicolor/b/' -e 's/virginica/a/' $IRIS >"$TMP/ab.csv"
expect_error eval_classes_outputs_differ 1 "ab.csv: the target has 2 classes but the network has 3 outputs" \
    "$SOMA" eval "$TMP/two_classes.safetensors" "$TMP/ab.csv"
printf 'a,b,y\n0,1,no\n1,0,yes\n1,1,yes\n0,0,no\n' >"$TMP/yesno.csv"
"$SOMA" train "$TMP/yesno.csv" --target y --epochs 1 --quiet -o "$TMP/yn.safetensors"
edit "$TMP/yn.safetensors" "$TMP/yn3.safetensors" 'set:soma.classes=["no","yes","maybe"]' del:soma.preprocess
printf 'a,b,y\n0,1,no\n1,0,maybe\n' >"$TMP/maybe.csv"
expect_error eval_classes_one_output 1 "maybe.csv: the target has 3 classes but the network has one output (use --output-activation softmax)" \
    "$SOMA" eval "$TMP/yn3.safetensors" "$TMP/maybe.csv"
edit "$L" "$TMP/noclasses.safetensors" del:soma.classes
awk -F, 'BEGIN { OFS = "," } { print $0, NR == 1 ? "y" : NR }' $IRIS >"$TMP/numeric.csv"
expect_error eval_value_many_outputs 1 "numeric.csv: a numeric target gives one value per row but the network has 3 outputs" \
    "$SOMA" eval "$TMP/noclasses.safetensors" "$TMP/numeric.csv" --target y
edit "$L" "$TMP/nofeatures.safetensors" del:soma.features
cut -d, -f1-3 $IRIS >"$TMP/three_columns.csv"
expect_error predict_feature_count 1 "three_columns.csv: 3 feature columns, the model takes 4" \
    "$SOMA" predict "$TMP/nofeatures.safetensors" "$TMP/three_columns.csv"
awk 'BEGIN { print "a,y"; for (i = 0; i < 20; i++) printf "%d,%.2f\n", i, 0.37 * i + 0.1 }' >"$TMP/line.csv"
"$SOMA" train "$TMP/line.csv" --target y --epochs 1 --quiet -o "$TMP/line.safetensors"
expect_error eval_idx_regression_model 1 "line.safetensors: the model has no classes, so IDX labels cannot be its targets" \
    "$SOMA" eval "$TMP/line.safetensors" "$TMP/img" --labels "$TMP/lab"
if [ -w /dev/full ]; then
    expect_error predict_stdout_full 1 "cannot write the predictions to standard output" \
        sh -c 'exec "$0" predict "$1" "$2" >/dev/full' "$SOMA" "$M" $IRIS
else
    echo "skip predict_stdout_full: no /dev/full"
fi

# ---- files --------------------------------------------------------------------
expect_error read_directory 1 "$TMP/adir: cannot read: " "$SOMA" info "$TMP/adir"
truncate -s 5G "$TMP/huge.safetensors"
expect_error model_over_4gib 1 "huge.safetensors: file is 5368709120 bytes, over the limit of 4294967296" \
    "$SOMA" info "$TMP/huge.safetensors"
rm -f "$TMP/huge.safetensors"

# ---- saving ----------------------------------------------------------------------
expect_error save_missing_dir 1 "$TMP/no/dir/m.safetensors: cannot create the temporary file '$TMP/no/dir/m.safetensors.tmp." \
    "$SOMA" train $IRIS --target species --epochs 1 --quiet -o "$TMP/no/dir/m.safetensors"
# 1000 temporary names taken: the shell makes them with its own pid, which
# soma keeps through exec
expect_error save_too_many_temps 1 "$TMP/t.safetensors: cannot create a temporary file: too many exist" \
    sh -c 'i=0; while [ $i -lt 1000 ]; do : >"$1.tmp.$$.$i"; i=$((i + 1)); done
           exec "$0" train "$2" --target species --epochs 1 --quiet -o "$1"' "$SOMA" "$TMP/t.safetensors" $IRIS
rm -f "$TMP"/t.safetensors.tmp.*
# a file size limit stops the write half way (SIGXFSZ ignored: write fails)
expect_error save_file_size_limit 1 "big.safetensors: cannot write '$TMP/big.safetensors.tmp." \
    sh -c 'trap "" XFSZ; ulimit -f 4; exec "$0" train "$1" --target species --layers 512 --epochs 1 --quiet -o "$2"' \
    "$SOMA" $IRIS "$TMP/big.safetensors"
check save_file_size_limit_says_why grep -q "File too large" "$TMP/err"
check save_file_size_limit_no_temp sh -c "! ls '$TMP' | grep -q 'big.safetensors'"
expect_error save_onto_directory 1 "$TMP/adir: cannot rename '$TMP/adir.tmp." \
    "$SOMA" train $IRIS --target species --epochs 1 --quiet -o "$TMP/adir"
printf 'a,y\n1,\351t\351\n2,hiver\n3,hiver\n' >"$TMP/latin1.csv"
expect_error train_latin1_label 1 "$TMP/latin1.csv: line 2, column 'y': the text is not valid UTF-8" \
    "$SOMA" train "$TMP/latin1.csv" --target y --epochs 1 --quiet -o "$TMP/l.safetensors"

# ---- checkpoints, edited ---------------------------------------------------------
run="$TMP/iris.csv --target species --epochs 2 --quiet -o $X"
"$SOMA" train $run --optimizer sgd --momentum 0.9 --checkpoint "$TMP/sgd.ck"
"$SOMA" train $run --optimizer adam --checkpoint "$TMP/adam.ck"
resume() { "$SOMA" train $run --resume "$1"; }
edit "$TMP/adam.ck" "$TMP/e.ck" set:soma.train.version=9
expect_error resume_version 1 "e.ck: checkpoint version '9' is not supported (this soma reads version 1)" resume "$TMP/e.ck"
edit "$TMP/adam.ck" "$TMP/e.ck" del:soma.train.optimizer
expect_error resume_field_missing 1 "e.ck: checkpoint field 'soma.train.optimizer' is missing" resume "$TMP/e.ck"
edit "$TMP/adam.ck" "$TMP/e.ck" set:soma.train.epochs=-3
expect_error resume_field_not_whole 1 "checkpoint field 'soma.train.epochs' = '-3' is not a whole number from 0 to 1000000000" resume "$TMP/e.ck"
edit "$TMP/adam.ck" "$TMP/e.ck" set:soma.train.learning_rate=fast
expect_error resume_field_not_number 1 "checkpoint field 'soma.train.learning_rate' = 'fast' is not a number from 0 to 1e+30" resume "$TMP/e.ck"
edit "$TMP/adam.ck" "$TMP/e.ck" set:soma.train.optimizer=rmsprop
expect_error resume_field_bad_name 1 "checkpoint field 'soma.train.optimizer' = 'rmsprop' is not a known name" resume "$TMP/e.ck"
edit "$TMP/sgd.ck" "$TMP/e.ck" set:soma.train.optimizer=adam
expect_error resume_state_missing 1 "e.ck: checkpoint tensor 'train.v' is missing" resume "$TMP/e.ck"
edit "$TMP/adam.ck" "$TMP/e.ck" set:soma.train.optimizer=gd
expect_error resume_state_extra 1 "e.ck: checkpoint tensor 'train.m' does not belong to this configuration" resume "$TMP/e.ck"
edit "$TMP/adam.ck" "$TMP/e.ck" shorten:train.v
expect_error resume_state_shape 1 "e.ck: checkpoint tensor 'train.v' should have shape [" resume "$TMP/e.ck"
edit "$TMP/adam.ck" "$TMP/e.ck" nan:train.m
expect_error resume_state_nonfinite 1 "e.ck: checkpoint tensor 'train.m' element 0 is not finite" resume "$TMP/e.ck"

# ---- soma plot (checks of the drawing code name the picture, not the log) ---------------------------------------------------------------------
printf 'epoch,train_loss\n1,\000\n' >"$TMP/nul.log"
expect_error plot_binary_file 1 "nul.log: not a training log (it holds NUL bytes)" "$SOMA" plot "$TMP/nul.log" -o "$TMP/x.svg"
# the 1 GiB cap: /dev/zero never ends, so soma reads 1 GiB (seconds, and
# 1 GiB of memory: only with SOMA_SLOW_TESTS=1)
if [ "${SOMA_SLOW_TESTS:-0}" = 1 ]; then
    expect_error plot_too_large 1 "/dev/zero: too large for a training log (over 1 GiB)" "$SOMA" plot /dev/zero -o "$TMP/x.svg"
else
    echo "skip plot_too_large: reads 1 GiB (set SOMA_SLOW_TESTS=1)"
fi
awk 'BEGIN { printf "epoch,train_loss"; for (i = 0; i < 63; i++) printf ",c%d", i; print ""; print "1,0.5" }' >"$TMP/wide.log"
expect_error plot_many_columns 1 "wide.log: line 1: more than 64 columns; not a training log" "$SOMA" plot "$TMP/wide.log" -o "$TMP/x.svg"
printf 'epoch,train_loss,train_loss\n1,0.5,0.5\n' >"$TMP/twice.log"
expect_error plot_column_twice 1 "twice.log: line 1: column 'train_loss' appears twice" "$SOMA" plot "$TMP/twice.log" -o "$TMP/x.svg"
awk 'BEGIN { print "epoch,train_loss"; printf "1"; for (i = 0; i < 64; i++) printf ",0.5"; print "" }' >"$TMP/long_row.log"
expect_error plot_row_too_long 1 "long_row.log: line 2: more fields than the header's 2" "$SOMA" plot "$TMP/long_row.log" -o "$TMP/x.svg"
printf 'epoch,train_loss\n1,-1\n2,0.5\n' >"$TMP/negative.log"
expect_error plot_log_scale 1 "x.svg: train_loss is -1 at epoch 1; a log scale needs losses above 0" \
    "$SOMA" plot "$TMP/negative.log" --log-loss -o "$TMP/x.svg"
expect_error plot_empty_output_name 1 "no output file given" "$SOMA" plot "$TMP/run.log" -o ''
expect_error plot_file_size_limit 1 "c.svg: cannot write '$TMP/c.svg.tmp." \
    sh -c 'trap "" XFSZ; ulimit -f 1; exec "$0" plot "$1" -o "$2"' "$SOMA" "$TMP/run.log" "$TMP/c.svg"
expect_error plot_onto_directory 1 "$TMP/adir: cannot rename '$TMP/adir.tmp." "$SOMA" plot "$TMP/run.log" -o "$TMP/adir"
if [ -w /dev/full ]; then
    expect_error plot_stdout_full 1 "cannot write the picture to standard output" \
        sh -c 'exec "$0" plot "$1" -o - >/dev/full' "$SOMA" "$TMP/run.log"
else
    echo "skip plot_stdout_full: no /dev/full"
fi
check no_temp_files_left sh -c "! ls '$TMP' | grep -q '\.tmp\.'"
