# docs/tutorial.md stays true: every ```sh block in it runs, in order, in
# one scratch directory that sees the source tree's build/, tests/ and
# examples/ (the commands are written for the root of the tree after make).
. tests/shlib.sh
DOC=docs/tutorial.md
# Options the tutorial uses before they exist: a block that needs one the
# program does not list yet is skipped, not failed.
PENDING="--log --confusion-svg"

REPO=$(pwd)
case $BUILD in /*) built=$BUILD ;; *) built=$REPO/${BUILD:-build} ;; esac
mkdir "$TMP/work"
ln -s "$built" "$TMP/work/build"
for d in tests examples include docs; do ln -s "$REPO/$d" "$TMP/work/$d"; done

# split the page into blocks: $TMP/block.N holds the N-th ```sh block
awk -v dir="$TMP" '
    /^```sh$/ { n++; on = 1; next }
    /^```/ && on { on = 0; next }
    on { print > (dir "/block." n) }
    END { print n + 0 > (dir "/blocks") }' "$DOC"
n=$(cat "$TMP/blocks")
check tutorial_has_blocks test "$n" -gt 10

known=$(for c in train eval predict plot; do "$SOMA" "$c" --help 2>/dev/null; done)
i=1
while [ "$i" -le "$n" ]; do
    b="$TMP/block.$i"
    first=$(head -n 1 "$b")
    name="tutorial_block_${i}_$(echo "$first" | cut -c1-40 | tr -c 'a-zA-Z0-9\n' _)"
    i=$((i + 1))
    # the build itself: the suite runs after it
    if [ "$(cat "$b")" = make ]; then
        check "$name" test -x "$SOMA"
        continue
    fi
    skip=""
    for o in $PENDING; do
        if grep -q -- "$o\( \|\$\)" "$b" &&
           ! printf '%s\n' "$known" | grep -q -- "^ .*$o "; then
            skip="$skip $o"
        fi
    done
    if [ -n "$skip" ]; then
        echo "skip $name: needs$skip"
        continue
    fi
    if (cd "$TMP/work" && sh -e "$b") >"$TMP/out" 2>"$TMP/err"; then
        pass "$name"
    else
        fail "$name" "$(cat "$b")" "$(tail -n 5 "$TMP/err")"
    fi
done
