#!/usr/bin/env python3
"""A soma model file read back by Python alone.

`$BUILD/tests/test_model --write-fixture DIR` writes DIR/model.safetensors
(every activation, standardisation, classes, features, user metadata),
DIR/inputs.bin (float32 LE [n, d]) and DIR/outputs.bin (soma_predict's
outputs, float32 LE [n, k]). This script parses the file from the
specification in docs/model-format.md with struct, json and numpy, checks
the layout and metadata, runs the forward pass in float64 and compares with
soma's outputs to 1e-5. Where the safetensors package (and PyTorch) are
installed, it also loads the file with them and compares.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

BUILD = os.environ.get("BUILD", "build")
failures = 0


def report(name, ok, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name)
    if not ok:
        failures += 1
        if detail:
            print("  " + str(detail))


def parse(path):
    """Returns (header_length, metadata, {name: float32 array}, raw header)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    raw = data[8:8 + n]
    header = json.loads(raw.decode("utf-8"))
    meta = header.pop("__metadata__")
    buf = data[8 + n:]
    tensors = {}
    spans = []
    for name, info in header.items():
        assert info["dtype"] == "F32", name
        begin, end = info["data_offsets"]
        spans.append((begin, end))
        arr = np.frombuffer(buf[begin:end], dtype="<f4")
        tensors[name] = arr.reshape(info["shape"])
    return n, meta, tensors, raw, spans, len(buf)


def act(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "linear":
        return z
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def forward(meta, tensors, x):
    a = x.astype(np.float64)
    if "standardize.mean" in tensors:
        a = (a - tensors["standardize.mean"].astype(np.float64)) / \
            tensors["standardize.std"].astype(np.float64)
    for i, layer in enumerate(json.loads(meta["soma.layers"])):
        w = tensors["layers.%d.weight" % i].astype(np.float64)
        a = a @ w.T
        if layer["bias"]:
            a = a + tensors["layers.%d.bias" % i].astype(np.float64)
        a = act(layer["activation"], a)
    return a


def main():
    exe = os.path.join(BUILD, "tests", "test_model")
    if not os.access(exe, os.X_OK):
        report("fixture", False, exe + " is missing: build it first")
        return
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([exe, "--write-fixture", d], capture_output=True,
                           text=True)
        report("fixture", r.returncode == 0, r.stderr.strip())
        if r.returncode != 0:
            return
        path = os.path.join(d, "model.safetensors")
        n, meta, tensors, raw, spans, buf_size = parse(path)
        x = np.fromfile(os.path.join(d, "inputs.bin"), dtype="<f4")
        out = np.fromfile(os.path.join(d, "outputs.bin"), dtype="<f4")
        d_in = int(meta["soma.inputs"])
        x = x.reshape(-1, d_in)
        out = out.reshape(x.shape[0], -1)

        report("layout",
               (8 + n) % 8 == 0 and raw.rstrip(b" ").endswith(b"}")
               and raw.startswith(b'{"__metadata__":')
               and sorted(spans)[0][0] == 0
               and all(a[1] == b[0] for a, b in zip(sorted(spans),
                                                    sorted(spans)[1:]))
               and sorted(spans)[-1][1] == buf_size,
               "header %d bytes, spans %s, buffer %d" % (n, spans, buf_size))

        layers = json.loads(meta["soma.layers"])
        acts = [l["activation"] for l in layers]
        report("metadata",
               meta.get("format") == "soma"
               and meta.get("soma.format_version") == "1"
               and d_in == 4
               and acts == ["sigmoid", "tanh", "relu", "leaky_relu", "linear",
                            "softmax"]
               and meta.get("soma.loss") == "ce"
               and json.loads(meta["soma.classes"]) == ["setosa", "versicolor",
                                                        "virginica"]
               and json.loads(meta["soma.features"])[0] == "sepal_length"
               and meta.get("target") == "species"
               and all(isinstance(v, str) for v in meta.values()),
               meta)

        names_ok = True
        fan_in = d_in
        for i, l in enumerate(layers):
            names_ok &= tensors["layers.%d.weight" % i].shape == (l["units"],
                                                                  fan_in)
            names_ok &= (("layers.%d.bias" % i) in tensors) == l["bias"]
            if l["bias"]:
                names_ok &= tensors["layers.%d.bias" % i].shape == (l["units"],)
            fan_in = l["units"]
        names_ok &= tensors["standardize.mean"].shape == (d_in,)
        names_ok &= tensors["standardize.std"].shape == (d_in,)
        report("tensor shapes (nn.Linear layout)", names_ok,
               {k: v.shape for k, v in tensors.items()})

        ref = forward(meta, tensors, x)
        err = float(np.max(np.abs(ref - out)))
        report("numpy forward matches soma_predict", err <= 1e-5,
               "max abs difference %g" % err)

        try:
            import safetensors.numpy as stn
            from safetensors import safe_open
        except ImportError:
            print("skip: the safetensors package is not installed")
            return
        loaded = stn.load_file(path)
        same = set(loaded) == set(tensors) and all(
            np.array_equal(loaded[k], tensors[k]) for k in tensors)
        with safe_open(path, framework="numpy") as f:
            same = same and f.metadata() == meta
        report("safetensors.numpy reads the same tensors and metadata", same)

        try:
            import torch
            from safetensors.torch import load_file
        except ImportError:
            print("skip: PyTorch is not installed")
            return
        sd = load_file(path)
        mods = torch.nn.ModuleList()
        fan_in = d_in
        for l in layers:
            mods.append(torch.nn.Linear(fan_in, l["units"], bias=l["bias"]))
            fan_in = l["units"]
        model = torch.nn.Module()
        model.layers = mods
        missing = model.load_state_dict(
            {k: v for k, v in sd.items() if k.startswith("layers.")},
            strict=True)
        model = model.double()
        fns = {"sigmoid": torch.sigmoid, "tanh": torch.tanh,
               "relu": torch.relu,
               "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
               "linear": lambda z: z,
               "softmax": lambda z: torch.softmax(z, dim=1)}
        with torch.no_grad():
            a = (torch.from_numpy(x).double() - sd["standardize.mean"].double()) \
                / sd["standardize.std"].double()
            for lin, l in zip(model.layers, layers):
                a = fns[l["activation"]](lin(a))
        err = float(np.max(np.abs(a.numpy() - out)))
        report("PyTorch nn.Linear stack matches soma_predict",
               err <= 1e-5 and not missing.missing_keys,
               "max abs difference %g" % err)


main()
print("%d failed" % failures if failures else "all passed")
sys.exit(1 if failures else 0)
