#!/usr/bin/env python3
"""Side-by-side timing of this crate and PyTorch CPU, in one run, same machine,
same thread count (1 by default), forward + backward, median of repeats.

Usage (from the repository root; needs torch and torchvision, never CI):
    /tmp/ref/bin/python scripts/bench_vs_pytorch.py [--reps 20] [--rounds 3] [--dtype f32] [--sweep | --shapes 220752x19,4x19x55188]

`--sweep` replaces the five shapes with a sweep of the class count (every C
from 2 to 64, then a log grid to 4096; `(2^22 / C, C)` and `(4, C, 2^20 / C)`,
as `bench_json ... sweep` builds them) and adds, per layout and loss, the
largest drop in logits/s from one C to the next larger one. `--shapes` times
the given shapes instead (dimensions joined by `x`, shapes by `,`): a few
class counts over more rounds than a whole sweep can afford.

It builds and runs `cargo run --release --example bench_json`, which times
the crate (gradient into a reused buffer) and a plain memory copy of the same
bytes (logits read + gradient written), then times PyTorch on inputs of the
same shapes and prints one table: times, crate/PyTorch speed-up, and the
crate's effective bandwidth as a fraction of the copy's.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F
import torchvision

SHAPES = [(65536, 4), (65536, 10), (16384, 100), (4096, 1000), (8, 19, 128, 128)]
SWEEP_C = list(range(2, 65)) + [80, 100, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096]
SWEEP = [s for c in SWEEP_C for s in ((2**22 // c, c), (4, c, 2**20 // c))]


def median_time(fn, reps):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def torch_times(shape, reps, dtype):
    g = torch.Generator().manual_seed(0)
    c = shape[1]
    x0 = torch.rand(shape, generator=g, dtype=dtype) * 4 - 2
    t = torch.randint(0, c, (shape[0],) + tuple(shape[2:]), generator=g)
    yb = (torch.randint(0, c, shape, generator=g) == 0).to(dtype)
    alpha = torch.tensor([0.25 + (k % 4) * 0.25 for k in range(c)], dtype=dtype)
    lp0 = F.log_softmax(x0, 1)
    x = x0.clone().requires_grad_()
    lp = lp0.clone().requires_grad_()

    def ce():
        x.grad = None
        F.cross_entropy(x, t).backward()

    def nll():
        lp.grad = None
        F.nll_loss(lp, t).backward()

    def focal(gamma):
        def run():
            x.grad = None
            logp = F.log_softmax(x, 1)
            logp_t = logp.gather(1, t.unsqueeze(1)).squeeze(1)
            p_t = logp_t.exp()
            loss = -(alpha[t] * (1 - p_t) ** gamma * logp_t).mean()
            loss.backward()
        return run

    def sfl():
        x.grad = None
        torchvision.ops.sigmoid_focal_loss(x, yb, alpha=0.25, gamma=2.0, reduction="mean").backward()

    return {
        "ce": median_time(ce, reps),
        "nll": median_time(nll, reps),
        "focal_g2": median_time(focal(2.0), reps),
        "focal_g0.5": median_time(focal(0.5), reps),
        "sigmoid_focal": median_time(sfl, reps),
    }


def crate_times(reps, dtype, env, which):
    extra = [which] if which else []
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "--example", "bench_json", "--", str(reps), dtype]
        + extra,
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    ours = {}
    for line in out.splitlines():
        d = json.loads(line)
        ours[(d["loss"], tuple(d["shape"]))] = d["seconds"]
    return ours


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate crate and PyTorch this many times; report medians over rounds")
    ap.add_argument("--dtype", default="f32", choices=["f32", "f64"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sweep", action="store_true", help="sweep the class count (see above)")
    ap.add_argument("--shapes", help="these shapes only, e.g. 220752x19,4x19x55188")
    args = ap.parse_args()
    if args.shapes:
        shapes = [tuple(int(d) for d in s.split("x")) for s in args.shapes.split(",")]
        which = args.shapes
    else:
        shapes = SWEEP if args.sweep else SHAPES
        which = "sweep" if args.sweep else None
    torch.set_num_threads(args.threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    dtype = torch.float32 if args.dtype == "f32" else torch.float64
    # The machine is shared and its speed drifts: alternating the two sides
    # round by round keeps drift from favouring either.
    ours_r, theirs_r = [], []
    for _ in range(args.rounds):
        ours_r.append(crate_times(args.reps, args.dtype, env, which))
        theirs_r.append({shape: torch_times(shape, args.reps, dtype) for shape in shapes})
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.threads} thread(s), {args.dtype}, median of {args.reps} per round, "
          f"median of {args.rounds} rounds; torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}")
    print("| loss | shape | PyTorch ms | focal-loss ms | speed-up | per-round speed-ups | bandwidth vs copy |")
    print("|---|---|---:|---:|---:|---|---:|")
    for shape in shapes:
        copy = statistics.median(o[("memcpy", shape)] for o in ours_r)
        for loss in theirs_r[0][shape]:
            t_pt = statistics.median(t[shape][loss] for t in theirs_r)
            t_us = statistics.median(o[(loss, shape)] for o in ours_r)
            per = sorted(t[shape][loss] / o[(loss, shape)] for t, o in zip(theirs_r, ours_r))
            print(f"| {loss} | {shape} | {t_pt * 1e3:.3f} | {t_us * 1e3:.3f} | "
                  f"{t_pt / t_us:.1f}x | {per[0]:.1f}–{per[-1]:.1f}x | {copy / t_us:.0%} |", flush=True)

    if args.sweep:
        # Logits/s per layout and loss along C; the largest drop between
        # neighbours (the goal: never more than 1.5x).
        print("| layout | loss | min logits/s (M) at C | largest drop C -> C' |")
        print("|---|---|---|---|")
        for layout in (2, 3):
            for loss in theirs_r[0][shapes[0]]:
                rate = {}
                for shape in shapes:
                    if len(shape) == layout:
                        n = 1
                        for d in shape:
                            n *= d
                        rate[shape[1]] = n / statistics.median(o[(loss, shape)] for o in ours_r) / 1e6
                cs = sorted(rate)
                lo = min(cs, key=rate.get)
                drop = max(zip(cs, cs[1:]), key=lambda ab: rate[ab[0]] / rate[ab[1]])
                print(f"| {'(N, C)' if layout == 2 else '(4, C, M)'} | {loss} | {rate[lo]:.0f} at {lo} | "
                      f"{rate[drop[0]] / rate[drop[1]]:.2f}x at {drop[0]} -> {drop[1]} |")


if __name__ == "__main__":
    main()
