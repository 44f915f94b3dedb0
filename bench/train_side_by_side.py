#!/usr/bin/env python3
"""`embcl train` side by side with the same model in PyTorch.

    /usr/bin/python3 bench/train_side_by_side.py [--build DIR] [--steps N] [--keep DIR]

1. build/bench/bench_graph --side-by-side DIR --steps N runs the `embcl train`
   model (default sizes, built-in dataset, deterministic mode) and writes its
   checkpoint at step 0 (DIR/init.safetensors), every step's inputs
   (DIR/batches.i64) and the sizes (DIR/shapes.json), then trains N steps,
   printing the losses and the step time.
2. This script loads that checkpoint with safetensors.torch.load_file into
   bench/torch/graph.py's TrainModel by PyTorch's parameter names
   (load_state_dict(strict=True): a missing or extra name, or a wrong shape,
   fails), trains N steps on the same inputs with the same step (losses
   summed, one backward, total gradient norm clipped, Adam on the dense
   parameters, row-wise Adagrad on the table written in torch: PyTorch has
   none built in), and compares the losses step by step.

Prints one JSON line a step and a summary line: "max_rel_diff" over every
step's LM and classifier loss, "ok" (all within --tol, 1e-3 relative), the
tokens/s of both (median step after the first 3, which build kernels) and
their ratio. Exit status 1 when the losses disagree.

Both run on the same cores: embcl's PoCL CPU device on all the cores it sees,
PyTorch on EMBCL_BENCH_THREADS threads (default: every core).

Needs PyTorch and the safetensors package, which Debian does not ship:
    /usr/bin/python3 -m pip install --target /tmp/pylib safetensors
    PYTHONPATH=/tmp/pylib /usr/bin/python3 bench/train_side_by_side.py
Without either, the script says so and exits 0 (skipped).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def skip(why):
    print(json.dumps({"bench": "train_side_by_side", "skipped": why}))
    sys.exit(0)


try:
    import numpy as np
    import torch
except ImportError as e:
    skip(f"PyTorch/numpy not importable ({e})")
try:
    from safetensors.torch import load_file
except ImportError:
    skip("the safetensors package is missing: /usr/bin/python3 -m pip install --target /tmp/pylib safetensors, "
         "then run with PYTHONPATH=/tmp/pylib")

sys.path.insert(0, os.path.join(HERE, "torch"))
from graph import RowWiseAdagrad, TrainModel, make_trainer, median  # noqa: E402


def run_embcl(prog, out_dir, steps):
    res = subprocess.run([prog, "--side-by-side", out_dir, "--steps", str(steps)], check=True,
                         stdout=subprocess.PIPE, text=True)
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    losses = [r for r in rows if "step" in r]
    timing = [r for r in rows if r.get("bench") == "train_side_by_side"][0]
    return losses, timing


def load_model(path, s):
    """The checkpoint's parameters into TrainModel by name; the optimizer's
    tensors ("optimizer.*") are embcl's and stay out."""
    tensors = load_file(path)
    model = TrainModel(s["V"], s["D"], s["W"], s["H"], s["C"], s["layers"])
    params = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    model.load_state_dict(params, strict=True)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--keep", default=None, help="write the files here and keep them")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("EMBCL_BENCH_THREADS", os.cpu_count())))
    prog = os.path.join(args.build, "bench", "bench_graph")
    if not os.access(prog, os.X_OK):
        sys.exit(f"train_side_by_side: {prog} not found (build first)")
    out_dir = args.keep or tempfile.mkdtemp(prefix="embcl_sbs_")
    os.makedirs(out_dir, exist_ok=True)
    try:
        ref, timing = run_embcl(prog, out_dir, args.steps)
        with open(os.path.join(out_dir, "shapes.json")) as f:
            s = json.load(f)
        if s["optimizer"] != "Adam" or s["table_optimizer"] != "RowWiseAdagrad":
            sys.exit(f"train_side_by_side: expected Adam + RowWiseAdagrad, got {s['optimizer']} + "
                     f"{s['table_optimizer']}")
        model = load_model(os.path.join(out_dir, "init.safetensors"), s)
        per = 2 * s["B"] * s["T"] + s["CB"] * s["L"] + s["CB"]
        batches = np.fromfile(os.path.join(out_dir, "batches.i64"), dtype="<i8").reshape(s["steps"], per)
    finally:
        if not args.keep:
            shutil.rmtree(out_dir, ignore_errors=True)
    step = make_trainer(model, s["lr"], s["table_lr"], s["clip"])
    BT, CBL = s["B"] * s["T"], s["CB"] * s["L"]
    worst, times = 0.0, []
    for k in range(s["steps"]):
        b = torch.from_numpy(batches[k].copy())
        tok = b[:BT].view(s["B"], s["T"])
        tgt = b[BT:2 * BT].view(s["B"], s["T"])
        bags = b[2 * BT:2 * BT + CBL].view(s["CB"], s["L"])
        labels = b[2 * BT + CBL:]
        t0 = time.perf_counter()
        lm, cls, norm = step(tok, tgt, bags, labels)
        times.append((time.perf_counter() - t0) * 1e3)
        e = ref[k]
        rel = max(abs(lm - e["lm_loss"]) / abs(e["lm_loss"]), abs(cls - e["cls_loss"]) / abs(e["cls_loss"]))
        worst = max(worst, rel)
        print(json.dumps({"step": k, "embcl_lm": e["lm_loss"], "torch_lm": round(lm, 7), "embcl_cls": e["cls_loss"],
                          "torch_cls": round(cls, 7), "embcl_norm": e["grad_norm"], "torch_norm": round(norm, 7),
                          "rel_diff": float(f"{rel:.3g}")}), flush=True)
    skip_n = 3 if s["steps"] > 8 else 0
    torch_ms = median(times[skip_n:])
    tps = BT * 1e3 / torch_ms
    ok = worst <= args.tol
    print(json.dumps({"bench": "train_side_by_side", "steps": s["steps"], "max_rel_diff": float(f"{worst:.3g}"),
                      "tol": args.tol, "ok": ok, "embcl_ms": timing["embcl_ms"], "torch_ms": round(torch_ms, 3),
                      "embcl_tokens_per_s": timing["tokens_per_s"], "torch_tokens_per_s": round(tps),
                      "speedup": round(torch_ms / timing["embcl_ms"], 3),
                      "torch_threads": torch.get_num_threads()}), flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
