# soma train's run control: --log, validation and early stopping, schedules,
# checkpoints and --resume, Ctrl-C, NaN, thread counts, and SIGKILL at
# random moments while models and checkpoints are being written.
. tests/shlib.sh
IRIS=tests/data/iris.csv
PYTHON=${PYTHON:-/usr/bin/python3}

# ---- log, validation, early stopping, schedules ---------------------------
expect_ok log_written "$SOMA" train $IRIS --target species --epochs 7 --val-split 0.2 \
    --lr-schedule step --lr-step 3 --lr-gamma 0.5 --log "$TMP/log.csv" -o "$TMP/m.safetensors"
check log_header sh -c "head -1 '$TMP/log.csv' | grep -qx 'epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds'"
check log_rows sh -c "[ \$(wc -l <'$TMP/log.csv') -eq 8 ]"
check log_step_schedule sh -c "awk -F, 'NR > 1 { print \$6 }' '$TMP/log.csv' | tr '\n' ' ' | grep -qx '0.01 0.01 0.01 0.005 0.005 0.005 0.0025 '"
check log_val_filled awk -F, 'NR > 1 && ($4 == "" || $5 == "") { exit 1 }' "$TMP/log.csv"
check plain_progress_lines sh -c "[ \$(grep -c '^epoch [0-9]*/7 ' '$TMP/out') -eq 7 ]"
check no_log_temp_left sh -c "! ls '$TMP' | grep -q 'log.csv.tmp'"
# regression log: accuracy fields empty
awk 'BEGIN { print "a,y"; for (i = 0; i < 50; i++) printf "%d,%.3f\n", i, i * 0.5 + 1 }' >"$TMP/reg.csv"
expect_ok log_regression "$SOMA" train "$TMP/reg.csv" --target y --epochs 3 --log "$TMP/rlog.csv" --quiet -o "$TMP/r.safetensors"
check log_regression_no_accuracy awk -F, 'NR > 1 && $3 != "" { exit 1 }' "$TMP/rlog.csv"
# early stopping: a learning rate too high to keep improving
expect_ok early_stopping "$SOMA" train $IRIS --target species --epochs 500 --val-split 0.3 \
    --early-stopping 3 --lr 0.5 --log "$TMP/es.csv" -o "$TMP/es.safetensors"
rows=$(($(wc -l <"$TMP/es.csv") - 1))
check "early_stopping_stopped_at_${rows}_of_500" test "$rows" -lt 500
check early_stopping_marks_best grep -q '(best)' "$TMP/out"
# the kept weights are the best epoch's: eval on the validation rows is
# reproduced by the saved val.loss, and it is the log's minimum
best=$(awk -F, 'NR > 1 && (min == "" || $4 < min) { min = $4 } END { printf "%.6f", min }' "$TMP/es.csv")
"$SOMA" info "$TMP/es.safetensors" >"$TMP/info"
saved=$(awk '$1 == "val.loss" { printf "%.6f", $2 }' "$TMP/info")
check "early_stopping_keeps_best_${saved}_is_${best}" test "$saved" = "$best"
expect_error early_stopping_needs_val 1 "needs validation data" "$SOMA" train $IRIS --target species --early-stopping 2 -o "$TMP/x.safetensors"
expect_error bad_schedule 2 "unknown schedule 'warm'" "$SOMA" train $IRIS --target species --lr-schedule warm -o "$TMP/x.safetensors"
# --val FILE
awk 'NR == 1 || NR % 4 != 0' $IRIS >"$TMP/t.csv"
awk 'NR == 1 || NR % 4 == 0' $IRIS >"$TMP/v.csv"
expect_ok val_file "$SOMA" train "$TMP/t.csv" --target species --epochs 3 --val "$TMP/v.csv" -o "$TMP/vf.safetensors"
check val_file_reported grep -q 'validation (37 rows)' "$TMP/out"
expect_error val_and_split 2 "exclude each other" "$SOMA" train $IRIS --target species --val "$TMP/v.csv" --val-split 0.1 -o "$TMP/x.safetensors"

# ---- NaN: a learning rate that blows up ------------------------------------
awk 'BEGIN { print "a,b,y"; for (i = 0; i < 64; i++) printf "%d,%d,%d\n", i * 1000, -i * 3000, i * 77 }' >"$TMP/big.csv"
expect_error nan_detected 1 "try a smaller learning rate" "$SOMA" train "$TMP/big.csv" --target y \
    --output-activation linear --optimizer gd --lr 1e6 --no-standardize --epochs 50 --quiet -o "$TMP/nan.safetensors"
check nan_names_epoch_and_batch grep -q 'epoch [0-9]*, batch [0-9]*' "$TMP/err"
check nan_no_model test ! -e "$TMP/nan.safetensors"

# ---- same bits for 1, 2 and 3 threads ---------------------------------------
awk 'BEGIN { srand(3); print "a,b,c,d,e,f,y"; for (i = 0; i < 2000; i++) {
    a = rand(); b = rand(); c = rand(); d = rand(); e = rand(); f = rand();
    printf "%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%d\n", a, b, c, d, e, f, (a + b * c > 0.6) + (d > e) } }' >"$TMP/syn.csv"
for t in 1 2 3; do
    "$SOMA" train "$TMP/syn.csv" --target y --layers 64,32 --epochs 3 --batch-size 50 \
        --threads $t --quiet -o "$TMP/t$t.safetensors"
done
check threads_1_2_same_file cmp -s "$TMP/t1.safetensors" "$TMP/t2.safetensors"
check threads_1_3_same_file cmp -s "$TMP/t1.safetensors" "$TMP/t3.safetensors"

# ---- checkpoints and resume ---------------------------------------------------
run_args="$TMP/syn.csv --target y --layers 64,32 --epochs 6 --batch-size 16 --val-split 0.1 --early-stopping 4 --lr-schedule cosine"
"$SOMA" train $run_args --quiet -o "$TMP/full.safetensors"
expect_ok checkpoint_every "$SOMA" train $run_args --epochs 3 --quiet --checkpoint "$TMP/ck.safetensors" --checkpoint-every 1 -o "$TMP/part.safetensors"
expect_ok checkpoint_is_a_model "$SOMA" info "$TMP/ck.safetensors"
# a checkpoint after 3 of 6 epochs: train the 3-epoch run's checkpoint on?
# No: that run's settings say 3 epochs. Make a 6-epoch run stop after 3.
"$SOMA" train $run_args --quiet --checkpoint "$TMP/ck6.safetensors" --checkpoint-every 3 -o "$TMP/full2.safetensors"
check checkpointing_does_not_change_result cmp -s "$TMP/full.safetensors" "$TMP/full2.safetensors"

# ---- Ctrl-C: finish the batch, checkpoint, exit 130; resume gives the same bytes
awk 'BEGIN { srand(5); print "a,b,c,d,y"; for (i = 0; i < 10000; i++) {
    a = rand(); b = rand(); c = rand(); d = rand();
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", a, b, c, d, (a * b > c * d) } }' >"$TMP/long.csv"
long_args="$TMP/long.csv --target y --layers 32 --epochs 100 --batch-size 8"
"$SOMA" train $long_args --quiet -o "$TMP/long_full.safetensors"
"$SOMA" train $long_args --log "$TMP/long.csv.log" -o "$TMP/long.safetensors" >"$TMP/sig.out" 2>"$TMP/sig.err" &
pid=$!
# interrupt once a few epochs are done (the log is renamed into place only
# at the end, so watch its temporary file)
for i in $(seq 1 200); do
    n=$(cat "$TMP"/long.csv.log.tmp.* 2>/dev/null | wc -l)
    [ "$n" -ge 4 ] && break
    sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
check "sigint_exit_130_got_$rc" test "$rc" -eq 130
check sigint_checkpoint_written test -e "$TMP/long.safetensors.checkpoint"
check sigint_prints_resume grep -q "resume with: soma train .* --resume $TMP/long.safetensors.checkpoint" "$TMP/sig.err"
check sigint_says_where grep -Eq "^soma: interrupted (in epoch [0-9]+, after batch [0-9]+ of [0-9]+|after epoch [0-9]+); checkpoint saved to " "$TMP/sig.err"
check sigint_no_model test ! -e "$TMP/long.safetensors"
expect_ok resume_runs "$SOMA" train "$TMP/long.csv" --target y -o "$TMP/long.safetensors" --resume "$TMP/long.safetensors.checkpoint"
check resume_says_where grep -q 'resuming from' "$TMP/out"
check resume_same_bytes_as_uninterrupted cmp -s "$TMP/long_full.safetensors" "$TMP/long.safetensors"
expect_error resume_not_checkpoint 1 "not a checkpoint" "$SOMA" train "$TMP/long.csv" --target y -o "$TMP/x.safetensors" --resume "$TMP/long_full.safetensors"
head -1000 "$TMP/long.csv" >"$TMP/short.csv"
expect_error resume_other_data 1 "rows of data" "$SOMA" train "$TMP/short.csv" --target y -o "$TMP/x.safetensors" --resume "$TMP/long.safetensors.checkpoint"

# ---- the live progress line on a terminal (script(1) gives soma a pty) -----
if command -v script >/dev/null 2>&1; then
    script -qec "stty cols 120; $SOMA train $IRIS --target species --epochs 3 --batch-size 8 -o $TMP/tty.safetensors" /dev/null >"$TMP/tty.out" 2>&1
    check tty_progress_bar grep -q 'epoch 1/3 \[#' "$TMP/tty.out"
    check tty_progress_rate grep -q 'samples/s' "$TMP/tty.out"
    check tty_progress_time_left grep -q ' left ' "$TMP/tty.out"
    check tty_progress_running_accuracy grep -q 'acc 0\.' "$TMP/tty.out"
    check tty_progress_redraws_in_place grep -q "$(printf '\r')epoch" "$TMP/tty.out"
    # the line fits the terminal, so that each redraw overwrites one line
    for cols in 80 60 40; do
        script -qec "stty cols $cols; $SOMA train $IRIS --target species --epochs 2 --batch-size 8 -o $TMP/tty3.safetensors" /dev/null >"$TMP/tty3.out" 2>&1
        check "tty_progress_fits_${cols}_columns" "$PYTHON" -c "
import re, sys
text = open(sys.argv[1], encoding='utf-8', errors='replace', newline='').read()
text = re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', text)
bars = [seg.split('\n')[0] for seg in text.split('\r') if seg.startswith('epoch') and '[' in seg]
assert bars and all(len(b) < int(sys.argv[2]) for b in bars), max(map(len, bars))
" "$TMP/tty3.out" "$cols"
    done
    script -qec "$SOMA train $IRIS --target species --epochs 3 --quiet -o $TMP/tty2.safetensors" /dev/null >"$TMP/tty2.out" 2>&1
    check tty_quiet_prints_nothing test ! -s "$TMP/tty2.out"
else
    fail tty_progress "script(1) is missing (Debian's bsdutils)"
fi

# ---- an unwritable -o or --checkpoint is found before training, not after --
expect_error unwritable_output_found_first 1 "cannot create the temporary file" \
    "$SOMA" train "$TMP/long.csv" --target y --epochs 1000 --log "$TMP/never.csv" -o "$TMP/no/such/dir/m.safetensors"
check unwritable_output_no_training test ! -e "$TMP/never.csv"
check unwritable_output_quick sh -c "! grep -q '^epoch' '$TMP/out'"
expect_error unwritable_checkpoint_found_first 1 "cannot create the temporary file" \
    "$SOMA" train "$TMP/long.csv" --target y --epochs 1000 --checkpoint "$TMP/no/dir/c.safetensors" -o "$TMP/m2.safetensors"

# ---- early stopping says what happened; the two losses are told apart -------
expect_ok early_stopping_says "$SOMA" train $IRIS --target species --val-split 0.3 --early-stopping 5 --epochs 200 -o "$TMP/es.safetensors"
check early_stopping_stopped_line grep -Eq '^stopped after epoch [0-9]+: no lower validation loss for 5 epochs; kept the weights of epoch [0-9]+ \(val loss [0-9.]+\)$' "$TMP/out"
check epoch_line_says_running grep -q '^epoch 1/200  running loss ' "$TMP/out"
check final_line_says_final grep -q '^final weights: train loss ' "$TMP/out"
"$SOMA" info "$TMP/es.safetensors" >"$TMP/out"
check early_stopping_in_info sh -c "grep -Eq '^train.epochs_run +[0-9]+$' '$TMP/out' && grep -Eq '^train.best_epoch +[0-9]+$' '$TMP/out' && grep -Eq '^train.best_val_loss +[0-9.]+$' '$TMP/out'"

# ---- how many epoch lines: about 100 for a long run, --print-every, --verbose
post="tests/data/post.csv --target y --layers none --no-bias --output-activation sigmoid --loss sse --optimizer gd --lr 1 --batch-size 0 --init uniform --no-standardize"
"$SOMA" train $post --epochs 10000 -o "$TMP/post.safetensors" >"$TMP/out"
n=$(grep -c '^epoch ' "$TMP/out")
check "long_run_prints_${n}_epoch_lines_about_100" test "$n" -ge 100 -a "$n" -le 102
"$SOMA" train $post --epochs 10000 --print-every 5000 -o "$TMP/post.safetensors" >"$TMP/out"
check print_every_5000 sh -c "grep '^epoch ' '$TMP/out' | cut -d' ' -f2 | tr '\n' ' ' | grep -qx '1/10000 5000/10000 10000/10000 '"
"$SOMA" train $post --epochs 150 --verbose -o "$TMP/post.safetensors" >"$TMP/out"
check verbose_every_epoch sh -c "[ \$(grep -c '^epoch ' '$TMP/out') -eq 150 ]"
