"""Writes tests/data/optim/*.ref: optimizer trajectories from torch.optim.

Run by hand: /usr/bin/python3 tests/make_ref_optim.py (torch 1.13).

Parameters and gradients are not stored: both sides make them from the
integer hash in tests/optim/optim_case.h (uval below), whose values are
exact float32, so the files hold only what the optimizer produced: the
parameters after steps 1, 5 and 20 and the state after step 20.
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_format import RefWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "optim")
M = 0xFFFFFFFF
STEPS = 20
CHECK_STEPS = (1, 5, 20)


def h32(x):
    x &= M
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M
    x ^= x >> 15
    x = (x * 0x846CA68B) & M
    x ^= x >> 16
    return x


def hidx(seed, step, i):
    return h32((seed * 0x9E3779B1 + step * 0x85EBCA77 + i) & M)


def uval(seed, step, i):
    """A float32 in [-1, 1), exact: 24 hash bits scaled by 2^-23."""
    return np.float32((hidx(seed, step, i) >> 8) / float(1 << 23) - 1.0)


def init_param(seed, k, rows, cols):
    return np.array([uval(seed + 101 * k, 1000, i) for i in range(rows * cols)], dtype=np.float32).reshape(rows, cols)


def dense_grad(seed, k, step, rows, cols, scale):
    g = np.array([uval(seed + 101 * k, step, i) for i in range(rows * cols)], dtype=np.float32)
    return (g * np.float32(scale)).reshape(rows, cols)


def sparse_grad(seed, k, step, rows, cols, scale, empty_step=0):
    """(ids, values) with duplicates: 7 picks among 5 rows of a window that
    moves with the step, so rows go untouched for several steps and the last
    row never is; an empty gradient at empty_step (torch 1.13's sparse
    Adagrad fails on one, so that case has none)."""
    if step == empty_step:
        return np.zeros(0, dtype=np.int64), np.zeros((0, cols), dtype=np.float32)
    base = (step % 4) * 2
    ids = np.array([(hidx(seed + 101 * k, step, 5000 + j) % 5 + base) % (rows - 1) for j in range(7)], dtype=np.int64)
    vals = np.array([uval(seed + 101 * k, step, 10000 + i) for i in range(7 * cols)], dtype=np.float32)
    return ids, (vals * np.float32(scale)).reshape(7, cols)


def coalesce(ids, vals, rows):
    """PyTorch's coalesce: sorted unique ids, duplicates summed."""
    t = torch.sparse_coo_tensor(torch.from_numpy(ids)[None, :], torch.from_numpy(vals), (rows, vals.shape[1]))
    t = t.coalesce()
    return t.indices()[0].numpy(), t.values().numpy()


def make_torch(kind, groups):
    cls = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW,
           "Adagrad": torch.optim.Adagrad, "SparseAdam": torch.optim.SparseAdam}[kind]
    pg = []
    for params, hp in groups:
        d = {"params": params}
        if kind == "SGD":
            d.update(lr=hp["lr"], momentum=hp.get("momentum", 0.0), dampening=hp.get("dampening", 0.0),
                     nesterov=bool(hp.get("nesterov", 0)), weight_decay=hp.get("weight_decay", 0.0))
        elif kind in ("Adam", "AdamW"):
            d.update(lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"], weight_decay=hp["weight_decay"],
                     amsgrad=bool(hp.get("amsgrad", 0)), foreach=False)
        elif kind == "Adagrad":
            d.update(lr=hp["lr"], lr_decay=hp.get("lr_decay", 0.0), weight_decay=hp.get("weight_decay", 0.0),
                     initial_accumulator_value=hp.get("initial_accumulator_value", 0.0), eps=hp["eps"],
                     foreach=False)
        elif kind == "SparseAdam":
            d.update(lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])
        pg.append(d)
    if kind == "Adagrad":
        # torch 1.13 fills the sum from the constructor's argument, not the group's
        return cls(pg, initial_accumulator_value=groups[0][1].get("initial_accumulator_value", 0.0))
    return cls(pg)


STATE_KEYS = {"SGD": ["momentum_buffer"], "Adam": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
              "AdamW": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], "Adagrad": ["sum"],
              "SparseAdam": ["exp_avg", "exp_avg_sq"]}


def rowwise_run(c, params, grads_at):
    """FBGEMM's exact row-wise Adagrad in float32 numpy."""
    lr, eps, wd, mode = (np.float32(c[k]) for k in ("lr", "eps", "weight_decay", "wd_mode"))
    mode = int(mode)
    w = params[0]
    acc = np.zeros(w.shape[0], dtype=np.float32)
    snaps = {}
    for t in range(1, STEPS + 1):
        ids, g = grads_at(t, 0)
        for r, grow in zip(ids, g):
            gg = grow + wd * w[r] if mode == 1 else grow
            acc[r] = acc[r] + np.float32(np.sum(gg * gg, dtype=np.float32)) / np.float32(w.shape[1])
            k = lr / (np.sqrt(acc[r]) + eps)
            cf = np.float32(1) - k * wd if mode == 1 else (np.float32(1) - lr * wd if mode == 2 else np.float32(1))
            w[r] = cf * w[r] - k * grow
        if t in CHECK_STEPS:
            snaps[t] = [w.copy()]
    return snaps, [[acc]]


def run_case(w, name, kind, c, shapes):
    """shapes: list of (rows, cols, sparse, group) per parameter."""
    seed = c["seed"]
    scale = c.get("gscale", 1.0)
    skip = c.get("p1_skip_every", 0)
    params = [init_param(seed, k, r, cl) for k, (r, cl, _, _) in enumerate(shapes)]

    def grads_at(t, k):
        r, cl, sp, _ = shapes[k]
        if sp:
            ids, vals = sparse_grad(seed, k, t, r, cl, scale, c.get("empty_step", 0))
            return coalesce(ids, vals, r)
        return np.arange(r), dense_grad(seed, k, t, r, cl, scale)

    attrs = dict(c)
    attrs.update(opt=kind, n_params=len(shapes))
    for k, (r, cl, sp, g) in enumerate(shapes):
        attrs.update({f"p{k}_rows": r, f"p{k}_cols": cl, f"p{k}_sparse": int(sp), f"p{k}_group": g})
    w.case(name, **attrs)

    if kind == "RowWiseAdagrad":
        snaps, states = rowwise_run(c, [p.copy() for p in params], grads_at)
        for t in CHECK_STEPS:
            w.tensor(f"p0_step{t}", snaps[t][0])
        w.tensor("p0_momentum1", states[0][0])
        return

    tp = [torch.tensor(p, requires_grad=True) for p in params]
    hp1 = dict(c)
    for key in list(c):
        if key.startswith("g1_"):
            hp1[key[3:]] = c[key]
    ngroups = 1 + max(g for (_, _, _, g) in shapes)
    groups = [([tp[k] for k in range(len(shapes)) if shapes[k][3] == g], c if g == 0 else hp1)
              for g in range(ngroups)]
    opt = make_torch(kind, groups)
    for t in range(1, STEPS + 1):
        for k, (r, cl, sp, _) in enumerate(shapes):
            if k == 1 and skip and t % skip == 0:
                tp[k].grad = None
                continue
            if sp:
                ids, vals = sparse_grad(seed, k, t, r, cl, scale, c.get("empty_step", 0))
                tp[k].grad = torch.sparse_coo_tensor(torch.from_numpy(ids)[None, :], torch.from_numpy(vals), (r, cl))
            else:
                tp[k].grad = torch.from_numpy(dense_grad(seed, k, t, r, cl, scale))
        opt.step()
        if t in CHECK_STEPS:
            for k in range(len(shapes)):
                w.tensor(f"p{k}_step{t}", tp[k].detach())
    for k in range(len(shapes)):
        st = opt.state[tp[k]]
        if "step" in st:
            w.attr(f"p{k}_steps", int(st["step"]))
        for key in STATE_KEYS[kind]:
            if key in st and st[key] is not None:
                v = st[key]
                w.tensor(f"p{k}_{key}", v.to_dense() if v.is_sparse else v)


def trajectories():
    w = RefWriter(os.path.join(OUT, "steps.ref"),
                  "torch.optim trajectories (foreach=False), 20 steps; params/grads from optim_case.h's hash.\n"
                  "Row-wise Adagrad: FBGEMM's formula in float32 numpy (no torch counterpart).")
    adam = dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0)
    d1 = [(12, 8, False, 0)]
    odd = [(9, 5, False, 0)]
    sp = [(12, 8, True, 0)]
    two = [(12, 8, False, 0), (1, 7, False, 1)]
    run_case(w, "sgd_plain", "SGD", dict(seed=1, lr=0.1), d1)
    run_case(w, "sgd_momentum", "SGD", dict(seed=2, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), odd)
    run_case(w, "sgd_nesterov", "SGD", dict(seed=3, lr=0.05, momentum=0.8, nesterov=1, weight_decay=0.05), d1)
    run_case(w, "sgd_sparse", "SGD", dict(seed=4, lr=0.1, empty_step=7), sp)
    run_case(w, "adam_default", "Adam", dict(adam, seed=5), d1)
    run_case(w, "adam_wd_amsgrad", "Adam",
             dict(seed=6, lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1, amsgrad=1, gscale=0.25), odd)
    run_case(w, "adamw", "AdamW", dict(adam, seed=7, weight_decay=0.1), d1)
    run_case(w, "adamw_amsgrad", "AdamW",
             dict(seed=8, lr=1e-2, beta1=0.85, beta2=0.995, eps=1e-7, weight_decay=0.01, amsgrad=1), odd)
    run_case(w, "adam_groups", "Adam",
             dict(adam, seed=9, lr=1e-3, g1_lr=1e-2, g1_weight_decay=0.05, p1_skip_every=4), two)
    run_case(w, "adagrad", "Adagrad",
             dict(seed=10, lr=0.1, lr_decay=0.05, weight_decay=0.02, initial_accumulator_value=0.1, eps=1e-8), odd)
    run_case(w, "adagrad_default", "Adagrad", dict(seed=11, lr=1e-2, eps=1e-10), d1)
    run_case(w, "adagrad_sparse", "Adagrad",
             dict(seed=12, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.05, eps=1e-10), sp)
    run_case(w, "sparse_adam", "SparseAdam", dict(seed=13, lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-6), sp)
    run_case(w, "sparse_adam_default", "SparseAdam", dict(seed=14, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8), sp)
    for i, (mode, wd, sparse) in enumerate([(0, 0.0, True), (1, 0.01, True), (2, 0.05, True), (1, 0.02, False)]):
        run_case(w, f"rowwise_{['none', 'l2', 'decoupled'][mode]}_{'sparse' if sparse else 'dense'}",
                 "RowWiseAdagrad", dict(seed=20 + i, lr=0.1, eps=1e-8, weight_decay=wd, wd_mode=mode, empty_step=7 * sparse),
                 [(12, 8, sparse, 0)])
    # beta2 = 0.9999 makes 1 - beta2 lose 1.7e-4 when taken in float from
    # float(beta2): these cases carry their own tolerance (rtol/atol attrs),
    # 1e-5 relative, atol small enough not to wave exp_avg_sq (~1e-4) through
    tight = dict(rtol=1e-5, atol=1e-8)
    run_case(w, "adam_beta2_9999", "Adam",
             dict(tight, seed=30, lr=1e-2, beta1=0.95, beta2=0.9999, eps=1e-8, weight_decay=0.0), d1)
    run_case(w, "adamw_beta2_9999_amsgrad", "AdamW",
             dict(tight, seed=31, lr=1e-2, beta1=0.8, beta2=0.9999, eps=1e-8, weight_decay=0.05, amsgrad=1), odd)
    run_case(w, "sparse_adam_beta2_9999", "SparseAdam",
             dict(tight, seed=32, lr=1e-2, beta1=0.99, beta2=0.9999, eps=1e-8), sp)
    # SGD momentum on sparse gradients: the buffer keeps (and decays) every
    # row any step touched, so rows move on steps whose gradient lacks them,
    # also on an empty one (at step 1 for Nesterov: the buffer starts empty).
    # atol 2e-6: torch's buffer is an uncoalesced history whose entries go
    # into p one by one, and differs from torch's own dense run on the
    # zero-filled gradients by up to 9.5e-7 (parameters reach 2.8 here)
    loose = dict(rtol=1e-5, atol=2e-6)
    run_case(w, "sgd_sparse_momentum", "SGD",
             dict(loose, seed=33, lr=0.1, momentum=0.9, dampening=0.2, empty_step=7), sp)
    run_case(w, "sgd_sparse_nesterov", "SGD", dict(loose, seed=34, lr=0.05, momentum=0.8, nesterov=1, empty_step=1), sp)
    w.close()


def clipping():
    w = RefWriter(os.path.join(OUT, "clip.ref"),
                  "torch.nn.utils.clip_grad_norm_ over two dense gradients and one row-sparse (coalesced)\n"
                  "gradient, the sparse one as its dense equivalent; grads from optim_case.h's hash.")
    shapes = [(12, 8, False), (1, 7, False), (12, 8, True)]
    for i, (norm, max_norm, scale) in enumerate([(2.0, 1.0, 1.0), (1.0, 5.0, 1.0), (math.inf, 0.5, 1.0),
                                                   (3.0, 2.0, 1.0), (2.0, 100.0, 1.0)]):
        seed = 40 + i
        grads = []
        for k, (r, c, sp) in enumerate(shapes):
            if sp:
                ids, vals = coalesce(*sparse_grad(seed, k, 1, r, c, scale), r)
                d = np.zeros((r, c), dtype=np.float32)
                d[ids] = vals
                grads.append(torch.from_numpy(d))
            else:
                grads.append(torch.from_numpy(dense_grad(seed, k, 1, r, c, scale)))
        ps = [torch.zeros(g.shape, requires_grad=True) for g in grads]
        for p, g in zip(ps, grads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm)
        name = "norm_" + ("inf" if math.isinf(norm) else str(int(norm))) + f"_{i}"
        w.case(name, seed=seed, norm_type=("inf" if math.isinf(norm) else norm), max_norm=max_norm,
               total=float(total))
        for k, p in enumerate(ps):
            w.tensor(f"g{k}", p.grad)
    w.close()


def schedules():
    w = RefWriter(os.path.join(OUT, "schedules.ref"),
                  "torch.optim.lr_scheduler learning rates for epochs 0..14 (base lr 0.1), stepped as in training.")
    epochs = 15

    def record(name, make, **attrs):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sch = make(opt)
        lrs = []
        for _ in range(epochs):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sch.step()
        w.case(name, **attrs)
        w.tensor("lr", np.array(lrs, dtype=np.float32))

    lr = torch.optim.lr_scheduler
    record("step", lambda o: lr.StepLR(o, step_size=3, gamma=0.5), kind="step", step_size=3, gamma=0.5)
    record("cosine", lambda o: lr.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), kind="cosine", t_max=10,
           eta_min=1e-3)
    record("linear", lambda o: lr.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5), kind="linear",
           start_factor=0.1, end_factor=1.0, total_iters=5)
    record("linear_decay", lambda o: lr.LinearLR(o, start_factor=1.0, end_factor=0.25, total_iters=8),
           kind="linear", start_factor=1.0, end_factor=0.25, total_iters=8)
    record("warmup_cosine",
           lambda o: lr.SequentialLR(o, [lr.LinearLR(o, start_factor=0.2, total_iters=4),
                                         lr.CosineAnnealingLR(o, T_max=8, eta_min=0.0)], milestones=[4]),
           kind="warmup_cosine", start_factor=0.2, total_iters=4, t_max=8, eta_min=0.0)
    w.close()


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    trajectories()
    clipping()
    schedules()
