# Helpers for the command-line tests, sourced by tests/cli_*.sh (not itself a test).
# Each check prints "PASS name" or "FAIL name" (tests/run.sh counts them).
SOMA=${SOMA:-${BUILD:-build}/soma}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; shift; for l in "$@"; do echo "  $l"; done; }

# expect_ok NAME CMD...: the command exits 0
expect_ok() {
    name=$1; shift
    if "$@" >"$TMP/out" 2>"$TMP/err"; then pass "$name"
    else fail "$name" "exit $? from: $*" "$(head -c 600 "$TMP/err")"; fi
}

# expect_error NAME STATUS SUBSTRING CMD...: the command exits with STATUS,
# prints one line on stderr containing SUBSTRING, and does not crash.
expect_error() {
    name=$1; want=$2; sub=$3; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -eq "$want" ] && grep -qF -- "$sub" "$TMP/err" && [ "$lines" -le 1 ]; then
        pass "$name"
    else
        fail "$name" "exit $rc (wanted $want) from: $*" \
            "stderr: $(head -c 600 "$TMP/err")" "wanted: $sub"
    fi
}

# check NAME CONDITION-COMMAND...: a plain assertion
check() {
    name=$1; shift
    if "$@"; then pass "$name"; else fail "$name" "failed: $*"; fi
}
