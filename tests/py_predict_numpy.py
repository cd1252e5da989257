#!/usr/bin/env python3
"""A model saved by `soma train`, read back with numpy alone, gives the same
outputs as `soma predict` to 1e-5 (relative to the value, for regression
outputs in the target's units).

The preprocessing is applied from the model's "soma.preprocess" metadata
alone (docs/model-format.md), written here from the specification: raw rows
with missing values, decimal commas and categories never seen in training
go in, as they go into `soma predict`.

The safetensors file is parsed here from its specification (8-byte length,
JSON header, little-endian F32 data), not with soma's code, and the forward
pass is done in float64. Also loads the file with the safetensors package
and PyTorch where they are installed.
"""
import csv
import io
import json
import re
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

BUILD = os.environ.get("BUILD", "build")
SOMA = os.path.join(BUILD, "soma")
failures = 0


def report(name, ok, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name)
    if not ok:
        failures += 1
        print("  " + detail)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    buf = data[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        b, e = info["data_offsets"]
        tensors[name] = np.frombuffer(buf[b:e], dtype="<f4").reshape(info["shape"])
    return meta, tensors


ACTS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "linear": lambda z: z,
    "softmax": lambda z: np.exp(z - z.max(1, keepdims=True))
    / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True),
}


def forward(meta, tensors, x):
    a = x.astype(np.float64)
    if "standardize.mean" in tensors:
        a = (a - tensors["standardize.mean"]) / tensors["standardize.std"]
    for i, layer in enumerate(json.loads(meta["soma.layers"])):
        z = a @ tensors["layers.%d.weight" % i].astype(np.float64).T
        if layer["bias"]:
            z = z + tensors["layers.%d.bias" % i]
        a = ACTS[layer["activation"]](z)
    return a


# docs/model-format.md, "soma.preprocess": the missing-value tokens every
# table knows
NA_TOKENS = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "?", "n/a", "<NA>",
             "#N/A", "#NA", "None", "-NaN", "-nan", "#N/A N/A", "-1.#IND",
             "-1.#QNAN", "1.#IND", "1.#QNAN"}
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def cell_number(text, decimal):
    """The number a cell holds, or None for text."""
    t = text.replace(",", ".") if decimal == "," else text
    if "," in t or not NUMBER.match(t):
        return None
    v = float(t)
    if not np.isfinite(np.float32(v)):
        return None
    return float(np.float32(v))


def shortest(v):
    """A number's name as a category: a whole number's digits (below 1e15),
    else the shortest %g that reads back."""
    if v == int(v) and abs(v) < 1e15:
        return "%.0f" % (0.0 if v == 0 else v)
    for p in range(1, 10):
        s = "%.*g" % (p, v)
        if np.float32(float(s)) == np.float32(v):
            return s
    return "%.9g" % v


def read_rows(path, prep):
    sep = prep["sep"]
    with open(path, newline="") as f:
        if sep == " ":
            rows = [line.split() for line in f if line.strip()]
        else:
            rows = [r for r in csv.reader(f, delimiter=sep) if r]
    header = [h.strip() for h in rows[0]]
    return [dict(zip(header, (c.strip() for c in r))) for r in rows[1:]]


def encode(prep, rows):
    """Raw rows to the model's inputs, from soma.preprocess alone."""
    na = NA_TOKENS | set(prep["na_values"])
    out = []
    for r in rows:
        x = []
        for col in prep["columns"]:
            text = r[col["name"]] if col["role"] in ("numeric", "categorical") else None
            if col["role"] == "numeric":
                x.append(col["fill"] if text in na else cell_number(text, prep["decimal"]))
            elif col["role"] == "categorical":
                cats = col["categories"]
                one = [0.0] * (len(cats) + (1 if col["missing_category"] else 0))
                if text in na:
                    if col["missing_category"]:
                        one[-1] = 1.0
                else:
                    v = cell_number(text, prep["decimal"])
                    name = shortest(v) if v is not None else text
                    if name in cats:
                        one[cats.index(name)] = 1.0
                x.extend(one)
        out.append(x)
    return np.array(out, dtype=np.float64)


def soma_predict(model, data):
    out = subprocess.run([SOMA, "predict", model, data], check=True,
                         capture_output=True, text=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return rows[0], rows[1:]


def check_model(tag, train_args, data, predict_data=None):
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.safetensors")
        subprocess.run([SOMA, "train", data, "-o", model, "--quiet"] + train_args,
                       check=True)
        meta, tensors = read_safetensors(model)
        report(tag + "_metadata", meta.get("format") == "soma"
               and meta.get("soma.format_version") == "2", str(meta))
        features = json.loads(meta["soma.features"])
        prep = json.loads(meta["soma.preprocess"])
        report(tag + "_preprocess_version_1", prep["version"] == 1)
        x = encode(prep, read_rows(predict_data or data, prep))
        ref = forward(meta, tensors, x)
        if "target_mean" in prep:
            ref = ref * np.array(prep["target_std"]) + np.array(prep["target_mean"])
        header, pred = soma_predict(model, predict_data or data)
        if "soma.classes" in meta:
            classes = json.loads(meta["soma.classes"])
            got = np.array([[float(v) for v in r[1:]] for r in pred])
            if ref.shape[1] == 1:
                ref = np.hstack([1 - ref, ref])
            labels_ok = all(r[0] == classes[int(np.argmax(p))]
                            for r, p in zip(pred, ref))
            report(tag + "_labels_match", labels_ok)
        else:
            got = np.array([[float(v) for v in r] for r in pred])
        err = float(np.max(np.abs(got - ref) / np.maximum(1.0, np.abs(ref))))
        report(tag + "_numpy_matches_soma_predict_to_1e-5", err <= 1e-5,
               "max difference %g" % err)

        try:
            from safetensors.numpy import load_file
            st = load_file(model)
            same = all(np.array_equal(st[k], tensors[k]) for k in tensors)
            report(tag + "_safetensors_package_reads_it", same)
        except ImportError:
            print("  (safetensors package not installed: skipped)")
        try:
            import torch
        except ImportError:
            torch = None
            print("  (python3-torch not installed: skipped)")
        if torch is not None:
            # the tensor names are a state_dict of a ModuleList of nn.Linear
            layers = json.loads(meta["soma.layers"])
            sizes = [len(features)] + [l["units"] for l in layers]
            net = torch.nn.Module()
            net.layers = torch.nn.ModuleList(
                torch.nn.Linear(sizes[i], sizes[i + 1], bias=layers[i]["bias"])
                for i in range(len(layers)))
            state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items()
                     if k.startswith("layers.")}
            net.load_state_dict(state, strict=True)
            a = torch.from_numpy(x).float()
            if "standardize.mean" in tensors:
                a = (a - torch.from_numpy(tensors["standardize.mean"].copy())) / \
                    torch.from_numpy(tensors["standardize.std"].copy())
            tact = {"sigmoid": torch.sigmoid, "tanh": torch.tanh,
                    "relu": torch.relu, "linear": lambda z: z,
                    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
                    "softmax": lambda z: torch.softmax(z, 1)}
            with torch.no_grad():
                for layer, lin in zip(layers, net.layers):
                    a = tact[layer["activation"]](lin(a))
            t = a.double().numpy()
            if "target_mean" in prep:
                t = t * np.array(prep["target_std"]) + np.array(prep["target_mean"])
            if t.shape[1] == 1 and got.shape[1] == 2:
                t = np.hstack([1 - t, t])
            terr = float(np.max(np.abs(got - t) / np.maximum(1.0, np.abs(t))))
            report(tag + "_torch_nn_linear_matches_to_1e-5", terr <= 1e-5,
                   "max difference %g" % terr)


def main():
    check_model("iris_softmax", ["--target", "species", "--layers", "16,8",
                                 "--activation", "tanh", "--epochs", "30"],
                "tests/data/iris.csv")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "bin.csv")
        rng = np.random.RandomState(0)
        x = rng.randn(50, 3)
        y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
        with open(data, "w") as f:
            f.write("a,b,c,label\n")
            for r, t in zip(x, y):
                f.write("%.5f,%.5f,%.5f,%d\n" % (r[0], r[1], r[2], t))
        check_model("binary_sigmoid", ["--target", "label", "--layers", "8",
                                       "--activation", "leaky_relu", "--epochs", "20"], data)
        data2 = os.path.join(tmp, "reg.csv")
        with open(data2, "w") as f:
            f.write("a,b,c,value\n")
            for r in x:
                f.write("%.5f,%.5f,%.5f,%.5f\n" % (r[0], r[1], r[2], 3 * r[0] - r[1] + 0.5))
        check_model("regression_linear", ["--target", "value", "--layers", "6",
                                          "--activation", "sigmoid", "--epochs", "20"], data2)
        # a messy table: semicolons, decimal commas, missing values of
        # several spellings, text columns, an identifier; predicted on
        # rows with missing values and categories never seen in training
        messy = os.path.join(tmp, "messy.csv")
        messy_test = os.path.join(tmp, "messy_test.csv")
        colours = ["red", "green", "blue"]
        def messy_rows(n, seed, unseen):
            r = np.random.RandomState(seed)
            out = []
            for i in range(n):
                size = r.uniform(1, 10)
                colour = colours[r.randint(3)] if not (unseen and i % 5 == 0) else "purple"
                grade = str(r.randint(1, 4))
                price = 1000 * size + 800 * colours.index(colour if colour in colours else "red") \
                    + 100000 + r.randn() * 50
                cells = ["id-%d" % i, ("%.2f" % size).replace(".", ","), colour, grade,
                         ("%.1f" % price).replace(".", ","), "yes" if size > 5 else "no"]
                if i % 7 == 3:
                    cells[1] = ["NA", "", "?"][i % 3]
                if i % 11 == 4:
                    cells[2] = "NULL"
                out.append(";".join(cells))
            return out
        for path, n, seed, unseen in ((messy, 200, 1, False), (messy_test, 60, 2, True)):
            with open(path, "w") as f:
                f.write("code;size;colour;grade;price;big\n" + "\n".join(messy_rows(n, seed, unseen)) + "\n")
        check_model("messy_regression", ["--target", "price", "--categorical", "grade",
                                         "--layers", "8", "--epochs", "30"], messy, messy_test)
        check_model("messy_classes", ["--target", "big", "--ignore", "price",
                                      "--layers", "8", "--epochs", "30"], messy, messy_test)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
