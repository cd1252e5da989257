# Same seed, same bits across instruction sets: a build with only the
# portable kernels (make SIMD=0) trains the same model files, byte for byte,
# as the build under test (the AVX2 kernel on x86-64 machines that have it).
. tests/shlib.sh
expect_ok portable_build make -s BUILD="$TMP/build" SIMD=0 SANITIZE= "$TMP/build/soma"
P="$TMP/build/soma"
awk 'BEGIN { srand(9); print "a,b,c,d,e,y"; for (i = 0; i < 1500; i++) {
    a = rand(); b = rand(); c = rand(); d = rand(); e = rand();
    printf "%.5f,%.5f,%.5f,%.5f,%.5f,%d\n", a, b, c, d, e, (a * b > c) + (d > e) } }' >"$TMP/syn.csv"
for exe in "$SOMA" "$P"; do
    n=$([ "$exe" = "$P" ] && echo portable || echo tested)
    "$exe" train tests/data/iris.csv --target species --layers 16,8 --epochs 20 --quiet \
        --threads 2 -o "$TMP/iris_$n.safetensors"
    "$exe" train "$TMP/syn.csv" --target y --layers 96,40 --activation tanh \
        --optimizer sgd --batch-size 37 --epochs 4 --quiet -o "$TMP/syn_$n.safetensors"
done
check portable_same_iris_model cmp -s "$TMP/iris_tested.safetensors" "$TMP/iris_portable.safetensors"
check portable_same_synthetic_model cmp -s "$TMP/syn_tested.safetensors" "$TMP/syn_portable.safetensors"
"$SOMA" predict "$TMP/syn_tested.safetensors" "$TMP/syn.csv" >"$TMP/p1"
"$P" predict "$TMP/syn_tested.safetensors" "$TMP/syn.csv" >"$TMP/p2"
check portable_same_predictions cmp -s "$TMP/p1" "$TMP/p2"
