# make install puts a usable library in place: the header, soma.pc, both
# libraries and the program; examples/perceptron.c builds against it with
# pkg-config and gives the same numbers as soma demo.
. tests/shlib.sh
PREFIX="$TMP/prefix"
# a build of its own: the suite may be running a sanitizer build
expect_ok make_install make -s BUILD="$TMP/build" SANITIZE= install PREFIX="$PREFIX"
for f in include/soma.h lib/libsoma.a lib/libsoma.so lib/pkgconfig/soma.pc bin/soma; do
    check "installed_$f" test -e "$PREFIX/$f"
done
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
expect_ok pkg_config_build sh -c "cc examples/perceptron.c \$(pkg-config --cflags --libs soma) -o '$TMP/perceptron'"
LD_LIBRARY_PATH="$PREFIX/lib" "$TMP/perceptron" >"$TMP/example.out" 2>&1
check example_runs grep -q 'prediction for \[1, 0, 0\]: 0.99993' "$TMP/example.out"

# the post through the general CLI path gives the demo's weights
"$SOMA" demo >"$TMP/demo.out"
expect_ok post_via_train "$SOMA" train tests/data/post.csv --target y --layers none \
    --no-bias --output sigmoid --loss sse --optimizer gd --lr 1 --batch-size 0 \
    --epochs 10000 --init uniform --no-standardize --quiet -o "$TMP/post.safetensors"
expect_ok post_predict "$SOMA" predict "$TMP/post.safetensors" tests/data/post_query.csv
p=$(awk -F, 'NR == 2 { print $3 }' "$TMP/out")
check "post_prediction_${p}_matches_demo" grep -q "Prediction for \[1, 0, 0\]: $(printf '%.8f' "$p")" "$TMP/demo.out"
