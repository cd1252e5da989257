# SIGKILL at random moments while soma train writes checkpoints and models:
# afterwards each file on disk is either the complete old file or a complete
# new one (soma info reads it), never a torn one. At least 100 kills.
. tests/shlib.sh
awk 'BEGIN { srand(11); print "a,b,c,y"; for (i = 0; i < 400; i++) {
    a = rand(); b = rand(); c = rand(); printf "%.4f,%.4f,%.4f,%d\n", a, b, c, (a + b > c) + (c > 0.8) } }' >"$TMP/k.csv"
M="$TMP/model.safetensors"
C="$TMP/ckpt.safetensors"
args="$TMP/k.csv --target y --layers 256,128 --batch-size 400 --quiet --threads 1"
"$SOMA" train $args --epochs 2 --checkpoint "$C" -o "$M" || fail kill_setup
cp "$M" "$TMP/old_model"
cp "$C" "$TMP/old_ckpt"
# delays in milliseconds and epoch counts, from a fixed seed
# Three runs in four never finish on their own (each epoch writes a
# checkpoint, so most kills land in a write); the fourth is short enough
# that the kill often lands while the final model is written.
awk 'BEGIN { srand(7); for (i = 0; i < 300; i++)
    printf "%d %d\n", int(rand() * 100) + 5, i % 4 ? 1000000 : int(rand() * 12) + 1 }' >"$TMP/plan"
torn=0
kills=0
runs=0
while read -r ms epochs; do
    [ "$kills" -ge 100 ] && break
    runs=$((runs + 1))
    "$SOMA" train $args --epochs "$epochs" --checkpoint "$C" -o "$M" &
    pid=$!
    sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    kill -KILL $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null
    for f in "$M" "$C"; do
        if [ -e "$f" ] && ! "$SOMA" info "$f" >/dev/null 2>&1; then
            torn=$((torn + 1))
            echo "  torn file after a kill at ${ms} ms: $f"
            cp "$f" "$TMP/torn.$torn"
        fi
    done
    [ -e "$M" ] || torn=$((torn + 1))
    [ -e "$C" ] || torn=$((torn + 1))
done <"$TMP/plan"
echo "  $kills of $runs runs killed before they finished"
check "kill_files_complete_after_${kills}_kills" test "$torn" -eq 0
check "kill_at_least_100_kills_got_$kills" test "$kills" -ge 100
