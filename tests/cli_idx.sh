# Command-line tests for IDX data: train, eval and predict on small IDX files
# (plain and gzipped), their errors, and a run on Fashion-MNIST.
. tests/shlib.sh
PYTHON=${PYTHON:-/usr/bin/python3}
FASHION=/usr/share/datasets/fashion-mnist

# ---- small IDX files ----------------------------------------------------------
# 400 images of 4x4, four classes: class c lights up quadrant c over noise.
# Written plain and gzipped, with broken variants for the error paths.
"$PYTHON" - "$TMP" <<'EOF'
import gzip, random, struct, sys
d = sys.argv[1]
rng = random.Random(7)
n = 400
labels = [i % 4 for i in range(n)]
rng.shuffle(labels)
pix = bytearray()
for c in labels:
    img = [rng.randrange(0, 60) for _ in range(16)]
    r0, c0 = 2 * (c // 2), 2 * (c % 2)
    for r in range(r0, r0 + 2):
        for k in range(c0, c0 + 2):
            img[r * 4 + k] = rng.randrange(180, 256)
    pix += bytes(img)
def idx(dims, data, typ=8):
    return struct.pack('>BBBB', 0, 0, typ, len(dims)) + \
        b''.join(struct.pack('>I', x) for x in dims) + bytes(data)
def put(name, data, gz=False):
    with open(f'{d}/{name}', 'wb') as f:
        f.write(gzip.compress(data, mtime=0) if gz else data)
img, lab = idx([n, 4, 4], pix), idx([n], labels)
put('img', img); put('lab', lab)
put('img.gz', img, True); put('lab.gz', lab, True)
put('img.csv', img)                             # IDX under a CSV name
put('img2d.gz', idx([n, 16], pix), True)        # [n, d] images
put('trunc.gz', img[:-5], True)                 # data shorter than the header
put('trunc', img[:1000])
put('trailing', img + b'\0')
put('type7', idx([n, 4, 4], pix, typ=7))
put('float', idx([n, 4], pix, typ=0x0D))
put('lab399', idx([n - 1], labels[:-1]), True)  # one label short
put('lab9', idx([n], labels[:-1] + [9]))        # a class the model lacks
put('cut.gz', gzip.compress(img, mtime=0)[:-12])
EOF
[ -s "$TMP/img.gz" ] || fail idx_fixtures "python could not write the IDX files"

M=$TMP/idx.safetensors
expect_ok idx_train "$SOMA" train "$TMP/img" --labels "$TMP/lab" --epochs 30 --quiet -o "$M"
expect_ok idx_info "$SOMA" info "$M"
check idx_model_classes grep -Eq '^classes +4: 0 1 2 3$' "$TMP/out"
check idx_model_no_feature_names sh -c "! grep -q '^features' '$TMP/out'"
check idx_model_labels_meta grep -q "train.labels .*/lab" "$TMP/out"
expect_ok idx_eval "$SOMA" eval "$M" "$TMP/img" --labels "$TMP/lab"
acc=$(awk '/^accuracy/ {print $2}' "$TMP/out")
check "idx_eval_accuracy_${acc}_at_least_0.95" awk "BEGIN { exit !($acc >= 0.95) }"
expect_ok idx_predict "$SOMA" predict "$M" "$TMP/img"
check idx_predict_header sh -c "head -1 '$TMP/out' | grep -qx 'predicted_label,p_0,p_1,p_2,p_3'"
check idx_predict_rows sh -c "[ \$(wc -l <'$TMP/out') -eq 401 ]"
cp "$TMP/out" "$TMP/pred_plain"

# gzipped files give the same data: the same model (but for the file names
# in its metadata) and the same predictions
expect_ok idx_train_gz "$SOMA" train "$TMP/img.gz" --labels "$TMP/lab.gz" --epochs 30 --quiet -o "$TMP/gz.safetensors"
"$SOMA" predict "$TMP/gz.safetensors" "$TMP/img" >"$TMP/pred_gz" 2>"$TMP/err"
check idx_gz_same_model cmp -s "$TMP/pred_plain" "$TMP/pred_gz"
"$SOMA" predict "$M" "$TMP/img.gz" >"$TMP/pred_gz2" 2>"$TMP/err"
check idx_predict_gz_same cmp -s "$TMP/pred_plain" "$TMP/pred_gz2"
"$SOMA" eval "$M" "$TMP/img.gz" --labels "$TMP/lab.gz" >"$TMP/eval_gz"
"$SOMA" eval "$M" "$TMP/img" --labels "$TMP/lab" >"$TMP/eval_plain"
check idx_eval_gz_same cmp -s "$TMP/eval_plain" "$TMP/eval_gz"
# the content decides, not the name; [n, 16] images are the same pixels
"$SOMA" predict "$M" "$TMP/img.csv" >"$TMP/pred_csvname" 2>"$TMP/err"
check idx_named_csv_read_as_idx cmp -s "$TMP/pred_plain" "$TMP/pred_csvname"
"$SOMA" predict "$M" "$TMP/img2d.gz" >"$TMP/pred_2d" 2>"$TMP/err"
check idx_two_dims_same cmp -s "$TMP/pred_plain" "$TMP/pred_2d"
# threads do not change results
"$SOMA" predict --threads 1 "$M" "$TMP/img" >"$TMP/pred_t1" 2>"$TMP/err"
"$SOMA" predict --threads 3 "$M" "$TMP/img" >"$TMP/pred_t3" 2>"$TMP/err"
check predict_threads_same sh -c "cmp -s '$TMP/pred_t1' '$TMP/pred_plain' && cmp -s '$TMP/pred_t3' '$TMP/pred_plain'"
expect_ok idx_train_threads "$SOMA" train "$TMP/img" --labels "$TMP/lab" --epochs 30 --quiet --threads 3 -o "$TMP/t3.safetensors"
"$SOMA" predict "$TMP/t3.safetensors" "$TMP/img" >"$TMP/pred_train_t3" 2>"$TMP/err"
check train_threads_same cmp -s "$TMP/pred_plain" "$TMP/pred_train_t3"
expect_ok eval_threads "$SOMA" eval --threads 2 "$M" "$TMP/img" --labels "$TMP/lab"
expect_error threads_negative 2 "--threads needs a whole number" "$SOMA" predict --threads -1 "$M" "$TMP/img"
# a validation split of IDX data
expect_ok idx_val_split "$SOMA" train "$TMP/img.gz" --labels "$TMP/lab.gz" --epochs 2 --val-split 0.25 -o "$TMP/v.safetensors"
check idx_val_split_reported grep -q 'validation (100 rows)' "$TMP/out"

# a pipe cannot be read twice, so there --labels says IDX and its absence CSV
# (the writers time out should soma not open a pipe)
mkfifo "$TMP/pipe_img" "$TMP/pipe_lab" "$TMP/pipe_csv"
timeout 30 sh -c "cat '$TMP/img.gz' >'$TMP/pipe_img'" &
timeout 30 sh -c "cat '$TMP/lab' >'$TMP/pipe_lab'" &
"$SOMA" eval "$M" "$TMP/pipe_img" --labels "$TMP/pipe_lab" >"$TMP/eval_pipe" 2>"$TMP/err"
check idx_from_pipes cmp -s "$TMP/eval_plain" "$TMP/eval_pipe"
timeout 30 sh -c "cat tests/data/iris.csv >'$TMP/pipe_csv'" &
expect_ok csv_from_pipe "$SOMA" train "$TMP/pipe_csv" --target species --epochs 1 --quiet -o "$TMP/p.safetensors"
wait

# ---- errors: one line naming the file, exit 1 (2 for usage) --------------------
X=$TMP/x.safetensors
expect_error idx_train_needs_labels 2 "IDX images need --labels" "$SOMA" train "$TMP/img.gz" -o "$X"
expect_error idx_eval_needs_labels 2 "IDX images need --labels" "$SOMA" eval "$M" "$TMP/img.gz"
expect_error idx_train_no_target 2 "--target is for CSV files" "$SOMA" train "$TMP/img" --labels "$TMP/lab" --target y -o "$X"
expect_error csv_with_labels 2 "--labels is for IDX images" "$SOMA" train tests/data/iris.csv --target species --labels "$TMP/lab" -o "$X"
expect_error idx_truncated_gz 1 "trunc.gz: truncated: the header says 400 images of 4x4 = 6400 bytes, the file has 6395 (uncompressed)" \
    "$SOMA" train "$TMP/trunc.gz" --labels "$TMP/lab" -o "$X"
expect_error idx_truncated 1 "trunc: truncated: the header says 400 images of 4x4 = 6400 bytes, the file has 984" \
    "$SOMA" predict "$M" "$TMP/trunc"
expect_error idx_trailing 1 "trailing: 1 byte after the data" "$SOMA" predict "$M" "$TMP/trailing"
expect_error idx_cut_gzip 1 "cut.gz: truncated gzip data" "$SOMA" predict "$M" "$TMP/cut.gz"
expect_error idx_bad_type 1 "type7: unknown IDX type 0x07" "$SOMA" train "$TMP/type7" --labels "$TMP/lab" -o "$X"
expect_error idx_float_type 1 "float: unsupported IDX type 0x0D (float32)" "$SOMA" predict "$M" "$TMP/float"
expect_error idx_count_mismatch 1 "has 400 images but $TMP/lab399 has 399 labels" \
    "$SOMA" train "$TMP/img.gz" --labels "$TMP/lab399" -o "$X"
expect_error idx_labels_as_images 1 "images need 2 or 3 dimensions, this file has 1" \
    "$SOMA" train "$TMP/lab" --labels "$TMP/lab" -o "$X"
expect_error idx_images_as_labels 1 "a labels file has 1 dimension, this one has 3" \
    "$SOMA" train "$TMP/img" --labels "$TMP/img" -o "$X"
expect_error idx_unknown_label 1 "lab9: item 399 (0-based): label 9 is not one of the model's classes" \
    "$SOMA" eval "$M" "$TMP/img" --labels "$TMP/lab9"
expect_error idx_missing_labels_file 1 "$TMP/nolabels: cannot open" \
    "$SOMA" train "$TMP/img" --labels "$TMP/nolabels" -o "$X"
expect_ok iris_model "$SOMA" train tests/data/iris.csv --target species --epochs 1 --quiet -o "$TMP/iris.safetensors"
expect_error idx_wrong_width 1 "images of 16 values, the model takes 4 inputs" \
    "$SOMA" predict "$TMP/iris.safetensors" "$TMP/img"
check no_model_after_errors test ! -e "$X"

# ---- Fashion-MNIST (installed by make deps) -----------------------------------
if [ ! -d "$FASHION" ]; then
    fail fashion_mnist_installed "$FASHION is missing: run make deps (Debian package dataset-fashion-mnist)"
else
    F=$TMP/fashion.safetensors
    start=$(date +%s)
    expect_ok fashion_train "$SOMA" train "$FASHION/train-images-idx3-ubyte.gz" \
        --labels "$FASHION/train-labels-idx1-ubyte.gz" --layers 128 --epochs 1 \
        --optimizer sgd --momentum 0 --lr 0.1 --batch-size 64 -o "$F"
    echo "  fashion-mnist: one epoch over 60000 images in $(($(date +%s) - start)) s"
    expect_ok fashion_eval "$SOMA" eval "$F" "$FASHION/t10k-images-idx3-ubyte.gz" \
        --labels "$FASHION/t10k-labels-idx1-ubyte.gz"
    acc=$(awk '/^accuracy/ {print $2}' "$TMP/out")
    check "fashion_test_accuracy_${acc}_at_least_0.80" awk "BEGIN { exit !(${acc:-0} >= 0.80) }"
    "$SOMA" predict "$F" "$FASHION/t10k-images-idx3-ubyte.gz" >"$TMP/fashion_pred" 2>"$TMP/err"
    check fashion_predict_rows sh -c "[ \$(wc -l <'$TMP/fashion_pred') -eq 10001 ]"
    check fashion_predict_header sh -c "head -1 '$TMP/fashion_pred' | grep -qx 'predicted_label,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7,p_8,p_9'"
fi
