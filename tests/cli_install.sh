# make install puts a usable library in place: the header, soma.pc, both
# libraries and the program; examples/perceptron.c builds against it with
# pkg-config and gives the same numbers as soma demo.
. tests/shlib.sh
PREFIX="$TMP/prefix"
# a build of its own: the suite may be running a sanitizer build
expect_ok make_install make -s BUILD="$TMP/build" SANITIZE= install PREFIX="$PREFIX"
for f in include/soma.h lib/libsoma.a lib/libsoma.so lib/pkgconfig/soma.pc bin/soma \
         share/man/man1/soma.1 share/bash-completion/completions/soma \
         lib/cmake/soma/somaConfig.cmake lib/cmake/soma/somaConfigVersion.cmake; do
    check "installed_$f" test -e "$PREFIX/$f"
done
# the shared library: the real file carries the version, the soname a link
VERSION=$(sed -n 's/^#define SOMA_VERSION_STRING "\(.*\)"/\1/p' include/soma.h)
check installed_versioned_library test -f "$PREFIX/lib/libsoma.so.$VERSION" -a ! -L "$PREFIX/lib/libsoma.so.$VERSION"
check soname_link sh -c "[ \"\$(readlink '$PREFIX/lib/libsoma.so.0')\" = libsoma.so.$VERSION ]"
check dev_link sh -c "[ \"\$(readlink '$PREFIX/lib/libsoma.so')\" = libsoma.so.0 ]"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
expect_ok pkg_config_build sh -c "cc examples/perceptron.c \$(pkg-config --cflags --libs soma) -o '$TMP/perceptron'"
# it runs as it is, without LD_LIBRARY_PATH: soma.pc gives an rpath for a
# prefix outside /usr and /usr/local, and so does the installed program
env -u LD_LIBRARY_PATH "$TMP/perceptron" >"$TMP/example.out" 2>&1
check example_runs grep -q 'prediction for \[1, 0, 0\]: 0.99993' "$TMP/example.out"
check example_uses_installed_library sh -c "env -u LD_LIBRARY_PATH ldd '$TMP/perceptron' | grep -q 'libsoma.so.0 => $PREFIX/lib/libsoma.so.0'"
check installed_soma_runs sh -c "env -u LD_LIBRARY_PATH '$PREFIX/bin/soma' --version >/dev/null"

# the post through the general CLI path gives the demo's weights
"$SOMA" demo >"$TMP/demo.out"
expect_ok post_via_train "$SOMA" train tests/data/post.csv --target y --layers none \
    --no-bias --output-activation sigmoid --loss sse --optimizer gd --lr 1 --batch-size 0 \
    --epochs 10000 --init uniform --no-standardize --quiet -o "$TMP/post.safetensors"
expect_ok post_predict "$SOMA" predict "$TMP/post.safetensors" tests/data/post_query.csv
p=$(awk -F, 'NR == 2 { print $3 }' "$TMP/out")
check "post_prediction_${p}_matches_demo" grep -q "Prediction for \[1, 0, 0\]: $(printf '%.8f' "$p")" "$TMP/demo.out"

# CMake: find_package(soma) gives soma::soma (shared) and soma::soma_static
if command -v cmake >/dev/null 2>&1; then
    mkdir -p "$TMP/cmake"
    cat >"$TMP/cmake/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.13)
project(uses_soma C)
find_package(soma \${WANT} REQUIRED)
add_executable(perceptron "$PWD/examples/perceptron.c")
target_link_libraries(perceptron PRIVATE soma::soma)
add_executable(perceptron_static "$PWD/examples/perceptron.c")
target_link_libraries(perceptron_static PRIVATE soma::soma_static)
EOF
    cmake_build() { # cmake_build DIR WANTED-VERSION
        cmake -S "$TMP/cmake" -B "$1" -DWANT="$2" -DCMAKE_PREFIX_PATH="$PREFIX" &&
            cmake --build "$1"
    }
    expect_ok cmake_find_package cmake_build "$TMP/cmake/b" 0.1
    "$TMP/cmake/b/perceptron" >"$TMP/cmake.out" 2>&1
    check cmake_shared_runs grep -q 'prediction for \[1, 0, 0\]: 0.99993' "$TMP/cmake.out"
    check cmake_shared_is_shared sh -c "ldd '$TMP/cmake/b/perceptron' | grep -q 'libsoma.so.0 => $PREFIX/lib/libsoma.so.0'"
    "$TMP/cmake/b/perceptron_static" >"$TMP/cmake.out" 2>&1
    check cmake_static_runs grep -q 'prediction for \[1, 0, 0\]: 0.99993' "$TMP/cmake.out"
    check cmake_static_is_static sh -c "! ldd '$TMP/cmake/b/perceptron_static' | grep -q libsoma"
    # before 1.0, another minor version is not compatible
    cmake_build "$TMP/cmake/c" 0.99 >"$TMP/cmake.out" 2>&1
    rc=$?
    check cmake_refuses_other_minor sh -c "[ $rc -ne 0 ] && grep -q 'version: $VERSION' '$TMP/cmake.out'"
    # the installed tree can move: every path is relative to the config file
    mv "$PREFIX" "$TMP/moved"
    PREFIX="$TMP/moved"
    expect_ok cmake_relocated cmake_build "$TMP/cmake/d" ""
else
    fail cmake_installed "cmake is not installed (make deps installs it)"
fi
