#!/usr/bin/env python3
"""A model saved by `soma train`, read back with numpy alone, gives the same
outputs as `soma predict` to 1e-5.

The safetensors file is parsed here from its specification (8-byte length,
JSON header, little-endian F32 data), not with soma's code, and the forward
pass is done in float64. Also loads the file with the safetensors package
and PyTorch where they are installed.
"""
import csv
import io
import json
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


def soma_predict(model, data):
    out = subprocess.run([SOMA, "predict", model, data], check=True,
                         capture_output=True, text=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return rows[0], rows[1:]


def check_model(tag, train_args, data):
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.safetensors")
        subprocess.run([SOMA, "train", data, "-o", model, "--quiet"] + train_args,
                       check=True)
        meta, tensors = read_safetensors(model)
        report(tag + "_metadata", meta.get("format") == "soma"
               and meta.get("soma.format_version") == "1", str(meta))
        features = json.loads(meta["soma.features"])
        with open(data) as f:
            rows = list(csv.DictReader(f))
        x = np.array([[float(r[c]) for c in features] for r in rows])
        ref = forward(meta, tensors, x)
        header, pred = soma_predict(model, data)
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
        err = float(np.max(np.abs(got - ref)))
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
            if t.shape[1] == 1 and got.shape[1] == 2:
                t = np.hstack([1 - t, t])
            terr = float(np.max(np.abs(got - t)))
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
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
