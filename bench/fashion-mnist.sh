#!/bin/sh
# bench/fashion-mnist.sh - the accuracy recipe: trains a classifier on
# Fashion-MNIST with the soma program and prints its test accuracy and the
# training time. The target: at least 89.5% test accuracy within 60 seconds
# of training on 2 cores.
#
# Recipe: 784-256-10, ReLU hidden layer, softmax + cross-entropy, He
# initialisation, pixels standardised (the CLI's default), Adam with
# learning rate 0.001, batches of 64, 15 epochs with a cosine learning-rate
# schedule, seed 1, 2 threads.
#
#   sh bench/fashion-mnist.sh          (after make; BUILD, DATA, THREADS
#                                       and EPOCHS may be set)
#
# Exit status: 0 when the accuracy reaches 89.5%, 1 otherwise or on error.
set -eu

BUILD=${BUILD:-build}
SOMA=${SOMA:-$BUILD/soma}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-15}
OUT=$BUILD/bench
MODEL=$OUT/fashion-mnist.safetensors
LOG=$OUT/fashion-mnist-log.csv

[ -x "$SOMA" ] || { echo "fashion-mnist.sh: $SOMA is missing: run make" >&2; exit 1; }
[ -f "$DATA/train-images-idx3-ubyte.gz" ] ||
    { echo "fashion-mnist.sh: no Fashion-MNIST in $DATA (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
mkdir -p "$OUT"

now() { date +%s.%N; }

t0=$(now)
"$SOMA" train "$DATA/train-images-idx3-ubyte.gz" --labels "$DATA/train-labels-idx1-ubyte.gz" \
    --layers 256 --activation relu --init he --optimizer adam --lr 0.001 \
    --batch-size 64 --epochs "$EPOCHS" --lr-schedule cosine --seed 1 \
    --threads "$THREADS" --log "$LOG" --quiet -o "$MODEL"
t1=$(now)
acc=$("$SOMA" eval "$MODEL" "$DATA/t10k-images-idx3-ubyte.gz" \
          --labels "$DATA/t10k-labels-idx1-ubyte.gz" --threads "$THREADS" |
      awk '$1 == "accuracy" { print $2 }')
[ -n "$acc" ] || { echo "fashion-mnist.sh: soma eval printed no accuracy" >&2; exit 1; }

# training time: the epochs' own seconds from the log (no loading, no save)
train_s=$(awk -F, 'NR > 1 { s += $NF } END { printf "%.1f", s }' "$LOG")
wall_s=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
echo "test accuracy: $acc"
echo "training time: $train_s s ($EPOCHS epochs, $THREADS threads; soma train took $wall_s s in all, loading and saving included)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk "BEGIN { exit !($acc >= 0.895) }" || {
    echo "fashion-mnist.sh: below the 89.5% target" >&2; exit 1; }
awk "BEGIN { exit !($train_s <= 60) }" ||
    echo "fashion-mnist.sh: note: training took over 60 s (is the machine busy?)" >&2
exit 0
