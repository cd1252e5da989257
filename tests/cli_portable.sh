# Same seed, same bits across instruction sets: a build with only the
# portable kernels (make SIMD=0) trains the same model files, byte for byte,
# as the build under test (the AVX-512 or AVX2 kernel on x86-64 machines
# that have them), and so does the build under test with its kernel capped
# by SOMA_KERNEL (AVX2, portable); batch size 1 takes its own path.
. tests/shlib.sh
expect_ok portable_build make -s BUILD="$TMP/build" SIMD=0 SANITIZE= "$TMP/build/soma"
P="$TMP/build/soma"
awk 'BEGIN { srand(9); print "a,b,c,d,e,y"; for (i = 0; i < 1500; i++) {
    a = rand(); b = rand(); c = rand(); d = rand(); e = rand();
    printf "%.5f,%.5f,%.5f,%.5f,%.5f,%d\n", a, b, c, d, e, (a * b > c) + (d > e) } }' >"$TMP/syn.csv"
for run in tested portable capped_avx2 capped_portable; do
    exe=$SOMA; cap=
    case $run in
    portable) exe=$P ;;
    capped_avx2) cap=avx2 ;;
    capped_portable) cap=portable ;;
    esac
    SOMA_KERNEL=$cap "$exe" train tests/data/iris.csv --target species --layers 16,8 \
        --epochs 20 --quiet --threads 2 -o "$TMP/iris_$run.safetensors"
    SOMA_KERNEL=$cap "$exe" train "$TMP/syn.csv" --target y --layers 96,40 --activation tanh \
        --optimizer sgd --batch-size 37 --epochs 4 --quiet -o "$TMP/syn_$run.safetensors"
    SOMA_KERNEL=$cap "$exe" train tests/data/iris.csv --target species --layers 64 \
        --optimizer gd --batch-size 1 --epochs 3 --quiet -o "$TMP/b1_$run.safetensors"
done
for run in portable capped_avx2 capped_portable; do
    check "${run}_same_iris_model" cmp -s "$TMP/iris_tested.safetensors" "$TMP/iris_$run.safetensors"
    check "${run}_same_synthetic_model" cmp -s "$TMP/syn_tested.safetensors" "$TMP/syn_$run.safetensors"
    check "${run}_same_batch1_model" cmp -s "$TMP/b1_tested.safetensors" "$TMP/b1_$run.safetensors"
done
"$SOMA" predict "$TMP/syn_tested.safetensors" "$TMP/syn.csv" >"$TMP/p1"
"$P" predict "$TMP/syn_tested.safetensors" "$TMP/syn.csv" >"$TMP/p2"
check portable_same_predictions cmp -s "$TMP/p1" "$TMP/p2"
