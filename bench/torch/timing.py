"""What the bench/torch scripts share: the thread count they run on, their
command line, and how a case is timed, so every baseline is measured the
same way (best of the repeats after one warm-up call, as the C benches take
their best).

    from timing import best_ms, parse_args
"""
import argparse
import os
import time

import torch

# As many threads as embcl's CPU device has cores (bench/compare says why).
torch.set_num_threads(int(os.environ.get("EMBCL_BENCH_THREADS", os.cpu_count())))


def best_ms(fn, reps, setup=None):
    """Best wall time of fn() in ms over reps calls, after a warm-up call.
    setup(), when given, runs untimed before each call (FBGEMM's backward
    needs a fresh forward)."""
    if setup:
        setup()
    fn()
    best = float("inf")
    for _ in range(reps):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def parse_args():
    """--filter NAME (benches whose name contains it), --only A,B (exactly
    these), --quick (smaller cases). Returns (args, sel): sel(name) says
    whether the bench `name` runs."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--filter", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=None, help="comma-separated bench names: run only these")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None

    def sel(name):
        return (not args.filter or args.filter in name) and (only is None or name in only)

    return args, sel
