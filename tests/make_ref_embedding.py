"""Writes tests/data/embedding/*.ref: PyTorch's answers for Embedding and
EmbeddingBag, every option and their combinations, for the Criterion tests in
tests/embedding/. Run by hand (CI never runs torch):

    /usr/bin/python3 tests/make_ref_embedding.py

Each case holds the inputs (weight, indices, offsets, per_sample_weights,
grad_out), the options as attributes, and PyTorch's results: out,
max_indices (mode max), weight_after (the table after max_norm renormalised
it), grad_weight (dense backward), grad_ids / grad_values (the sparse
backward, coalesced) and grad_psw. bf16.ref: bf16 tables (bf16_cases).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_format import RefWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "embedding")
torch.manual_seed(1234)
rng = np.random.default_rng(1234)


def draw(dist, V, n, pad=None):
    """Indices of a distribution: uniform, dup (few distinct rows), zipf,
    padheavy (mostly the padding row)."""
    if dist == "uniform":
        x = rng.integers(0, V, n)
    elif dist == "dup":
        x = rng.choice(rng.integers(0, V, 3), n)
    elif dist == "zipf":
        x = np.minimum(rng.zipf(1.3, n) - 1, V - 1)
    elif dist == "padheavy":
        x = rng.integers(0, V, n)
        x[rng.random(n) < 0.7] = pad if pad is not None and pad >= 0 else (V + pad if pad is not None else 0)
    else:
        raise ValueError(dist)
    return x


def attrs_of(padding_idx, max_norm, norm_type, freq, extra=None):
    a = dict(padding_idx="none" if padding_idx is None else padding_idx,
             max_norm="none" if max_norm is None else float(max_norm),
             norm_type=float(norm_type), scale_grad_by_freq=int(freq))
    a.update(extra or {})
    return a


def write_sparse(w, grad):
    g = grad.coalesce()
    ids = g.indices()[0].to(torch.int64)
    w.tensor("grad_ids", ids)
    w.tensor("grad_values", g.values().reshape(len(ids), grad.shape[1]))


def randn(*shape):
    """N(0, 1) on a 1/256 grid: exact in f32 and short in the text files."""
    return torch.round(torch.randn(*shape) * 256) / 256


def embedding_cases():
    w = RefWriter(os.path.join(OUT, "embedding.ref"), "F.embedding forward and backward (torch %s)" % torch.__version__)
    specs = [
        # name, V, D, idx shape, dtype, dist, padding_idx, max_norm, norm_type, freq
        ("plain_i64", 20, 8, (12,), torch.int64, "uniform", None, None, 2.0, False),
        ("plain_i32", 20, 13, (12,), torch.int32, "uniform", None, None, 2.0, False),
        ("wide_tail", 6, 37, (8,), torch.int64, "uniform", None, None, 2.0, False),
        ("d1", 7, 1, (9,), torch.int64, "dup", None, None, 2.0, False),
        ("idx2d", 15, 6, (3, 5), torch.int64, "uniform", None, None, 2.0, False),
        ("idx3d_i32", 15, 4, (2, 3, 4), torch.int32, "dup", None, None, 2.0, False),
        ("dup", 16, 16, (30,), torch.int64, "dup", None, None, 2.0, False),
        ("pad", 12, 5, (20,), torch.int64, "padheavy", 3, None, 2.0, False),
        ("pad_negative", 12, 5, (20,), torch.int32, "padheavy", -2, None, 2.0, False),
        ("freq", 10, 7, (25,), torch.int64, "dup", None, None, 2.0, True),
        ("freq_pad", 10, 7, (25,), torch.int64, "padheavy", 0, None, 2.0, True),
        ("max_norm", 14, 6, (18,), torch.int64, "dup", None, 1.5, 2.0, False),
        ("max_norm_l1", 14, 6, (18,), torch.int32, "uniform", None, 2.0, 1.0, False),
        ("max_norm_linf", 14, 6, (18,), torch.int64, "uniform", None, 0.8, float("inf"), False),
        ("max_norm_p3", 14, 6, (18,), torch.int64, "uniform", 2, 1.2, 3.0, False),
        ("zipf", 30, 9, (40,), torch.int64, "zipf", None, None, 2.0, False),
        ("empty", 6, 4, (0,), torch.int64, "uniform", None, None, 2.0, False),
    ]
    for name, V, D, shape, dt, dist, pad, max_norm, norm_type, freq in specs:
        n = int(np.prod(shape))
        weight = randn(V, D)
        idx = torch.tensor(draw(dist, V, n, pad).reshape(shape), dtype=dt)
        w.case(name, **attrs_of(pad, max_norm, norm_type, freq))
        w.tensor("weight", weight)
        w.tensor("indices", idx)
        grad_out = randn(*shape, D)
        w.tensor("grad_out", grad_out)
        for sparse in (False, True):
            if sparse and freq:
                continue
            p = weight.clone().requires_grad_(True)
            out = F.embedding(idx.long() if dt == torch.int32 else idx, p, padding_idx=pad, max_norm=max_norm,
                              norm_type=norm_type, scale_grad_by_freq=freq, sparse=sparse)
            out.backward(grad_out)
            if sparse:
                write_sparse(w, p.grad)
            else:
                w.tensor("out", out)
                if max_norm is not None:
                    w.tensor("weight_after", p.detach())
                w.tensor("grad_weight", p.grad)
    w.close()


def bag_grad_by_embedding(weight, ix, of, psw, grad_out, mode, pad, freq, ilo):
    """The sum/mean bag's weight gradient through F.embedding: each index's
    share of its bag's gradient (per_sample_weight, 1/bag size for mean, 0
    at padding), then F.embedding's backward, which applies
    scale_grad_by_freq as documented. torch 1.13's CPU embedding_bag
    backward divides by the count of another row (indices [1, 1, 2] in one
    bag give row 2 a gradient of 0.5, not 1), so with freq this is the
    reference; without, it must agree with embedding_bag (checked)."""
    flat = ix.reshape(-1)
    n = flat.numel()
    if of is None:
        L = ix.shape[1]
        bag = torch.arange(n) // L
    else:
        ends = list(of[1:].tolist()) if ilo else list(of[1:].tolist()) + [n]
        bag = torch.zeros(n, dtype=torch.int64)
        for b, (s, e) in enumerate(zip(of.tolist(), ends)):
            bag[s:e] = b
    padv = None if pad is None else pad % weight.shape[0]
    keep = torch.ones(n) if padv is None else (flat != padv).float()
    share = keep.clone()
    if psw is not None:
        share = share * psw.detach().reshape(-1)
    if mode == "mean":
        size = torch.zeros(grad_out.shape[0]).index_add_(0, bag, keep)
        share = share / size.clamp(min=1)[bag]
    per = grad_out[bag] * share[:, None]
    p = weight.clone().requires_grad_(True)
    F.embedding(flat, p, padding_idx=padv, scale_grad_by_freq=freq).backward(per)
    return p.grad


def bag_cases():
    w = RefWriter(os.path.join(OUT, "bag.ref"), "F.embedding_bag forward and backward (torch %s)" % torch.__version__)
    cases = []
    # name, V, D, lengths (None: 2-D), L, dtype, dist, mode, pad, max_norm, norm_type, freq, psw, ilo
    for mode in ("sum", "mean", "max"):
        cases += [
            (f"{mode}_uniform", 25, 8, [3, 1, 4, 2, 5], None, torch.int64, "uniform", mode, None, None, 2.0, False,
             False, False),
            (f"{mode}_i32_tail", 12, 13, [2, 6, 1, 3], None, torch.int32, "uniform", mode, None, None, 2.0, False,
             False, False),
            (f"{mode}_wide", 6, 37, [3, 2, 3], None, torch.int64, "uniform", mode, None, None, 2.0, False, False,
             False),
            (f"{mode}_empty_bags", 20, 6, [0, 3, 0, 0, 2, 0], None, torch.int64, "uniform", mode, None, None, 2.0,
             False, False, False),
            (f"{mode}_dup", 16, 16, [10, 12, 8, 10], None, torch.int64, "dup", mode, None, None, 2.0, False, False,
             False),
            (f"{mode}_2d", 18, 5, None, 4, torch.int64, "uniform", mode, None, None, 2.0, False, False, False),
            (f"{mode}_2d_i32", 18, 9, None, 3, torch.int32, "dup", mode, None, None, 2.0, False, False, False),
            (f"{mode}_pad", 15, 7, [4, 5, 3, 6, 2], None, torch.int64, "padheavy", mode, 4, None, 2.0, False, False,
             False),
            (f"{mode}_ilo", 25, 8, [3, 0, 4, 2], None, torch.int64, "uniform", mode, None, None, 2.0, False, False,
             True),
            (f"{mode}_ilo_i32_pad", 25, 8, [3, 0, 4, 2], None, torch.int32, "padheavy", mode, -1, None, 2.0, False,
             False, True),
            (f"{mode}_max_norm", 20, 6, [5, 4, 6], None, torch.int64, "dup", mode, None, 1.1, 2.0, False, False,
             False),
            (f"{mode}_zipf", 24, 8, [7, 9, 11, 5, 8], None, torch.int64, "zipf", mode, None, None, 2.0, False,
             False, False),
            (f"{mode}_d1", 9, 1, [3, 4, 2], None, torch.int64, "dup", mode, None, None, 2.0, False, False, False),
        ]
        if mode != "max":
            cases += [
                (f"{mode}_freq", 12, 6, [6, 5, 7], None, torch.int64, "dup", mode, None, None, 2.0, True, False,
                 False),
                (f"{mode}_freq_pad_max_norm", 12, 6, [6, 5, 7], None, torch.int64, "padheavy", mode, 1, 0.9, 1.0,
                 True, False, False),
            ]
    cases += [
        ("psw", 22, 10, [3, 4, 0, 5], None, torch.int64, "uniform", "sum", None, None, 2.0, False, True, False),
        ("psw_2d_i32", 22, 10, None, 4, torch.int32, "dup", "sum", None, None, 2.0, False, True, False),
        ("psw_pad_ilo", 22, 10, [3, 4, 0, 5], None, torch.int64, "padheavy", "sum", 2, None, 2.0, False, True, True),
        ("psw_freq_max_norm", 22, 10, [5, 5, 5], None, torch.int64, "dup", "sum", None, 1.0, 2.0, True, True, False),
        ("psw_wide", 5, 40, [3, 4], None, torch.int64, "uniform", "sum", None, None, 2.0, False, True, False),
    ]
    for (name, V, D, lengths, L, dt, dist, mode, pad, max_norm, norm_type, freq, use_psw, ilo) in cases:
        weight = randn(V, D)
        if lengths is None:
            B = 5
            idx = torch.tensor(draw(dist, V, B * L, pad).reshape(B, L), dtype=dt)
            offsets = None
        else:
            B = len(lengths)
            n = sum(lengths)
            idx = torch.tensor(draw(dist, V, n, pad), dtype=dt)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if lengths else np.zeros(0)
            offs = list(starts) + ([n] if ilo else [])
            offsets = torch.tensor(offs, dtype=dt)
        psw = randn(idx.shape) if use_psw else None
        grad_out = randn(B, D)
        w.case(name, **attrs_of(pad, max_norm, norm_type, freq, dict(mode=mode, include_last_offset=int(ilo))))
        w.tensor("weight", weight)
        w.tensor("indices", idx)
        if offsets is not None:
            w.tensor("offsets", offsets)
        if psw is not None:
            w.tensor("per_sample_weights", psw)
        w.tensor("grad_out", grad_out)
        for sparse in (False, True):
            if sparse and (freq or mode == "max"):
                continue
            p = weight.clone().requires_grad_(True)
            q = psw.clone().requires_grad_(True) if psw is not None else None
            args = dict(mode=mode, padding_idx=pad, max_norm=max_norm, norm_type=norm_type,
                        scale_grad_by_freq=freq, sparse=sparse, include_last_offset=ilo, per_sample_weights=q)
            ix = idx.long() if dt == torch.int32 else idx
            of = offsets.long() if offsets is not None and dt == torch.int32 else offsets
            out = F.embedding_bag(ix, p, of, **args)
            out.backward(grad_out)
            if sparse:
                write_sparse(w, p.grad)
                continue
            w.tensor("out", out)
            if max_norm is not None:
                w.tensor("weight_after", p.detach())
            if mode != "max":
                per_index = bag_grad_by_embedding(p.detach(), ix, of, q, grad_out, mode, pad, freq, ilo)
                if not freq:
                    assert torch.allclose(per_index, p.grad, rtol=1e-5, atol=1e-6), name
                w.tensor("grad_weight", per_index)
            else:
                w.tensor("grad_weight", p.grad)
            if q is not None:
                w.tensor("grad_psw", q.grad)
            if mode == "max":
                # The row id of each column's maximum (-1 for empty bags), as
                # the ATen op returns it.
                flat = ix.reshape(-1)
                if of is None:
                    of2 = torch.arange(0, flat.numel(), ix.shape[1])
                else:
                    of2 = of[:-1] if ilo else of
                r = torch.ops.aten._embedding_bag(p.detach().clone(), flat, of2, False, 2, False, None, False,
                                                  -1 if pad is None else (pad % V))
                w.tensor("max_indices", r[3])
    w.close()


def tables_cases():
    w = RefWriter(os.path.join(OUT, "tables.ref"),
                  "Table-batched bags: per-table F.embedding_bag, outputs side by side (torch %s)" % torch.__version__)
    specs = [
        ("three_sum", [(20, 8), (7, 3), (30, 16)], 4, "sum", None, False, False),
        ("three_mean_pad_ilo", [(20, 8), (7, 3), (30, 16)], 4, "mean", 1, True, False),
        ("nine_tables_psw", [(5 + t, 1 + (t * 5) % 11) for t in range(9)], 3, "sum", None, False, True),
        ("one_table_i32", [(12, 5)], 6, "mean", None, False, False),
    ]
    for name, tabs, B, mode, pad, ilo, use_psw in specs:
        T = len(tabs)
        weights = [randn(V, D) for V, D in tabs]
        lengths = rng.integers(0, 5, T * B)
        idx_parts = []
        for t, (V, D) in enumerate(tabs):
            for b in range(B):
                idx_parts.append(draw("padheavy" if pad is not None else "uniform", V, int(lengths[t * B + b]), pad))
        idx = torch.tensor(np.concatenate(idx_parts), dtype=torch.int32 if "i32" in name else torch.int64)
        n = idx.numel()
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        offsets = torch.tensor(list(starts) + ([n] if ilo else []), dtype=idx.dtype)
        psw = randn(n) if use_psw else None
        grad_out = randn(B, sum(D for _, D in tabs))
        w.case(name, T=T, B=B, mode=mode, padding_idx="none" if pad is None else pad, include_last_offset=int(ilo))
        for t in range(T):
            w.tensor(f"weight{t}", weights[t])
        w.tensor("indices", idx)
        w.tensor("offsets", offsets)
        if psw is not None:
            w.tensor("per_sample_weights", psw)
        w.tensor("grad_out", grad_out)
        outs, col = [], 0
        for t, (V, D) in enumerate(tabs):
            p = weights[t].clone().requires_grad_(True)
            s, e = int(starts[t * B]), int(starts[(t + 1) * B]) if (t + 1) * B < T * B else n
            of = torch.tensor(starts[t * B:(t + 1) * B] - s, dtype=torch.int64)
            q = psw[s:e] if psw is not None else None
            o = F.embedding_bag(idx[s:e].long(), p, of, mode=mode, padding_idx=pad, per_sample_weights=q)
            o.backward(grad_out[:, col:col + D])
            col += D
            outs.append(o.detach())
            w.tensor(f"grad_weight{t}", p.grad)
        w.tensor("out", torch.cat(outs, 1))
    w.close()


def bf16_bits(x):
    """torch's .to(torch.bfloat16) of x as the 16-bit patterns (in int32)."""
    return (x.to(torch.bfloat16).view(torch.int16).to(torch.int32) & 0xFFFF)


def bf16_cases():
    """bf16 tables: torch's f32 -> bf16 rounding bit for bit, and the ops on a
    bf16 table, which embcl computes in float: F.embedding / F.embedding_bag
    in float32 on the bf16-rounded table (torch 1.13 has no CPU bf16
    embedding_bag; float compute on bf16 storage is exactly this). Its own
    generators, so the other files do not change when this one does."""
    g = torch.Generator().manual_seed(1616)
    r = np.random.default_rng(1616)
    w = RefWriter(os.path.join(OUT, "bf16.ref"),
                  "bf16 tables: conversions, Embedding / EmbeddingBag on the bf16-rounded table (torch %s)"
                  % torch.__version__)
    # Conversions: random values of many magnitudes, exact ties both ways,
    # subnormals, the overflow edge, infinities, signed zeros.
    x = torch.randn(400, generator=g) * torch.exp2(torch.randint(-30, 30, (400,), generator=g).float())
    ties = torch.tensor([0x3F808000, 0x3F818000, 0xBF808000, 0x3F80FFFF, 0x3F807FFF, 0x00008000, 0x00018000,
                         0x7F7F8000, 0x7F7F7FFF, 0xFF7F8000, 0x00000001, 0x80000001, 0x007FFFFF],
                        dtype=torch.int64).to(torch.int32).view(torch.float32)
    special = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), 3.4e38, -3.4e38, 1e-40, -1e-40, 1.0, -1.0])
    xs = torch.cat([x, ties, special])
    w.case("convert")
    w.tensor("x", xs)
    w.tensor("bits", bf16_bits(xs))
    # name, V, D, lengths (None: 2-D of L), L, dtype, mode, pad, psw, ilo
    specs = [
        ("sum", 40, 16, [3, 1, 4, 0, 5], None, torch.int64, "sum", None, False, False),
        ("mean_tail", 30, 13, [2, 6, 1, 3], None, torch.int32, "mean", None, False, False),
        ("max_wide", 12, 37, [3, 2, 3, 0], None, torch.int64, "max", None, False, False),
        ("sum_psw", 22, 10, [3, 4, 0, 5], None, torch.int64, "sum", None, True, False),
        ("mean_pad_ilo", 25, 8, [3, 0, 4, 2], None, torch.int64, "mean", 2, False, True),
        ("max_pad_2d", 18, 9, None, 4, torch.int32, "max", 3, False, False),
        ("sum_d1", 9, 1, [3, 4, 2], None, torch.int64, "sum", None, False, False),
        ("sum_d64", 50, 64, [7, 9, 11, 5], None, torch.int64, "sum", None, False, False),
    ]
    for name, V, D, lengths, L, dt, mode, pad, use_psw, ilo in specs:
        weight = torch.randn(V, D, generator=g)
        wb = weight.to(torch.bfloat16).to(torch.float32)
        if lengths is None:
            B = 5
            idx = torch.tensor(r.integers(0, V, (B, L)), dtype=dt)
            offsets = None
        else:
            B, n = len(lengths), sum(lengths)
            idx = torch.tensor(r.integers(0, V, n), dtype=dt)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            offsets = torch.tensor(list(starts) + ([n] if ilo else []), dtype=dt)
        if pad is not None:
            idx.view(-1)[::3] = pad
        psw = torch.round(torch.randn(idx.shape, generator=g) * 256) / 256 if use_psw else None
        grad_out = torch.randn(B, D, generator=g)
        w.case("bag_" + name, mode=mode, padding_idx="none" if pad is None else pad, include_last_offset=int(ilo))
        w.tensor("weight", weight)
        w.tensor("weight_bits", bf16_bits(weight))
        w.tensor("indices", idx)
        if offsets is not None:
            w.tensor("offsets", offsets)
        if psw is not None:
            w.tensor("per_sample_weights", psw)
        w.tensor("grad_out", grad_out)
        p = wb.clone().requires_grad_(True)
        q = psw.clone().requires_grad_(True) if psw is not None else None
        ix = idx.long()
        of = offsets.long() if offsets is not None else None
        out = F.embedding_bag(ix, p, of, mode=mode, padding_idx=pad, include_last_offset=ilo, per_sample_weights=q)
        out.backward(grad_out)
        w.tensor("out", out)
        w.tensor("grad_weight", p.grad)
        if q is not None:
            w.tensor("grad_psw", q.grad)
        if mode == "max":
            flat = ix.reshape(-1)
            of2 = torch.arange(0, flat.numel(), ix.shape[1]) if of is None else (of[:-1] if ilo else of)
            res = torch.ops.aten._embedding_bag(p.detach().clone(), flat, of2, False, 2, False, None, False,
                                                -1 if pad is None else pad)
            w.tensor("max_indices", res[3])
    for name, V, D, shape, pad in [("emb", 20, 24, (12,), None), ("emb_pad_2d", 15, 7, (3, 5), 4)]:
        weight = torch.randn(V, D, generator=g)
        wb = weight.to(torch.bfloat16).to(torch.float32)
        idx = torch.tensor(r.integers(0, V, shape), dtype=torch.int64)
        grad_out = torch.randn(*shape, D, generator=g)
        w.case(name, padding_idx="none" if pad is None else pad)
        w.tensor("weight", weight)
        w.tensor("weight_bits", bf16_bits(weight))
        w.tensor("indices", idx)
        w.tensor("grad_out", grad_out)
        p = wb.clone().requires_grad_(True)
        out = F.embedding(idx, p, padding_idx=pad)
        out.backward(grad_out)
        w.tensor("out", out)
        w.tensor("grad_weight", p.grad)
    w.close()


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    embedding_cases()
    bag_cases()
    tables_cases()
    bf16_cases()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {OUT}: {total / 1024:.0f} KiB")
