#!/bin/sh
# bench/run.sh - the benchmark behind `make bench`: builds the programs in
# bench/ against $BUILD/libsoma.a, then runs, one after the other on this
# machine, soma, PyTorch (Debian's python3-torch, on OpenBLAS) and FANN on
# the same Fashion-MNIST workload, the SGEMM comparison with OpenBLAS, the
# predict benchmarks, the width and batch-size sweeps and the peak-RSS
# check. Raw key=value lines go to $BUILD/bench/raw.txt, each prefixed by
# the phase and the 1-minute load average when it started; bench/report.py
# turns them into the markdown tables of $BUILD/bench/results.md, which
# this script also prints.
#
#   BUILD=build [BENCH_QUICK=1] [BENCH_PRIORITY=1] sh bench/run.sh
#
# BENCH_QUICK=1: one repetition, 3 epochs, FANN on 10,000 examples, soma-only
# sweeps on slices (1.5 to 3 minutes). The default takes 4 to 8 minutes:
# three interleaved repetitions of the 5-epoch runs, FANN for 3 epochs,
# sweeps for soma and PyTorch. BENCH_REPS overrides the repetitions.
set -eu

# BENCH_PRIORITY=1 runs the benchmark in a session of its own whose
# autogroup has nice -10 (root or CAP_SYS_NICE). With sched_autogroup on
# (/proc/sys/kernel/sched_autogroup_enabled; on on the machine of BENCHMARKS.md), nice orders
# processes only inside one session: a nice-19 fuzzer started from another
# session still takes a whole core beside the benchmark, and two threads
# cannot be measured while one runs. The raw file records which it was.
if [ "${BENCH_PRIORITY:-0}" = 1 ] && [ -z "${BENCH_IN_SESSION:-}" ] &&
    command -v setsid >/dev/null 2>&1; then
    BENCH_IN_SESSION=1 setsid -w sh "$0" "$@" &
    child=$!
    trap 'kill -TERM -- "-$child" 2>/dev/null; exit 130' INT TERM
    wait "$child"
    exit $?
fi
AUTOGROUP="off"
if [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo 0)" = 1 ]; then
    if [ -n "${BENCH_IN_SESSION:-}" ]; then
        echo -10 >/proc/self/autogroup 2>/dev/null ||
            echo "bench/run.sh: cannot raise the autogroup priority; going on" >&2
    fi
    AUTOGROUP="on, this session's $(sed 's/^[^ ]* //' /proc/self/autogroup)"
fi

BUILD=${BUILD:-build}
CC=${CC:-cc}
PYTHON=${PYTHON:-/usr/bin/python3}
QUICK=${BENCH_QUICK:-0}
DATA=${BENCH_DATA:-/usr/share/datasets/fashion-mnist}
OUT=$BUILD/bench
RAW=$OUT/raw.txt
BLAS_INC=${BLAS_INC:--I/usr/include/x86_64-linux-gnu/openblas-pthread -I/usr/include/openblas}
FLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -ffp-contract=off -O3 -g -pthread \
-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
-Wdouble-promotion -Werror -Iinclude -Isrc"
LIBS="$BUILD/libsoma.a -ljansson -lz -lm -pthread"

die() { echo "bench/run.sh: $*" >&2; exit 1; }

[ -f "$BUILD/libsoma.a" ] || die "$BUILD/libsoma.a is missing: run make first"
[ -f "$DATA/train-images-idx3-ubyte.gz" ] ||
    die "no Fashion-MNIST in $DATA (make bench-deps installs dataset-fashion-mnist)"
[ "$(uname -m)" = x86_64 ] || die "the FMA-peak and GEMM benchmarks need x86-64"

if [ "$QUICK" = 1 ]; then
    REPS=${BENCH_REPS:-1}; EPOCHS=3; FANN_ARGS="--epochs 1 --samples 10000"
    SWEEP_EPOCHS=2; SWEEP_TORCH=0
else
    REPS=${BENCH_REPS:-3}; EPOCHS=5; FANN_ARGS="--epochs 3"
    SWEEP_EPOCHS=3; SWEEP_TORCH=1
fi

# ---- build -----------------------------------------------------------------
mkdir -p "$OUT"
echo "== building the benchmark programs in $OUT"
$CC $FLAGS -mavx2 -mfma -c bench/fma_peak.c -o "$OUT/fma_peak.o"
$CC $FLAGS $BLAS_INC -o "$OUT/gemm_bench" bench/gemm_bench.c "$OUT/fma_peak.o" \
    $LIBS -lopenblas
$CC $FLAGS -o "$OUT/soma_fmnist" bench/soma_fmnist.c $LIBS
$CC $FLAGS -o "$OUT/predict_bench" bench/predict_bench.c $LIBS
$CC $FLAGS -o "$OUT/fann_fmnist" bench/fann_fmnist.c $LIBS -lfann

# ---- helpers ---------------------------------------------------------------
load1() { cut -d' ' -f1 /proc/loadavg; }

# run PHASE COMMAND...: runs the command, echoes its lines to the terminal
# and appends them to $RAW prefixed by "PHASE load=L".
run() {
    phase=$1; shift
    l=$(load1)
    echo "-- [$phase] load $l: $*"
    "$@" >"$OUT/last.txt" || { cat "$OUT/last.txt"; die "failed: $*"; }
    cat "$OUT/last.txt"
    sed "s/^/$phase load=$l /" "$OUT/last.txt" >>"$RAW"
}

torch() { # torch THREADS ARGS...
    t=$1; shift
    env OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" \
        "$PYTHON" bench/torch_fmnist.py --data "$DATA" --threads "$t" "$@"
}

: >"$RAW"
T_START=$(date +%s)
{
    echo "meta date=\"$(date -u '+%Y-%m-%d %H:%M UTC')\" quick=$QUICK reps=$REPS epochs=$EPOCHS"
    echo "meta cpu=\"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)\" cores=$(nproc) kernel=\"$(uname -r)\""
    echo "meta cc=\"$($CC --version | head -n 1)\" torch=\"$("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none)\""
    echo "meta loadavg_start=\"$(cut -d' ' -f1-3 /proc/loadavg)\" autogroup=\"$AUTOGROUP\""
} >>"$RAW"

# ---- SGEMM and the FMA peak --------------------------------------------------
for t in 1 2; do
    run gemm env OPENBLAS_NUM_THREADS=$t "$OUT/gemm_bench" $t
done

# ---- the workload, side by side: soma and PyTorch interleaved ----------------
r=1
while [ $r -le "$REPS" ]; do
    for t in 1 2; do
        run "main rep=$r" "$OUT/soma_fmnist" --data "$DATA" --threads $t --epochs "$EPOCHS"
        run "main rep=$r" torch $t --epochs "$EPOCHS" --predict --max-seconds 120
    done
    r=$((r + 1))
done

# ---- the learning curve over more seeds (soma's bits do not depend on the
# thread count; PyTorch at 1 thread): plain SGD at lr 0.1 moves the test
# accuracy by a point from epoch to epoch, so one seed proves little ---------
if [ "$QUICK" != 1 ]; then
    for s in 2 3 4; do
        run "seeds seed=$s" "$OUT/soma_fmnist" --data "$DATA" --threads 2 --epochs "$EPOCHS" --seed $s
        run "seeds seed=$s" torch 1 --epochs "$EPOCHS" --seed $s
    done
fi

# ---- FANN (one thread: FANN has no threads) ------------------------------------
run fann "$OUT/fann_fmnist" --data "$DATA" $FANN_ARGS

# ---- predict through the C API ----------------------------------------------
run predict "$OUT/predict_bench" --data "$DATA" 1 2
run predict "$OUT/predict_bench" --data "$DATA" 1 2

# ---- sweeps: slices of an epoch, extrapolated to 60,000 examples, after one
# untimed slice (the first slices of a run are slower) ------------------------
# Width at batch 64, learning rate 0.1.
for w in 64 128 256 512 1024; do
    for t in 1 2; do
        run "sweep=width" "$OUT/soma_fmnist" --data "$DATA" --threads $t --layers $w \
            --samples 20000 --warmup 1 --epochs "$SWEEP_EPOCHS"
    done
    if [ "$SWEEP_TORCH" = 1 ]; then
        run "sweep=width" torch 1 --layers $w --samples 20000 --warmup 1 --epochs "$SWEEP_EPOCHS"
    fi
done
# Batch size at width 128; the learning rate scales as 0.1 * B / 64 (at most
# 0.1), so that plain SGD stays stable at batch 1 (the time does not depend
# on it). Batches below 16 train 5,000-example slices.
for b in 1 4 16 64 256 1024; do
    lr=$(awk "BEGIN { v = 0.1 * $b / 64; print v < 0.1 ? v : 0.1 }")
    s=20000; [ $b -lt 16 ] && s=5000
    for t in 1 2; do
        run "sweep=batch" "$OUT/soma_fmnist" --data "$DATA" --threads $t --batch $b \
            --lr "$lr" --samples $s --warmup 1 --epochs "$SWEEP_EPOCHS"
    done
    if [ "$SWEEP_TORCH" = 1 ]; then
        run "sweep=batch" torch 1 --batch $b --lr "$lr" --samples $s --warmup 1 --epochs "$SWEEP_EPOCHS"
    fi
done

# ---- peak memory of a training run, the whole process ---------------------------
if [ -x /usr/bin/time ]; then
    l=$(load1)
    /usr/bin/time -v "$OUT/soma_fmnist" --data "$DATA" --threads 2 --epochs 1 \
        >"$OUT/last.txt" 2>"$OUT/time.txt" || die "the RSS run failed"
    sed "s/^/rss load=$l /" "$OUT/last.txt" >>"$RAW"
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/time.txt")
    echo "rss load=$l time_v lib=soma max_rss_kb=$kb" >>"$RAW"
    echo "-- peak RSS of soma_fmnist (1 epoch, 2 threads): $kb kB"
fi

{
    echo "meta loadavg_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\" seconds=$(($(date +%s) - T_START))"
} >>"$RAW"

"$PYTHON" bench/report.py "$RAW" >"$OUT/results.md"
echo
cat "$OUT/results.md"
echo "(raw lines in $RAW, this table in $OUT/results.md)"
