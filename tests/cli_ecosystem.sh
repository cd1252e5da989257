# soma among other tools: the man page renders without warnings and
# documents every subcommand and option; the bash completion completes
# them; the shared library exports exactly the functions of soma.h.
. tests/shlib.sh
PYTHON=${PYTHON:-/usr/bin/python3}
VERSION=$(sed -n 's/^#define SOMA_VERSION_STRING "\(.*\)"/\1/p' include/soma.h)

# ---- --version --------------------------------------------------------------
expect_ok version "$SOMA" --version
check version_matches_header grep -qx "soma $VERSION" "$TMP/out"

# ---- the man page ------------------------------------------------------------
if command -v man >/dev/null 2>&1; then
    for w in 80 60 120; do
        MANWIDTH=$w man --warnings -l docs/soma.1 >"$TMP/man.txt" 2>"$TMP/man.err"
        check "man_renders_without_warnings_at_$w" sh -c "[ ! -s '$TMP/man.err' ] && [ -s '$TMP/man.txt' ]"
        [ -s "$TMP/man.err" ] && head -5 "$TMP/man.err"
    done
    MANWIDTH=80 man -l docs/soma.1 2>/dev/null >"$TMP/man.txt"
    for s in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" FILES EXAMPLES "SEE ALSO"; do
        check "man_section_$(echo "$s" | tr ' ' _)" grep -qx "$s" "$TMP/man.txt"
    done
else
    fail man_installed "man is not installed (make deps installs man-db and groff-base)"
fi
check man_version_matches grep -q "^\.TH SOMA 1 [^ ]* \"soma $VERSION\"" docs/soma.1
# options CMD: the long options "soma CMD --help" lists
options() {
    "$SOMA" "$1" --help | grep -E -- '^ +(-[a-zA-Z], )?--[a-z]' | grep -o -- '--[a-z][a-z0-9-]*' |
        awk '!seen[$0]++'
}
# every subcommand, and every option its --help lists, is in the man page
cmds=$("$SOMA" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
check commands_listed test -n "$cmds"
for c in $cmds; do
    check "man_documents_$c" grep -q "^\.SS \"soma $c" docs/soma.1
    for o in $(options "$c"); do
        [ "$o" = --help ] && continue
        pat=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        check "man_documents_${c}_$o" grep -q -- "$pat" docs/soma.1
    done
done

# ---- bash completion ---------------------------------------------------------
# complete WORD...: what _soma offers for the last word of "WORD..."
complete_words() {
    bash -c '. completion/soma.bash
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _soma
        printf "%s\n" "${COMPREPLY[@]}"' complete "$@"
}
# offers EXPECTED WORD...: the completions of WORD... are exactly EXPECTED
offers() {
    want=$1; shift
    got=$(complete_words "$@" | sort | tr '\n' ' ')
    want=$(printf '%s\n' $want | sort | tr '\n' ' ')
    if [ "$got" = "$want" ]; then pass "complete_$(echo "$*" | tr -c 'a-z0-9\n' _)"
    else fail "complete_$*" "got:    $got" "wanted: $want"; fi
}
check completion_is_bash bash -n completion/soma.bash
offers "$cmds --help --version" "$SOMA" ""
offers "predict plot" "$SOMA" p
offers "--activation" "$SOMA" train --ac
offers "relu" "$SOMA" train --activation r
offers "sigmoid tanh relu leaky_relu linear" "$SOMA" train --activation ""
offers "sigmoid softmax linear" "$SOMA" train --output-activation ""
offers "sse mse bce ce" "$SOMA" train tests/data/iris.csv --loss ""
offers "gd sgd adam" "$SOMA" train --optimizer ""
offers "constant step cosine" "$SOMA" train --lr-schedule ""
offers "uniform glorot he" "$SOMA" train --init = ""
offers "sepal_length sepal_width petal_length petal_width species" \
    "$SOMA" train tests/data/iris.csv --target ""
offers "tests/data/iris.csv" "$SOMA" train tests/data/ir
offers "tests/data/post.csv tests/data/post_query.csv tests/data/post_reference.txt" \
    "$SOMA" eval m.safetensors tests/data/pos
offers "tests/data/iris.csv" "$SOMA" plot tests/data/iris.csv -o tests/data/ir
offers "" "$SOMA" train --epochs ""
offers "--log-loss" "$SOMA" plot --log
# every option of every subcommand is offered after "--"
for c in $cmds; do
    want=$(options "$c" | tr '\n' ' ')
    offers "$want" "$SOMA" "$c" --
done

# ---- exported symbols --------------------------------------------------------
if command -v nm >/dev/null 2>&1; then
    "$PYTHON" - >"$TMP/declared" <<'EOF'
import re
text = open('include/soma.h').read()
text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
text = '\n'.join(l for l in text.split('\n') if not l.lstrip().startswith('#'))
names = set()
for stmt in text.split(';'):
    stmt = ' '.join(stmt.split())
    if stmt.startswith('typedef') or 'extern "C"' in stmt:
        stmt = stmt.split('}')[-1]
        if stmt.strip().startswith('typedef'):
            continue
    m = re.search(r'\b(soma_\w+)\s*\(', stmt)
    if m and not re.search(r'\(\s*\*\s*' + m.group(1), stmt):
        names.add(m.group(1))
print('\n'.join(sorted(names)))
EOF
    nm -D --defined-only "$BUILD/libsoma.so" | awk '$2 ~ /^[TWDBRV]$/ { sub(/@.*/, "", $3); print $3 }' \
        | sort -u >"$TMP/exported"
    check header_declares_functions test "$(wc -l <"$TMP/declared")" -gt 50
    if cmp -s "$TMP/declared" "$TMP/exported"; then pass exports_exactly_the_header
    else fail exports_exactly_the_header "declared in soma.h (<) vs exported by $BUILD/libsoma.so (>):" \
        "$(diff "$TMP/declared" "$TMP/exported" | grep '^[<>]' | head -20)"; fi
    soname=$(objdump -p "$BUILD/libsoma.so" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
    check "soname_${soname:-none}" test "$soname" = libsoma.so.0
else
    fail exports_checked "nm is not installed (binutils)"
fi
