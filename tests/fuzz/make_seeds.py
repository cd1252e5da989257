#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets under
tests/fuzz/corpus/<target>/: a few valid inputs for each parser and a few
edge cases, small enough to read. Run from the repository root:

    python3 tests/fuzz/make_seeds.py

The inputs are described in docs/testing.md. The
script is deterministic: running it again rewrites the same bytes.
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_csv: flag byte, options line, LF, CSV ---------------------------
# flags: bits 0-1 kind (0 auto, 1 classes, 2 value), 4 target, 8 ignore,
# 16 features, 32 classes, 64 split, 128 no name
def csv_seed(name, flags, options, text):
    write("fuzz_csv", name, bytes([flags]) + options.encode() + b"\n" + text.encode())


IRIS = """sepal_length,sepal_width,petal_length,petal_width,species
5.1,3.5,1.4,0.2,setosa
4.9,3.0,1.4,0.2,setosa
7.0,3.2,4.7,1.4,versicolor
6.4,3.2,4.5,1.5,versicolor
6.3,3.3,6.0,2.5,virginica
5.8,2.7,5.1,1.9,virginica
"""
csv_seed("iris-auto", 0x04, "species", IRIS)
csv_seed("iris-index-split", 0x45, "4", IRIS)
csv_seed("iris-model-classes", 0x35,
         "species;;petal_width,sepal_length;setosa,versicolor,virginica", IRIS)
csv_seed("iris-ignore", 0x0C, "species;sepal_width,0", IRIS)
csv_seed("no-target", 0x00, "", "x1,x2,x3\n0,0,1\n1,1,1\n1,0,1\n0,1,1\n")
csv_seed("regression", 0x06, "y",
         "a,b,y\n1e3,-2.5,0.125\n+4,.5e-2,-7\n3.4e38,0,1.5\n")
csv_seed("numeric-labels", 0x04, "y",
         "x,y\n1,1\n2,1.0\n3,2\n4,-0\n5,0\n6,2e0\n")
csv_seed("model-numeric-classes", 0x25, "y;;;0,1,2.5",
         "x,y\n1,1.0\n2,2.50\n3,0\n")
csv_seed("quoted-crlf-bom", 0x04, "label",
         '\ufeff"a b", "c,""d""" ,label\r\n'
         '1,2,"multi\r\nline"\r\n'
         ' 3 ,\t"4"\t,"x ""y"""\r\n'
         '\r\n'
         '5,6,plain\r\n')
csv_seed("lone-cr", 0x04, "t", "a,t\r1,x\r2,y\r")
csv_seed("value-kind-errors", 0x06, "y",
         "a,y\n1,2\n2,nan\n3,1e39\n")
csv_seed("duplicate-names", 0x04, "a", "a,b,a\n1,2,3\n")
csv_seed("empty-names", 0x04, "1", ",,\n1,2,3\n4,5,6\n")
csv_seed("many-classes", 0x05, "c",
         "x,c\n" + "".join("%d,k%d\n" % (i, i % 40) for i in range(60)))

# ---- fuzz_model: a whole model file ---------------------------------------
def safetensors(meta, tensors):
    """tensors: list of (name, shape, list of floats); F32, in order."""
    header = {}
    if meta is not None:
        header["__metadata__"] = meta
    data = b""
    for name, shape, values in tensors:
        b = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def layers(*specs):
    return json.dumps([{"units": u, "activation": a, "bias": b} for u, a, b in specs],
                      separators=(",", ":"))


def base_meta(inputs, specs, loss):
    return {"format": "soma", "soma.format_version": "1",
            "soma.inputs": str(inputs), "soma.layers": layers(*specs),
            "soma.loss": loss}


here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "data", "models", "v1-full.safetensors"), "rb") as f:
    write("fuzz_model", "v1-full", f.read())
write("fuzz_model", "perceptron", safetensors(
    base_meta(3, [(1, "sigmoid", False)], "sse"),
    [("layers.0.weight", [1, 3], [9.67, -0.208, -4.63])]))
m = base_meta(2, [(3, "relu", True), (1, "linear", True)], "mse")
m["soma.features"] = '["a","b"]'
m["target"] = "y"
m["soma.future_field"] = "ignored"
write("fuzz_model", "regression-std-checkpoint", safetensors(m, [
    ("layers.0.weight", [3, 2], [0.5, -1, 2, 0.25, -0.5, 1]),
    ("layers.0.bias", [3], [0, 0.1, -0.1]),
    ("layers.1.weight", [1, 3], [1, -1, 0.5]),
    ("layers.1.bias", [1], [0.5]),
    ("standardize.mean", [2], [1, 2]),
    ("standardize.std", [2], [0.5, 4]),
    ("train.adam.m", [2], [0, 0]),
]))
m = base_meta(1, [(2, "softmax", True)], "ce")
m["soma.classes"] = '["no","yes"]'
write("fuzz_model", "binary-softmax-reordered", safetensors(m, [
    ("layers.0.bias", [2], [0, 0]),
    ("layers.0.weight", [2, 1], [1, -1]),
]))
m = base_meta(2, [(2, "tanh", False), (2, "leaky_relu", False), (1, "sigmoid", False)], "bce")
write("fuzz_model", "bce-three-layers", safetensors(m, [
    ("layers.0.weight", [2, 2], [1, 2, 3, 4]),
    ("layers.1.weight", [2, 2], [1, 0, 0, 1]),
    ("layers.2.weight", [1, 2], [0.5, 0.5]),
]))
write("fuzz_model", "no-metadata", safetensors(None, [("x", [0], [])]))
write("fuzz_model", "bad-version", safetensors(
    dict(base_meta(1, [(1, "linear", True)], "mse"), **{"soma.format_version": "2"}),
    [("layers.0.weight", [1, 1], [1]), ("layers.0.bias", [1], [0])]))
write("fuzz_model", "short", b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")


def raw_header(name, text):
    h = text.encode()
    write("fuzz_model", name, struct.pack("<Q", len(h)) + h)


raw_header("header-array", "[]")
raw_header("metadata-not-object", '{"__metadata__":[1]}')
raw_header("shape-nine-dims", '{"t":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],'
           '"data_offsets":[0,4]}}')
raw_header("shape-overflow", '{"t":{"dtype":"F32","shape":[4294967296,4294967296,'
           '4294967296],"data_offsets":[0,4]}}')
raw_header("dtype-f16", '{"t":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}')


# The field mode of fuzz_model: "#field", a key byte, the key's value in a
# file the target builds (0 soma.layers, 1 soma.classes, 2 soma.features,
# 3 soma.inputs, 4 soma.loss, 5 soma.format_version, 6 format, 7 target).
def field_seed(name, key, text):
    write("fuzz_model", "field-" + name, b"#field" + bytes([key]) + text.encode())


field_seed("layers", 0, '[{"units":2,"activation":"softmax","bias":true}]')
field_seed("layers-wrong", 0, '[{"units":2,"activation":"softmax","bias":1,"x":0},[]]')
field_seed("classes", 1, '["a","b\\u00e9"]')
field_seed("classes-wrong", 1, '["a",2]')
field_seed("features", 2, '["x","y"]')
field_seed("inputs", 3, "02")
field_seed("loss", 4, "mse")
field_seed("version", 5, "1")
field_seed("format", 6, "soma")
field_seed("target", 7, "t\n")


# Checkpoints (model files with training state) come from the soma program
# itself, when it is built: build/soma train --checkpoint.
def checkpoint_seed(name, *args):
    soma = os.path.join(here, "..", "..", "build", "soma")
    if not os.access(soma, os.X_OK):
        print("no build/soma: checkpoint seed", name, "not written", file=sys.stderr)
        return
    soma = os.path.abspath(soma)
    with tempfile.TemporaryDirectory() as d:
        # relative names: the file records them, and they must not vary
        with open(os.path.join(d, "d.csv"), "w") as f:
            f.write("a,b,y\n1,2,x\n2,1,y\n3,3,x\n0,1,y\n2,2,x\n1,0,y\n")
        subprocess.run([soma, "train", "d.csv", "--target", "y", "-o", "m",
                        "--checkpoint", "c", "-q", "--threads", "1", "--layers", "3"]
                       + list(args), check=True, cwd=d)
        with open(os.path.join(d, "c"), "rb") as f:
            write("fuzz_model", name, f.read())


checkpoint_seed("checkpoint-adam", "--epochs", "2", "--batch-size", "4")
checkpoint_seed("checkpoint-sgd-early", "--epochs", "3", "--optimizer", "sgd",
                "--val-split", "0.34", "--early-stopping", "1", "--lr-schedule", "step")

# ---- fuzz_idx: flags, [class list], [u16 labels length, labels], images ---
# flags: 1 labels file, 2 gzip the images, 4 gzip the labels, 8 class list,
# 16 also sniff
def idx(dims, body):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(body)


def idx_seed(name, flags, images, labels=None, classes=None):
    out = bytes([flags])
    if flags & 8:
        out += bytes([len(classes) - 1]) + b"".join(bytes([v, s]) for v, s in classes)
    if flags & 1:
        out += struct.pack("<H", len(labels)) + labels
    write("fuzz_idx", name, out + images)


img3 = idx([3, 2, 2], [0, 255, 128, 1, 2, 3, 4, 5, 250, 251, 252, 253])
lab3 = idx([3], [7, 0, 7])
idx_seed("images-only", 0x10, img3)
idx_seed("images-labels", 0x01, img3, lab3)
idx_seed("gzip-both", 0x07, img3, lab3)
idx_seed("class-list", 0x09, idx([2, 3], [1, 2, 3, 4, 5, 6]), idx([2], [1, 2]),
         classes=[(2, 0), (1, 1), (9, 3)])
idx_seed("raw-gzip", 0x00, gzip.compress(img3, mtime=0))
idx_seed("int16-type", 0x00, bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]))
idx_seed("count-mismatch", 0x01, img3, idx([2], [1, 2]))
idx_seed("truncated", 0x00, idx([9, 28, 28], [1, 2, 3]))

# ---- fuzz_cli: arguments, one per line ------------------------------------
def cli_seed(name, *args):
    write("fuzz_cli", name, "\n".join(args))


cli_seed("train", "train", "d", "--target", "y", "-o", "out", "--epochs", "3", "-q")
cli_seed("train-all-options", "train", "d", "-t", "3", "--output-file=out",
         "--layers", "4,3", "--activation", "tanh", "--output", "softmax",
         "--loss", "ce", "--optimizer", "sgd", "--lr", "0.5", "--momentum", "0.5",
         "--batch-size", "2", "--epochs", "2", "--weight-decay", "0.01",
         "--seed", "7", "--no-bias", "--init", "glorot", "--no-standardize",
         "--ignore", "a", "--val-split", "0.25", "--quiet")
cli_seed("train-regression", "train", "r", "--target", "y", "-o", "out",
         "--layers", "none", "--optimizer", "gd", "--batch-size", "0",
         "--epochs", "5", "--init-from", "n")
cli_seed("train-sigmoid", "train", "b", "--target", "y", "-o", "out",
         "--output", "sigmoid", "--loss", "bce", "--epochs", "2")
cli_seed("predict", "predict", "m", "d")
cli_seed("eval", "eval", "m", "d", "--target", "y")
cli_seed("info", "info", "m")
cli_seed("demo", "demo", "--iterations", "10", "--seed", "3")
cli_seed("help", "train", "--help")
cli_seed("usage-errors", "train", "d", "--epochs", "x", "--", "-o")
cli_seed("top-level", "--version")
cli_seed("train-run-control", "train", "d", "--target", "y", "-o", "out", "--val", "d",
         "--early-stopping", "1", "--lr-schedule", "cosine", "--log", "lg",
         "--checkpoint", "ck", "--checkpoint-every", "1", "--epochs", "3", "--threads", "2")
cli_seed("train-resume", "train", "d", "--target", "y", "-o", "out", "--resume", "c")
cli_seed("train-idx", "train", "i", "--labels", "l", "-o", "out", "--epochs", "2",
         "--layers", "3", "--val-split", "0.3")
cli_seed("predict-idx", "predict", "m", "i")
cli_seed("eval-idx", "eval", "m", "i", "--labels", "l")
cli_seed("plot", "plot", "g", "-o", "out.svg", "--title", "t", "--log-loss")
cli_seed("info-checkpoint", "info", "c")

print("seeds written under", ROOT, file=sys.stderr)
