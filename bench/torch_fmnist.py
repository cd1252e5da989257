#!/usr/bin/python3
"""torch_fmnist.py - the PyTorch side of soma's Fashion-MNIST benchmark.

The same workload as bench/soma_fmnist.c: 784-128-10 (Linear, ReLU, Linear;
softmax folded into nn.CrossEntropyLoss, mean over the batch), weights
U(-sqrt(6/fan_in), +sqrt(6/fan_in)) (He uniform, soma's SOMA_INIT_HE), zero
biases, torch.optim.SGD(lr=0.1), shuffled batches of 64 drawn by a fresh
permutation each epoch (no DataLoader), the last batch smaller, pixels / 255.

    OPENBLAS_NUM_THREADS=T /usr/bin/python3 bench/torch_fmnist.py --threads T
        [--layers 128] [--batch 64] [--epochs 5] [--lr 0.1] [--samples N]
        [--warmup W] [--predict]

Debian's python3-torch sends matrix products to OpenBLAS; its thread count
comes from OPENBLAS_NUM_THREADS, read when the library loads, so this script
sets it (and OMP_NUM_THREADS) from --threads before importing torch unless
the environment already has them.

Prints key=value lines like soma_fmnist: config, epoch, summary, and with
--predict, predict lines (single-sample latency and batched throughput).
"""
import argparse
import gzip
import os
import statistics
import struct
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--layers", default="128")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--samples", type=int, default=0,
                   help="train slices of N examples and extrapolate the epoch")
    p.add_argument("--predict", action="store_true",
                   help="also time single-sample and batched predict")
    p.add_argument("--warmup", type=int, default=0,
                   help="untimed epochs (or slices) first")
    p.add_argument("--max-seconds", type=float, default=0.0,
                   help="stop after the epoch that passes this much training")
    p.add_argument("--data", default=DATA)
    return p.parse_args()


args = parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
# torch's own OpenMP workers spin after each parallel region by default;
# on a 2-core machine they then fight OpenBLAS's threads for the cores and
# an epoch at 2 threads takes 50 s instead of 1 s. Passive waiting is the
# documented cure and what a user on a small machine would set.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 8:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims[0], -1) if ndim > 1 else arr


def load(prefix):
    x = read_idx(os.path.join(args.data, prefix + "-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(args.data, prefix + "-labels-idx1-ubyte.gz"))
    return (torch.from_numpy(x.astype(np.float32) / 255.0),
            torch.from_numpy(y.astype(np.int64)))


def build(widths):
    layers, fan_in = [], 784
    for w in widths + [10]:
        lin = torch.nn.Linear(fan_in, w)
        bound = (6.0 / fan_in) ** 0.5
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound)
            lin.bias.zero_()
        layers += [lin, torch.nn.ReLU()]
        fan_in = w
    return torch.nn.Sequential(*layers[:-1])


def accuracy(model, x, y):
    with torch.no_grad():
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out, y).item()
        return loss, (out.argmax(1) == y).double().mean().item()


def main():
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    load_s = time.perf_counter() - t0
    widths = [int(w) for w in args.layers.split(",")]
    model = build(widths)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    lossf = torch.nn.CrossEntropyLoss()
    n, B = xtr.shape[0], args.batch
    arch = "-".join(str(w) for w in [784] + widths + [10])
    flop, fan_in = 0.0, 784
    for i, w in enumerate(widths + [10]):
        flop += 2.0 * fan_in * w * (3 if i > 0 else 2) * n
        fan_in = w
    per = args.samples if 0 < args.samples < n else n
    print(f"config lib=torch torch={torch.__version__} threads={args.threads} "
          f"torch_threads={torch.get_num_threads()} "
          f"openblas_threads={os.environ['OPENBLAS_NUM_THREADS']} "
          f"omp_wait_policy={os.environ['OMP_WAIT_POLICY']} "
          f"layers={arch} batch={B} optimizer=sgd lr={args.lr} "
          f"epochs={args.epochs} samples={per} load_s={load_s:.3f} "
          f"gflop_per_epoch={flop * 1e-9:.3f}", flush=True)

    times, acc1, acc, trained = [], -1.0, -1.0, 0.0
    perm, pos = None, n
    for e in range(-args.warmup, args.epochs):
        t0 = time.perf_counter()
        done, total = 0, 0.0
        while done < per:
            if pos >= n:
                perm, pos = torch.randperm(n), 0
            idx = perm[pos:pos + B]
            pos += B
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
            done += idx.shape[0]
            total += loss.item() * idx.shape[0]
            if per == n and pos >= n:
                break
        s = time.perf_counter() - t0
        if e < 0:
            print(f"warmup lib=torch seconds={s:.4f} samples={done}", flush=True)
            continue
        times.append(s * n / done)
        tl, acc = accuracy(model, xte, yte)
        if e == 0:
            acc1 = acc
        trained += s
        print(f"epoch lib=torch n={e + 1} seconds={s:.4f} epoch_seconds={s * n / done:.4f} "
              f"samples={done} train_loss={total / done:.4f} test_loss={tl:.4f} "
              f"test_acc={acc:.4f}", flush=True)
        if args.max_seconds > 0 and trained > args.max_seconds:
            break
    med = statistics.median(times)
    print(f"summary lib=torch threads={args.threads} layers={arch} batch={B} "
          f"epochs={len(times)} extrapolated={int(per < n)} "
          f"median_epoch_s={med:.4f} min_epoch_s={min(times):.4f} "
          f"gflops={flop / med * 1e-9:.2f} acc_1={acc1:.4f} acc_last={acc:.4f}",
          flush=True)

    if args.predict:
        model.eval()
        with torch.no_grad():
            x1 = xte[:1].clone()
            for _ in range(200):
                model(x1)
            lat = []
            for r in range(2000):
                t0 = time.perf_counter()
                model(xte[r % 10000:r % 10000 + 1])
                lat.append(time.perf_counter() - t0)
            model(xte)
            thr = []
            for _ in range(7):
                t0 = time.perf_counter()
                model(xte)
                thr.append(xte.shape[0] / (time.perf_counter() - t0))
        print(f"predict lib=torch threads={args.threads} "
              f"single_us={statistics.median(lat) * 1e6:.2f} "
              f"batch_images_per_s={statistics.median(thr):.0f}", flush=True)


main()
