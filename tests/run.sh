#!/bin/sh
# Runs every test: the C test programs, the command-line tests and the
# Python cross-checks, and prints one closing line "N passed, N failed".
# Each program prints PASS/FAIL lines; a program that crashes or exits
# non-zero without a FAIL line counts as one failure.
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
export BUILD PYTHON
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
    name=$1
    shift
    echo "== $name"
    "$@" >"$log" 2>&1
    rc=$?
    grep -v '^[0-9]* passed, [0-9]* failed$' "$log"
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name (exit status $rc)"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

for t in "$BUILD"/tests/test_*; do
    case "$t" in *.d) continue ;; esac
    [ -x "$t" ] || continue
    run "$(basename "$t")" "$t"
done
for t in tests/cli_*.sh; do
    [ -f "$t" ] || continue
    run "$(basename "$t")" sh "$t"
done
for t in tests/py_*.py; do
    [ -f "$t" ] || continue
    run "$(basename "$t")" "$PYTHON" "$t"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
