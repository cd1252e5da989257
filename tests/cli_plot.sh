# soma plot (learning curves from a --log CSV) and the confusion heat map:
# each picture is parsed as XML, and the series, labels and legend it must
# hold are looked up by id and text.
. tests/shlib.sh
PYTHON=${PYTHON:-/usr/bin/python3}
HEADER=epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds

# svg_has FILE SPEC...: FILE is well-formed SVG 1.1 and, per SPEC,
#   id=N        has a <polyline id="id"> with N points
#   !id         has no element with that id
#   #id         has an element with that id
#   text=S      has a <text> or <title> whose whole text is S
#   count=C:N   has N elements with class C
svg_has() {
    "$PYTHON" - "$@" <<'EOF'
import sys
import xml.etree.ElementTree as ET
NS = '{http://www.w3.org/2000/svg}'
path, specs = sys.argv[1], sys.argv[2:]
try:
    root = ET.parse(path).getroot()
except Exception as e:
    sys.exit(f'{path}: not well-formed XML: {e}')
if root.tag != NS + 'svg':
    sys.exit(f'{path}: root is {root.tag}, not an SVG <svg>')
for attr in ('width', 'height', 'viewBox'):
    if attr not in root.attrib:
        sys.exit(f'{path}: <svg> has no {attr}')
if root.find(NS + 'title') is None or not root.find(NS + 'title').text:
    sys.exit(f'{path}: no <title>')
ids = {e.get('id'): e for e in root.iter() if e.get('id')}
texts = {''.join(e.itertext()) for e in root.iter()
         if e.tag in (NS + 'text', NS + 'title')}
for s in specs:
    if s.startswith('!'):
        if s[1:] in ids:
            sys.exit(f'{path}: has id {s[1:]}, should not')
    elif s.startswith('#'):
        if s[1:] not in ids:
            sys.exit(f'{path}: no element with id {s[1:]}')
    elif s.startswith('text='):
        if s[5:] not in texts:
            sys.exit(f'{path}: no text {s[5:]!r} among {sorted(texts)[:40]}')
    elif s.startswith('count='):
        cls, n = s[6:].rsplit(':', 1)
        got = sum(1 for e in root.iter() if cls in (e.get('class') or '').split())
        if got != int(n):
            sys.exit(f'{path}: {got} elements of class {cls}, wanted {n}')
    else:
        name, n = s.split('=')
        e = ids.get(name)
        if e is None or e.tag != NS + 'polyline':
            sys.exit(f'{path}: no <polyline id="{name}">')
        pts = e.get('points').split()
        if len(pts) != int(n):
            sys.exit(f'{path}: {name} has {len(pts)} points, wanted {n}')
        for p in pts:
            x, y = map(float, p.split(','))
            if not (0 <= x <= float(root.get('width')) and 0 <= y <= float(root.get('height'))):
                sys.exit(f'{path}: {name} point {p} is outside the picture')
EOF
}

# ---- a classifier with a validation set ------------------------------------
awk -v h=$HEADER 'BEGIN { print h; for (e = 1; e <= 40; e++)
    printf "%d,%.6f,%.4f,%.6f,%.4f,0.01,%.3f\n", e, 1.1 * exp(-e / 8) + 0.05,
        1 - 0.6 * exp(-e / 6), 1.1 * exp(-e / 9) + 0.09, 0.97 - 0.6 * exp(-e / 6), e * 0.02 }' >"$TMP/iris.log"
expect_ok plot_classifier "$SOMA" plot "$TMP/iris.log" -o "$TMP/iris.svg"
check classifier_svg svg_has "$TMP/iris.svg" train_loss=40 val_loss=40 train_accuracy=40 \
    val_accuracy=40 '#loss_panel' '#accuracy_panel' '#legend' text=train text=validation \
    '#best_epoch_loss' '#best_epoch_accuracy' 'text=lowest validation loss' \
    text=epoch text=loss text=accuracy 'text=Learning curves: iris.log'
check classifier_quiet test ! -s "$TMP/out"
check no_temp_files sh -c "! ls '$TMP' | grep -q tmp"

# ---- a regression without validation: the loss panel only -----------------
awk -v h=$HEADER 'BEGIN { print h; for (e = 1; e <= 300; e++)
    printf "%d,%.6f,,,,0.001,%.3f\n", e, 2500000 * exp(-e / 15) + 120, e * 0.01 }' >"$TMP/reg.log"
expect_ok plot_regression "$SOMA" plot "$TMP/reg.log" -o "$TMP/reg.svg" --title 'Fit <y> & "z"'
check regression_svg svg_has "$TMP/reg.svg" train_loss=300 '!val_loss' '!train_accuracy' \
    '!accuracy_panel' '#loss_panel' text=train '!validation' 'text=Fit <y> & "z"' text=2.5M \
    '!best_epoch_loss'
check regression_escaped grep -q 'Fit &lt;y&gt; &amp; &quot;z&quot;' "$TMP/reg.svg"
expect_ok plot_log_scale "$SOMA" plot "$TMP/reg.log" -o "$TMP/reg_log.svg" --log-loss
check log_scale_svg svg_has "$TMP/reg_log.svg" train_loss=300 'text=loss (log scale)' \
    text=100 text=1000 text=10k text=1M

# ---- validation every few epochs, accuracy only on some rows ----------------
{ echo $HEADER; echo 1,0.9,0.5,0.95,0.45,0.1,1; echo 2,0.7,0.6,,,0.1,2
  echo 3,0.5,0.7,,,0.1,3; echo 4,0.4,0.8,0.5,0.75,0.1,4; } >"$TMP/sparse.log"
expect_ok plot_sparse "$SOMA" plot "$TMP/sparse.log" -o "$TMP/sparse.svg"
check sparse_svg svg_has "$TMP/sparse.svg" train_loss=4 val_loss=2 val_accuracy=2 \
    '#val_loss_markers'

# ---- one epoch; CRLF line ends, a byte-order mark, columns in another order --
printf '\357\273\277epoch,seconds,train_loss,train_accuracy\r\n1,0.5,0.693,0.5\r\n' >"$TMP/one.log"
expect_ok plot_one_epoch "$SOMA" plot "$TMP/one.log" -o "$TMP/one.svg"
check one_epoch_svg svg_has "$TMP/one.svg" train_loss=1 train_accuracy=1 '#train_loss_markers' \
    '!val_loss' text=1
# - writes to standard output
expect_ok plot_stdout "$SOMA" plot "$TMP/one.log" -o -
check plot_stdout_svg svg_has "$TMP/out" train_loss=1
# replaces an existing picture
cp "$TMP/iris.svg" "$TMP/keep.svg"
"$SOMA" plot "$TMP/one.log" -o "$TMP/keep.svg"
check plot_replaces svg_has "$TMP/keep.svg" train_loss=1

# ---- the log soma train writes ---------------------------------------------
if "$SOMA" train --help | grep -q -- '--log '; then
    expect_ok train_log "$SOMA" train tests/data/iris.csv --target species --epochs 12 \
        --val-split 0.2 --log "$TMP/train.log" --quiet -o "$TMP/iris.safetensors"
    expect_ok plot_train_log "$SOMA" plot "$TMP/train.log" -o "$TMP/train.svg"
    check train_log_svg svg_has "$TMP/train.svg" train_loss=12 val_loss=12 train_accuracy=12 \
        val_accuracy=12 text=validation
    expect_ok train_log_regression "$SOMA" train tests/data/iris.csv --target petal_width \
        --ignore species --epochs 7 --log "$TMP/reg_train.log" --quiet -o "$TMP/petal.safetensors"
    expect_ok plot_train_log_regression "$SOMA" plot "$TMP/reg_train.log" -o "$TMP/reg_train.svg"
    check train_log_regression_svg svg_has "$TMP/reg_train.svg" train_loss=7 '!val_loss' \
        '!accuracy_panel'
else
    echo "skip train_log: soma train has no --log yet"
fi

# ---- bad logs: one line naming the file and line, exit 1, no picture --------
expect_error plot_missing_file 1 "$TMP/nope.log: cannot open" "$SOMA" plot "$TMP/nope.log" -o "$TMP/x.svg"
: >"$TMP/empty.log"
expect_error plot_empty_file 1 "empty.log: empty file" "$SOMA" plot "$TMP/empty.log" -o "$TMP/x.svg"
echo $HEADER >"$TMP/header.log"
expect_error plot_header_only 1 "header.log: no epochs" "$SOMA" plot "$TMP/header.log" -o "$TMP/x.svg"
{ echo $HEADER; echo 1,0.9,0.5,,,0.1,1; echo 2,0.8,0.6,,,0.1; } >"$TMP/short.log"
expect_error plot_short_row 1 "short.log: line 3: 6 fields, the header has 7" "$SOMA" plot "$TMP/short.log" -o "$TMP/x.svg"
{ echo $HEADER; echo 1,0.9,0.5,,,0.1,1; echo 2,0.8x,0.6,,,0.1,2; } >"$TMP/word.log"
expect_error plot_not_a_number 1 "word.log: line 3, column 'train_loss': '0.8x' is not a number" \
    "$SOMA" plot "$TMP/word.log" -o "$TMP/x.svg"
{ echo $HEADER; echo 1,inf,0.5,,,0.1,1; } >"$TMP/inf.log"
expect_error plot_infinite 1 "inf.log: line 2, column 'train_loss': 'inf' is not a finite number" \
    "$SOMA" plot "$TMP/inf.log" -o "$TMP/x.svg"
{ echo $HEADER; echo 2,0.9,0.5,,,0.1,1; echo 1,0.8,0.6,,,0.1,2; } >"$TMP/order.log"
expect_error plot_epochs_out_of_order 1 "order.log: line 3: epoch 1 follows epoch 2" \
    "$SOMA" plot "$TMP/order.log" -o "$TMP/x.svg"
{ echo $HEADER; echo 1.5,0.9,0.5,,,0.1,1; } >"$TMP/frac.log"
expect_error plot_bad_epoch 1 "frac.log: line 2, column 'epoch': '1.5' is not an epoch" \
    "$SOMA" plot "$TMP/frac.log" -o "$TMP/x.svg"
{ echo $HEADER; echo 1,,,,,0.1,1; } >"$TMP/blank.log"
expect_error plot_no_values 1 "blank.log: no loss or accuracy values" "$SOMA" plot "$TMP/blank.log" -o "$TMP/x.svg"
expect_error plot_not_a_log 1 "iris.csv: line 1: not a training log" "$SOMA" plot tests/data/iris.csv -o "$TMP/x.svg"
{ echo $HEADER; echo 1,0,0.5,,,0.1,1; } >"$TMP/zero.log"
expect_error plot_log_scale_zero 1 "train_loss is 0 at epoch 1" "$SOMA" plot "$TMP/zero.log" --log-loss -o "$TMP/x.svg"
check no_picture_after_errors test ! -e "$TMP/x.svg"
expect_error plot_missing_output 2 "-o FILE.svg is required" "$SOMA" plot "$TMP/iris.log"
expect_error plot_missing_log 2 "missing argument" "$SOMA" plot -o "$TMP/x.svg"
expect_error plot_unwritable 1 "$TMP/no/dir/x.svg: cannot create" "$SOMA" plot "$TMP/iris.log" -o "$TMP/no/dir/x.svg"
expect_ok plot_help "$SOMA" plot --help
check plot_help_options grep -q -- '--log-loss' "$TMP/out"
check plot_listed sh -c "'$SOMA' --help | grep -q '^  plot '"

# ---- the confusion heat map (svg_confusion, through tests/test_svg) ---------
if [ -x "$BUILD/tests/test_svg" ]; then
    expect_ok confusion_samples "$BUILD/tests/test_svg" --write "$TMP"
    check confusion_iris_svg svg_has "$TMP/confusion_iris.svg" count=cell:9 count=count:9 \
        text=setosa text=versicolor text=virginica 'text=true class' 'text=predicted class' \
        'text=Confusion matrix: accuracy 0.9667 (145 of 150)' text=50 text=94.0%
    # labels from user data come out as text, whatever their bytes
    check confusion_labels_escaped svg_has "$TMP/confusion_hostile.svg" count=cell:9 \
        'text=<b>&amp;"' "text=$(printf 'caf\303\251\357\277\275\357\277\275')"
else
    fail confusion_samples "$BUILD/tests/test_svg not built (make tests)"
fi

# ---- soma eval --confusion-svg ----------------------------------------------
"$SOMA" train tests/data/iris.csv --target species --epochs 20 --quiet -o "$TMP/iris_cm.safetensors"
expect_ok eval_confusion_svg "$SOMA" eval "$TMP/iris_cm.safetensors" tests/data/iris.csv --confusion-svg "$TMP/cm.svg"
check eval_confusion_svg_cells sh -c "[ \$(grep -o 'class=\"cell\"' '$TMP/cm.svg' | wc -l) -eq 9 ]"
check eval_confusion_svg_well_formed "${PYTHON:-/usr/bin/python3}" -c "import xml.etree.ElementTree as E, sys; r = E.parse(sys.argv[1]).getroot(); sys.exit(0 if r.tag.endswith('svg') else 1)" "$TMP/cm.svg"
check eval_confusion_svg_labels grep -q 'versicolor' "$TMP/cm.svg"
awk 'BEGIN { print "a,y"; for (i = 0; i < 40; i++) printf "%d,%.2f\n", i, i * 0.3 }' >"$TMP/reg.csv"
"$SOMA" train "$TMP/reg.csv" --target y --epochs 2 --quiet -o "$TMP/reg.safetensors"
expect_error eval_confusion_svg_regression 1 "regression model" "$SOMA" eval "$TMP/reg.safetensors" "$TMP/reg.csv" --confusion-svg "$TMP/r.svg"
