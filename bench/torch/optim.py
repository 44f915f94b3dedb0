"""PyTorch side of bench/bench_optim.c: the same cases, "torch_ms" per line.

Usage: optim.py [--filter NAME] [--only A,B] [--quick]. sparse_update_*: the update from
a coalesced gradient (row-wise Adagrad has no torch counterpart: torch_ms
null). sparse_step_*: EmbeddingBag's sparse backward + the step; PyTorch
has no fused path, so its fused=0 and fused=1 lines carry the same time,
and row-wise Adagrad (absent from PyTorch) is measured against SparseAdam's
step, the yardstick of the issue.
"""
import json

import numpy as np
import torch

from timing import best_ms, parse_args


def picks(n, v, zipf, rng):
    if not zipf:
        return rng.integers(0, v, n)
    w = np.arange(1, v + 1, dtype=np.float64) ** -1.05
    cdf = np.cumsum(w)
    lo = np.searchsorted(cdf, rng.random(n) * cdf[-1])
    return (lo.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(v)


def main():
    a, sel = parse_args()
    reps = 3 if a.quick else 10
    out = []
    v, d = (100000, 128) if a.quick else (1000000, 128)
    if sel("dense_adam"):
        rows = 8192 if a.quick else v
        p = torch.full((rows, d), 0.5, requires_grad=True)
        p.grad = torch.full((rows, d), 0.01)
        opt = torch.optim.Adam([p])
        out.append(dict(bench="dense_adam", case=f"V={rows},D={d}", torch_ms=best_ms(opt.step, reps)))
        del p, opt
    occ = 8192 if a.quick else 81920
    for name, cls in (("sparse_update_sparseadam", torch.optim.SparseAdam), ("sparse_update_rowwise_adagrad", None),
                      ("sparse_update_adagrad", torch.optim.Adagrad)):
        if not sel(name):
            continue
        for zipf in (0, 1):
            case = f"V={v},D={d},occ={occ},dist={'zipf1.05' if zipf else 'uniform'}"
            if cls is None:
                out.append(dict(bench=name, case=case, torch_ms=None, torch_note="PyTorch has no row-wise Adagrad"))
                continue
            rng = np.random.default_rng(1)
            ids = torch.from_numpy(picks(occ, v, zipf, rng).astype(np.int64))
            vals = torch.from_numpy(rng.uniform(-0.01, 0.01, (occ, d)).astype(np.float32))
            p = torch.full((v, d), 0.5, requires_grad=True)
            p.grad = torch.sparse_coo_tensor(ids[None, :], vals, (v, d)).coalesce()
            opt = cls([p])
            out.append(dict(bench=name, case=case, torch_ms=best_ms(opt.step, reps)))
    bags, length = (512, 20) if a.quick else (4096, 20)
    for name, cls in (("sparse_step_sparseadam", torch.optim.SparseAdam),
                      ("sparse_step_rowwise_adagrad", torch.optim.SparseAdam),
                      ("sparse_step_adagrad", torch.optim.Adagrad)):
        if not sel(name):
            continue
        for zipf in (0, 1):
            case = f"V={v},D={d},B={bags},L={length},dist={'zipf1.05' if zipf else 'uniform'}"
            rng = np.random.default_rng(2)
            idx = torch.from_numpy(picks(bags * length, v, zipf, rng).astype(np.int64))
            bag_of = torch.arange(bags * length) // length
            gout = torch.from_numpy(rng.uniform(-0.01, 0.01, (bags, d)).astype(np.float32))
            p = torch.full((v, d), 0.5, requires_grad=True)
            opt = cls([p])

            def step():
                # what embedding_bag(sum, sparse=True)'s backward hands the optimizer, then the update
                p.grad = torch.sparse_coo_tensor(idx[None, :], gout.index_select(0, bag_of), (v, d))
                opt.step()
            ms = best_ms(step, reps)
            for fused in (0, 1):
                out.append(dict(bench=name, case=f"{case},fused={fused}", torch_ms=ms))
    for r in out:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
