#!/bin/sh
# The long fuzz runs recorded in docs/testing.md: each target in turn, never
# two at once, for 10 million executions or one hour, whichever comes first,
# at nice 19, in libFuzzer's fork mode so that a finding is kept and the run
# goes on. The binaries are copied out of $FUZZ_BUILD first, so a rebuild
# or `make clean` during the run changes nothing.
#
#   make fuzz-build
#   FUZZ_WORK=/somewhere/outside/the/tree sh tests/fuzz/long.sh [TARGET...]
#
# Results: $FUZZ_WORK/TARGET.log (libFuzzer's output), $FUZZ_WORK/long.log
# (one summary line per target), $FUZZ_WORK/corpus/TARGET,
# $FUZZ_WORK/artifacts/TARGET.
set -eu
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
: "${FUZZ_WORK:?set FUZZ_WORK to a folder outside the tree}"
runs=${FUZZ_RUNS:-10000000}
seconds=${FUZZ_SECONDS:-3600}
if [ $# -gt 0 ]; then
    targets=$*
else
    targets=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
fi
mkdir -p "$FUZZ_WORK/bin"
for t in $targets; do
    cp "$FUZZ_BUILD/$t" "$FUZZ_WORK/bin/$t"
done
echo "$(date -u +%FT%TZ) start: $targets; binaries built $(date -u -r "$FUZZ_BUILD/$(echo $targets | cut -d' ' -f1)" +%FT%TZ) from commit $(git rev-parse --short HEAD 2>/dev/null || echo '?') with $(git status --porcelain 2>/dev/null | wc -l) changed paths" >>"$FUZZ_WORK/long.log"
for t in $targets; do
    start=$(date +%s)
    line=$(FUZZ_BUILD=$FUZZ_WORK/bin FUZZ_WORK=$FUZZ_WORK FUZZ_TARGETS=$t \
        FUZZ_RUNS=$runs FUZZ_SECONDS=$seconds FUZZ_FORK=1 \
        nice -n 19 sh tests/fuzz/run.sh | head -n 1) || true
    echo "$(date -u +%FT%TZ) $line; $(($(date +%s) - start)) s wall" >>"$FUZZ_WORK/long.log"
done
