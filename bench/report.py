#!/usr/bin/python3
"""report.py - turns the raw lines of bench/run.sh into markdown tables.

    /usr/bin/python3 bench/report.py build/bench/raw.txt > results.md

A raw line is: PHASE [rep=R] load=L KIND key=value ... (see run.sh). Every
figure in a table is the median over the repetitions of the run's own
median; the per-repetition values follow, with the load average each run
started under, so the noise is visible.
"""
import shlex
import statistics
import sys

# Reference figures quoted by the issue, not measured here.
ISSUE = {
    "torch_single_us": 60.0,
    "tinn_single_us": 13.0,
    "tinn_batch1_epoch_s": 1.57,
    "torch_batch_images_per_s": "370,000-500,000",
    "fann_epoch_s": 7.8,
}
TRAIN_SET_MB = 60000 * 784 * 4 / 1e6  # float32 size of the training images


def parse(path):
    """One dict per line; an epoch line inherits threads, layers and batch
    from the config line of its run, which comes just before it."""
    rows, config = [], {}
    with open(path) as f:
        for line in f:
            toks = shlex.split(line)
            if not toks:
                continue
            rec = {"phase": toks[0], "kind": None}
            for tok in toks[1:]:
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    rec[k] = v
                elif rec["kind"] is None:
                    rec["kind"] = tok
            if rec["kind"] == "config":
                config = rec
            elif rec["kind"] == "epoch":
                for k in ("threads", "layers", "batch"):
                    if k not in rec and k in config:
                        rec[k] = config[k]
            rows.append(rec)
    return rows


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec=".3f", none="n/a"):
    return none if v is None else format(v, spec)


def select(rows, **want):
    out = []
    for r in rows:
        if all(r.get(k) == v for k, v in want.items()):
            out.append(r)
    return out


def main():
    rows = parse(sys.argv[1])
    meta = {}
    for r in select(rows, phase="meta"):
        meta.update({k: v for k, v in r.items() if k not in ("phase", "kind")})
    out = []
    w = out.append

    # ---- machine and peak ----------------------------------------------------
    peak = {}
    for r in select(rows, phase="gemm", kind="peak"):
        peak[(r["isa"], r["threads"])] = num(r["gflops"])
    info = select(rows, phase="gemm", kind="info")
    w("## Machine\n")
    w(f"- {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores, kernel "
      f"{meta.get('kernel', '?')}; {meta.get('cc', '?')}; torch "
      f"{meta.get('torch', '?')}; OpenBLAS core "
      f"{info[0].get('openblas_core', '?') if info else '?'}")
    w(f"- run {meta.get('date', '?')}, quick={meta.get('quick', '?')}, "
      f"{meta.get('reps', '?')} repetition(s), {meta.get('seconds', '?')} s in all")
    w(f"- load average (1, 5, 15 min) at the start {meta.get('loadavg_start', '?')}, "
      f"at the end {meta.get('loadavg_end', '?')}; scheduler autogroups "
      f"{meta.get('autogroup', '?')}")
    w("- FMA peak, measured (register-only FMA chains, GFLOP/s): "
      + ", ".join(f"{isa} {t} thread(s) {fmt(v, '.1f')}"
                  for (isa, t), v in sorted(peak.items())))
    kern = info[0].get("soma_kernel", "?") if info else "?"
    w("  Each thread's operations over its own CPU time, so the figure does not"
      " depend on the load. Fractions of peak are given of the AVX2 peak (the"
      " issue's \"plain FMA loop\", about 98 GFLOP/s per core there) and, where"
      " shown, of the AVX-512 peak at the same thread count. soma's kernel on"
      f" this CPU: {kern}; OpenBLAS 0.3.21 runs its Haswell (AVX2) kernels"
      " here.\n")

    # ---- the workload ---------------------------------------------------------
    main_runs = [r for r in rows if r["phase"] == "main"]
    summ = {}
    for r in main_runs:
        if r["kind"] == "summary":
            summ.setdefault((r["lib"], r["threads"]), []).append(r)
    pred = {}
    for r in rows:
        if r["kind"] == "predict":
            pred.setdefault((r["lib"], r["threads"]), []).append(r)
    fann = select(rows, phase="fann", kind="summary")
    gflop = None
    for r in main_runs:
        if r["kind"] == "config" and r.get("gflop_per_epoch"):
            gflop = num(r["gflop_per_epoch"])

    def epoch_s(lib, t):
        return med(num(r["median_epoch_s"]) for r in summ.get((lib, t), []))

    def acc(lib, t, key):
        return med(num(r[key]) for r in summ.get((lib, t), []))

    def pr(lib, t, key):
        return med(num(r.get(key)) for r in pred.get((lib, t), []))

    cols = [("soma", "1"), ("soma", "2"), ("torch", "1"), ("torch", "2")]
    w("## The workload: 784-128-10, ReLU, softmax + cross-entropy, SGD lr 0.1, "
      "batch 64, shuffled\n")
    w(f"One epoch = {fmt(gflop, '.2f')} GFLOP (forward, weight gradients, hidden "
      "layer's input gradient). Seconds per epoch are the median over the "
      "epochs of a run (data loading and test evaluation excluded), then the "
      "median over the repetitions.\n")
    w("| | soma 1 thread | soma 2 threads | PyTorch 1 thread | PyTorch 2 threads "
      "| FANN (1 thread) | issue's figures |")
    w("|---|---|---|---|---|---|---|")
    fann_s = med(num(r["median_epoch_s"]) for r in fann)
    fann_acc1 = med(num(r["acc_1"]) for r in fann)
    fann_last = med(num(r["acc_last"]) for r in fann)
    fann_eps = fann[0]["epochs"] if fann else "?"
    fann_extra = fann and fann[0].get("extrapolated") == "1"
    cells = [fmt(epoch_s(*c)) for c in cols]
    w(f"| seconds per epoch | {' | '.join(cells)} | "
      f"{fmt(fann_s, '.2f')}{' (extrapolated)' if fann_extra else ''} | "
      f"FANN {ISSUE['fann_epoch_s']}, tinn (batch 1) {ISSUE['tinn_batch1_epoch_s']} |")
    cells = []
    for lib, t in cols:
        s = epoch_s(lib, t)
        p = peak.get(("avx2", t))
        p5 = peak.get(("avx512", t))
        g = gflop / s if s and gflop else None
        cells.append(f"{fmt(g, '.1f')} ({fmt(g / p if g and p else None, '.0%')}"
                     f" / {fmt(g / p5 if g and p5 else None, '.0%')})")
    w(f"| GFLOP/s (of AVX2 / AVX-512 peak) | {' | '.join(cells)} | | |")
    cells = [fmt(acc(*c, 'acc_1'), '.4f') for c in cols]
    w(f"| test accuracy, 1 epoch | {' | '.join(cells)} | {fmt(fann_acc1, '.4f')} | |")
    eps = meta.get("epochs", "5")
    cells = [fmt(acc(*c, 'acc_last'), '.4f') for c in cols]
    w(f"| test accuracy, {eps} epochs | {' | '.join(cells)} | "
      f"{fmt(fann_last, '.4f')} (after {fann_eps} epoch(s)) | |")
    cells = [fmt(pr(*c, 'single_us'), '.2f') for c in cols]
    fann_pred = pred.get(("fann", "1"), [])
    fp = med(num(r["single_us"]) for r in fann_pred)
    fb = med(num(r["batch_images_per_s"]) for r in fann_pred)
    w(f"| predict, 1 image (us) | {' | '.join(cells)} | {fmt(fp, '.2f')} | "
      f"PyTorch ~{ISSUE['torch_single_us']:.0f}, tinn {ISSUE['tinn_single_us']:.0f} |")
    cells = [fmt(pr(*c, 'single_prepared_us'), '.2f') for c in cols]
    w(f"| predict, 1 image, after soma_net_prepare (us) | {' | '.join(cells)} | | |")
    cells = [fmt(pr(*c, 'batch_images_per_s'), ',.0f') for c in cols]
    w(f"| predict, 10,000 images (images/s) | {' | '.join(cells)} | "
      f"{fmt(fb, ',.0f')} | PyTorch {ISSUE['torch_batch_images_per_s']} |")
    w("")

    # ratios and targets
    t_best = [x for x in (epoch_s("torch", "1"), epoch_s("torch", "2")) if x]
    torch_best = min(t_best) if t_best else None
    s2, s1 = epoch_s("soma", "2"), epoch_s("soma", "1")
    w("### Ratios and targets\n")
    w("| target | measured | met? |")
    w("|---|---|---|")

    def verdict(ok):
        return "n/a" if ok is None else ("yes" if ok else "**no**")

    r2 = s2 / torch_best if s2 and torch_best else None
    w(f"| epoch at 2 threads <= 0.4 x PyTorch's best ({fmt(torch_best)} s) | "
      f"{fmt(s2)} s = {fmt(r2, '.2f')} x | {verdict(r2 is not None and r2 <= 0.4)} |")
    r1 = s1 / torch_best if s1 and torch_best else None
    w(f"| (for reference: soma at 1 thread vs PyTorch's best) | {fmt(r1, '.2f')} x | |")
    p2 = peak.get(("avx2", "2"))
    p52 = peak.get(("avx512", "2"))
    frac = gflop / s2 / p2 if s2 and p2 and gflop else None
    frac5 = gflop / s2 / p52 if s2 and p52 and gflop else None
    w(f"| aim: 60% of the FMA peak at 2 threads (AVX2 {fmt(p2, '.0f')} GFLOP/s, "
      f"the issue's definition) | {fmt(frac, '.0%')} (of the AVX-512 peak, "
      f"{fmt(p52, '.0f')} GFLOP/s: {fmt(frac5, '.0%')}) | "
      f"{verdict(frac is not None and frac >= 0.6)} |")
    b1 = [r for r in select(rows, phase="sweep=batch", kind="summary")
          if r["lib"] == "soma" and r["batch"] == "1"]
    b1s = {t: med(num(r["median_epoch_s"]) for r in b1 if r["threads"] == t)
           for t in ("1", "2")}
    b1best = min([v for v in b1s.values() if v] or [None]) if b1 else None
    limit = ISSUE["tinn_batch1_epoch_s"] / 2
    w(f"| batch 1: epoch <= {limit:.3f} s (half of tinn's 1.57) | "
      f"{fmt(b1s.get('1'))} s (1 thread), {fmt(b1s.get('2'))} s (2 threads), "
      f"extrapolated | {verdict(b1best is not None and b1best <= limit)} |")
    sp = pr("soma", "1", "single_prepared_us")
    sp2 = pr("soma", "2", "single_prepared_us")
    su = pr("soma", "1", "single_us")
    su2 = pr("soma", "2", "single_us")
    w(f"| predict 1 image <= 5 us (prepared net; as it comes: {fmt(su, '.2f')} "
      f"and {fmt(su2, '.2f')} us) | {fmt(sp, '.2f')} us (1 thread), "
      f"{fmt(sp2, '.2f')} us (2 threads) | "
      f"{verdict(sp is not None and sp <= 5)} at 1 thread, "
      f"{verdict(sp2 is not None and sp2 <= 5)} at 2 |")
    bt = max([v for v in (pr("soma", "1", "batch_images_per_s"),
                          pr("soma", "2", "batch_images_per_s")) if v] or [None]) \
        if pred else None
    w(f"| predict >= 600,000 images/s | {fmt(bt, ',.0f')} (best of 1 and 2 threads) | "
      f"{verdict(bt is not None and bt >= 600000)} |")
    rss = [num(r["max_rss_kb"]) for r in rows if r["kind"] == "time_v"]
    rss_mb = rss[0] * 1024 / 1e6 if rss and rss[0] else None
    lim = 1.5 * TRAIN_SET_MB + 64
    w(f"| peak RSS <= 1.5 x {TRAIN_SET_MB:.0f} MB + 64 MB = {lim:.0f} MB | "
      f"{fmt(rss_mb, '.0f')} MB (whole process: both data sets, loading included) | "
      f"{verdict(rss_mb is not None and rss_mb <= lim)} |")
    for t in ("1", "2"):
        a, b = acc("soma", t, "acc_last"), acc("torch", t, "acc_last")
        d = abs(a - b) * 100 if a is not None and b is not None else None
        w(f"| accuracy after {eps} epochs within 1 point of PyTorch ({t} thread(s), "
          f"seed 1) | soma {fmt(a, '.4f')}, PyTorch {fmt(b, '.4f')}: "
          f"{fmt(d, '.2f')} points | {verdict(d is not None and d <= 1.0)} |")
    # the same over every seed run: seed 1 from repetition 1 at 1 thread
    per_seed = {"soma": {}, "torch": {}}
    for r in rows:
        if r["kind"] != "summary" or r.get("lib") not in per_seed:
            continue
        if r["phase"] == "seeds":
            per_seed[r["lib"]][r["seed"]] = num(r["acc_last"])
        elif r["phase"] == "main" and r.get("rep") == "1" and r["threads"] == "1":
            per_seed[r["lib"]]["1"] = num(r["acc_last"])
    if len(per_seed["soma"]) > 1 and len(per_seed["torch"]) > 1:
        ms = statistics.mean(per_seed["soma"].values())
        mt = statistics.mean(per_seed["torch"].values())
        d = abs(ms - mt) * 100
        w(f"| the same, mean over seeds {','.join(sorted(per_seed['soma']))} | "
          f"soma {ms:.4f} ({', '.join(f'{v:.4f}' for _, v in sorted(per_seed['soma'].items()))}), "
          f"PyTorch {mt:.4f} ({', '.join(f'{v:.4f}' for _, v in sorted(per_seed['torch'].items()))}): "
          f"{d:.2f} points | {verdict(d <= 1.0)} |")
    w("")

    w("### Learning curves: test accuracy after each epoch (repetition 1)\n")
    w("soma gives the same bits at every thread count; PyTorch's sums depend "
      "on OpenBLAS's thread count, so its two curves may part slightly.\n")
    curves = {}
    for r in main_runs:
        if r["kind"] == "epoch" and r.get("rep") == "1":
            curves.setdefault((r["lib"], r["threads"]), {})[r["n"]] = num(r["test_acc"])
    n_ep = sorted({n for c in curves.values() for n in c}, key=int)
    w("| epoch | " + " | ".join(f"{'PyTorch' if l == 'torch' else l} {t}"
                                for l, t in cols) + " |")
    w("|---|" + "---|" * len(cols))
    for n in n_ep:
        w(f"| {n} | " + " | ".join(fmt(curves.get(c, {}).get(n), '.4f')
                                   for c in cols) + " |")
    w("")

    w("### Every run (median epoch seconds; load average at its start)\n")
    w("| run | soma 1 | soma 2 | PyTorch 1 | PyTorch 2 |")
    w("|---|---|---|---|---|")
    reps = sorted({r.get("rep") for r in main_runs if r.get("rep")}, key=int)
    for rep in reps:
        cells = []
        for lib, t in cols:
            rr = [r for r in summ.get((lib, t), []) if r.get("rep") == rep]
            cells.append(" / ".join(f"{num(r['median_epoch_s']):.3f} (load {r['load']})"
                                    for r in rr) or "n/a")
        w(f"| rep {rep} | {' | '.join(cells)} |")
    w("")

    # ---- GEMM -----------------------------------------------------------------
    w("## SGEMM: soma vs OpenBLAS (median GFLOP/s, fraction of the AVX2 peak)\n")
    w(f"soma's kernel here: {kern} (a fraction above 100% is over the AVX2 "
      "peak: the AVX-512 kernel's ceiling is twice as high).\n")
    w("| (M,N,K) | op | soma 1 thread | OpenBLAS 1 thread | soma 2 threads | "
      "OpenBLAS 2 threads |")
    w("|---|---|---|---|---|---|")
    shapes = []
    for r in select(rows, phase="gemm", kind="gemm"):
        key = (r["M"], r["N"], r["K"], r["ta"], r["tb"], r["what"])
        if key not in shapes:
            shapes.append(key)
    for key in shapes:
        M, N, K, ta, tb, what = key
        cells = []
        for t in ("1", "2"):
            for lib in ("soma", "openblas"):
                rr = [r for r in select(rows, phase="gemm", kind="gemm", lib=lib,
                                         threads=t)
                      if (r["M"], r["N"], r["K"], r["ta"], r["tb"]) == key[:5]]
                g = med(num(r["median_gflops"]) for r in rr)
                f = med(num(r["frac_avx2"]) for r in rr)
                cells.append(f"{fmt(g, '.1f')} ({fmt(f, '.0%')})")
        op = ("A^T" if ta == "1" else "A") + "." + ("B^T" if tb == "1" else "B")
        label = f"({M},{N},{K})" + ("" if what.startswith("(") else f" {what}")
        w(f"| {label} | {op} | "
          f"{' | '.join(cells)} |")
    w("")

    # ---- sweeps ---------------------------------------------------------------
    for sweep, key, title in (("width", "layers", "hidden width (batch 64)"),
                              ("batch", "batch", "batch size (width 128)")):
        sr = select(rows, phase=f"sweep={sweep}", kind="summary")
        if not sr:
            continue
        w(f"## Seconds per epoch against {title}\n")
        w("Slices of an epoch after one untimed slice (see run.sh), extrapolated "
          "to 60,000 examples; "
          "median over the slices.\n")
        w("| " + sweep + " | soma 1 thread | soma 2 threads | PyTorch 1 thread | "
          "soma 2 threads GFLOP/s |")
        w("|---|---|---|---|---|")
        vals = []
        for r in sr:
            v = r[key]
            if v not in vals:
                vals.append(v)
        for v in vals:
            def one(lib, t):
                return med(num(r["median_epoch_s"]) for r in sr
                           if r["lib"] == lib and r["threads"] == t and r[key] == v)
            g = med(num(r.get("gflops")) for r in sr
                    if r["lib"] == "soma" and r["threads"] == "2" and r[key] == v)
            label = v.split("-")[1] if sweep == "width" else v
            w(f"| {label} | {fmt(one('soma', '1'))} | {fmt(one('soma', '2'))} | "
              f"{fmt(one('torch', '1'))} | {fmt(g, '.1f')} |")
        w("")

    # ---- memory ---------------------------------------------------------------
    w("## Memory\n")
    tr = select(rows, phase="rss", kind="summary")
    if tr:
        r = tr[0]
        w(f"- whole process, /usr/bin/time -v: {fmt(rss_mb, '.0f')} MB "
          f"(training set {TRAIN_SET_MB:.0f} MB + test set 31 MB as float32)")
        w(f"- after loading: {int(r['load_rss_kb']) // 1024} MiB; peak during "
          f"training (VmHWM reset after loading): "
          f"{int(r['train_rss_kb']) // 1024} MiB")
    print("\n".join(out))


main()
