#!/bin/sh
# Runs the libFuzzer targets built by `make fuzz-build` (docs/testing.md).
#
# Each target reads its committed seeds (tests/fuzz/corpus/TARGET), the
# reproducers of past findings (tests/fuzz/findings/TARGET, every one of
# which must now pass) and writes what it discovers to a scratch corpus
# under $FUZZ_WORK, so the committed corpus stays small. Prints one line per
# target with executions, coverage and corpus size, and exits non-zero when
# any target found something; the finding is kept under
# $FUZZ_WORK/artifacts/TARGET/ and the end of its log is shown.
#
# Environment:
#   FUZZ_BUILD    where the binaries are (build-fuzz)
#   FUZZ_WORK     scratch corpora, artifacts and logs ($FUZZ_BUILD)
#   FUZZ_SECONDS  time per target (60)
#   FUZZ_RUNS     also stop a target after this many executions (no limit)
#   FUZZ_TARGETS  which targets (all the binaries found)
#   FUZZ_FORK     1: run in libFuzzer's fork mode and go on after a finding
#                 (long runs: each finding is kept, the run continues)
set -u
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_WORK=${FUZZ_WORK:-$FUZZ_BUILD}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_RUNS=${FUZZ_RUNS:--1}
FUZZ_FORK=${FUZZ_FORK:-0}
if [ -z "${FUZZ_TARGETS:-}" ]; then
    FUZZ_TARGETS=$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
fi

# Flags every run gets: a 10 s limit per input (sanitizers are slow and the
# machine may be busy; docs/testing.md has the time bound), and
# libFuzzer's own memory limits as a backstop to the targets' byte bounds.
common="-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1"

status=0
for t in $FUZZ_TARGETS; do
    bin=$FUZZ_BUILD/$t
    if [ ! -x "$bin" ]; then
        echo "$t: no binary $bin (run make fuzz-build)"
        status=1
        continue
    fi
    corpus=$FUZZ_WORK/corpus/$t
    artifacts=$FUZZ_WORK/artifacts/$t
    log=$FUZZ_WORK/$t.log
    mkdir -p "$corpus" "$artifacts"
    before=$(ls "$artifacts" | wc -l)
    dirs="$corpus tests/fuzz/corpus/$t"
    [ -d "tests/fuzz/findings/$t" ] && dirs="$dirs tests/fuzz/findings/$t"
    extra=""
    [ -f "tests/fuzz/$t.dict" ] && extra="-dict=tests/fuzz/$t.dict"
    case $t in
    # the CLI prints on stderr: keep libFuzzer's own output only
    fuzz_cli) extra="$extra -close_fd_mask=2" ;;
    esac
    if [ "$FUZZ_FORK" = 1 ]; then
        extra="$extra -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
    fi
    # shellcheck disable=SC2086
    "$bin" $common $extra -max_total_time="$FUZZ_SECONDS" -runs="$FUZZ_RUNS" \
        -artifact_prefix="$artifacts/" $dirs >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
    found=$(($(ls "$artifacts" | wc -l) - before))
    echo "$t: ${runs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, $found finding(s), exit $rc (log $log)"
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
        status=1
        grep -E 'ERROR|SUMMARY|^fuzz:|Test unit written|^artifact_prefix' "$log" | head -n 20
    fi
done
exit $status
