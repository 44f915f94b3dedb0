"""PyTorch side of bench/bench_embedding.c: the same cases, the same indices
(splitmix64 of the position; uniform mod V, or the inverse CDF of Zipf(1.05)
over V), one JSON line per case with "torch_ms".

    python3 bench/torch/embedding.py [--filter NAME] [--only A,B] [--quick]

bag_fwd: F.embedding_bag(mode="sum", or "mean" where the case says so).
bag_fwd_multi: 8 tables, one F.embedding_bag call each (table t's indices
are positions t*B*L on of the same draw). bag_bwd_sparse: the backward of a
sparse=True bag (PyTorch returns an uncoalesced COO gradient, a row per
index; embcl a coalesced one, a row per distinct index, ids ascending).
bag_bwd_sparse_coalesced: the same backward followed by .coalesce(), which
gives what embcl's backward gives (PyTorch's sparse optimizers coalesce
before they update). bag_bwd_dense*: the backward into a fresh dense gradient
(PyTorch allocates and zeroes it; embcl's timing zeroes its own). Best of the
repeats, after a warm-up. Cases ending ",dtype=bf16": bag_fwd on a
torch.bfloat16 weight (PyTorch's output is bf16, embcl's f32); where this
PyTorch has no CPU bf16 embedding_bag (1.13) torch_ms is null and
torch_note says why.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

from timing import best_ms, parse_args


def splitmix64(x):
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def draw(V, n, zipf, start=0):
    z = splitmix64(np.arange(start, start + n, dtype=np.uint64))
    if not zipf:
        return (z % np.uint64(V)).astype(np.int64)
    cdf = np.cumsum(1.0 / np.power(np.arange(1, V + 1, dtype=np.float64), 1.05))
    cdf = cdf / cdf[-1]
    u = (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return np.minimum(np.searchsorted(cdf, u, side="right"), V - 1).astype(np.int64)


def main():
    args, sel = parse_args()
    V = 100000 if args.quick else 1000000
    reps = 3 if args.quick else 10
    cases = [(V, 128, 4096, 20, False, False), (V, 128, 4096, 20, True, False), (V, 16, 4096, 20, False, False),
             (V, 64, 4096, 20, False, False), (V, 256, 4096, 20, False, False), (V, 128, 4096, 20, False, True),
             (V, 32, 4096, 20, False, False)]
    bf16_cases = [(V, 128, 4096, 20, False), (V, 64, 4096, 20, False), (V, 128, 4096, 20, True),
                  (V, 16, 4096, 20, False), (V, 32, 4096, 20, False)]

    for V_, D, B, L, zipf, mean in cases:
        mode = "mean" if mean else "sum"
        case = f"V={V_},D={D},B={B},L={L},dist={'zipf' if zipf else 'uniform'}" + (",mode=mean" if mean else "")
        if not any(sel(b) for b in ("bag_fwd", "bag_bwd_sparse", "bag_bwd_sparse_coalesced", "bag_bwd_dense",
                                    "bag_bwd_dense_atomic")):
            continue
        n = B * L
        idx = torch.from_numpy(draw(V_, n, zipf))
        offs = torch.arange(0, n, L, dtype=torch.int64)
        w = torch.rand(V_, D) - 0.5
        g = torch.full((B, D), 0.01)
        if sel("bag_fwd"):
            with torch.no_grad():
                ms = best_ms(lambda: F.embedding_bag(idx, w, offs, mode=mode), reps)
            print(json.dumps({"bench": "bag_fwd", "case": case, "torch_ms": round(ms, 4)}), flush=True)
        for name, sparse, coalesce in (("bag_bwd_sparse", True, False), ("bag_bwd_sparse_coalesced", True, True),
                                       ("bag_bwd_dense", False, False), ("bag_bwd_dense_atomic", False, False)):
            if not sel(name):
                continue
            p = w.clone().requires_grad_(True)
            out = F.embedding_bag(idx, p, offs, mode=mode, sparse=sparse)

            def step():
                p.grad = None
                out.backward(g, retain_graph=True)
                if coalesce:
                    p.grad = p.grad.coalesce()

            ms = best_ms(step, reps if sparse else max(2, (reps + 1) // 2))
            print(json.dumps({"bench": name, "case": case, "torch_ms": round(ms, 4)}), flush=True)
    for V_, D, B, L, zipf in bf16_cases if sel("bag_fwd") else []:
        case = f"V={V_},D={D},B={B},L={L},dist={'zipf' if zipf else 'uniform'},dtype=bf16"
        n = B * L
        idx = torch.from_numpy(draw(V_, n, zipf))
        offs = torch.arange(0, n, L, dtype=torch.int64)
        w = (torch.rand(V_, D) - 0.5).to(torch.bfloat16)
        row = {"bench": "bag_fwd", "case": case}
        try:
            with torch.no_grad():
                row["torch_ms"] = round(best_ms(lambda: F.embedding_bag(idx, w, offs, mode="sum"), reps), 4)
        except RuntimeError as e:  # 1.13's CPU embedding_bag takes half, float and double only
            row["torch_ms"] = None
            row["torch_note"] = f"torch {torch.__version__}: {str(e).splitlines()[0][:300]}"
        print(json.dumps(row), flush=True)
    if sel("bag_fwd_multi"):
        T, V_, D, B, L = 8, 20000 if args.quick else 100000, 64, 4096, 20
        n = B * L
        idxs = [torch.from_numpy(draw(V_, n, False, t * n)) for t in range(T)]
        offs = torch.arange(0, n, L, dtype=torch.int64)
        ws = [torch.rand(V_, D) - 0.5 for _ in range(T)]

        def multi():
            return [F.embedding_bag(i, w, offs, mode="sum") for i, w in zip(idxs, ws)]

        with torch.no_grad():
            ms = best_ms(multi, reps)
        print(json.dumps({"bench": "bag_fwd_multi", "case": f"T={T},V={V_},D={D},B={B},L={L},dist=uniform",
                          "torch_ms": round(ms, 4)}), flush=True)


if __name__ == "__main__":
    main()
