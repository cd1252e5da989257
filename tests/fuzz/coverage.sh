#!/bin/sh
# Source-line coverage of a fuzz corpus: builds TARGET with clang's
# source-based coverage (no sanitizers, so no memory bounds either:
# FUZZ_NO_MEM_BOUNDS), runs every input of the given
# corpus folders once and prints llvm-cov's report for the library files.
#
#   sh tests/fuzz/coverage.sh fuzz_csv build-fuzz/corpus/fuzz_csv tests/fuzz/corpus/fuzz_csv
#
# Scratch files go to $FUZZ_COV (default build-fuzz/coverage/TARGET).
set -eu
t=$1
shift
out=${FUZZ_COV:-build-fuzz/coverage/$t}
mkdir -p "$out"
flags="-std=c11 -D_POSIX_C_SOURCE=200809L -pthread -Iinclude -Isrc -Icli -g -O1
       -fprofile-instr-generate -fcoverage-mapping -fsanitize=fuzzer
       -DFUZZ_NO_MEM_BOUNDS"
lib=$(ls src/*.c src/io/*.c src/kernels/*.c | grep -v _avx2)
extra=""
if [ "$t" = fuzz_cli ]; then
    # the CLI without its main(), which the target calls soma_cli_main
    clang $flags -Dmain=soma_cli_main -c cli/main.c -o "$out/cli_main.o"
    extra="$out/cli_main.o $(ls cli/*.c | grep -v cli/main.c)"
fi
# shellcheck disable=SC2086
clang $flags -DSOMA_NO_SIMD -o "$out/$t" "tests/fuzz/$t.c" $lib $extra \
    -ljansson -lz -lm
rm -f "$out"/*.profraw
# shellcheck disable=SC2086
LLVM_PROFILE_FILE="$out/%p.profraw" "$out/$t" -runs=0 -close_fd_mask=3 "$@" \
    >"$out/run.log" 2>&1
llvm-profdata merge -sparse "$out"/*.profraw -o "$out/merged.profdata"
# shellcheck disable=SC2086
llvm-cov report "$out/$t" -instr-profile="$out/merged.profdata" $lib $extra
