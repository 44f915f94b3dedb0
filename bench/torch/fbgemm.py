"""FBGEMM side of bench/bench_embedding.c and bench/bench_optim.c: FBGEMM's
table-batched embedding (SplitTableBatchedEmbeddingBagsCodegen) on the CPU,
tables in host memory, EXACT_ROWWISE_ADAGRAD (embcl's row-wise Adagrad: per
row, state += mean(g^2); w -= lr * g / (sqrt(state) + eps)).

    python3 bench/torch/fbgemm.py [--filter NAME] [--only A,B] [--quick]

Needs fbgemm_gpu (the fbgemm-gpu-cpu wheel) next to a matching PyTorch 2.x:
scripts/install-deps.sh --torch-pypi. One JSON line per case with
"torch_ms" (bench/compare files them under "baseline": "fbgemm").

bag_fwd: the TBE's forward (SUM, or MEAN where the case says so), one table,
the same cases and indices as bench/torch/embedding.py. bag_fwd_multi: the
8-table case in one TBE (one operator for all tables: embcl and PyTorch call
one bag per table). sparse_step_rowwise_adagrad: the backward of a forward,
which in FBGEMM is the optimizer step too (the update is fused into the
backward; the gradient is never materialised): the same for embcl's fused=0
and fused=1 lines. Its forward runs before each timed backward, untimed, as
embcl's bench times backward + update from a given output gradient.
Best of the repeats after a warm-up, as the other scripts.
No ",dtype=bf16" cases: FBGEMM 1.9.0's CPU TBE takes weights_precision=BF16
but its forward fails ("split_embedding_cpu_forward_2" not implemented for
'BFloat16'), and its row-wise Adagrad step is that forward's backward, so
compare gives embcl's bf16 lines no fbgemm line.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from embedding import draw  # noqa: E402  (the same indices as embcl's bench)
from optim import picks  # noqa: E402
from timing import best_ms, parse_args  # noqa: E402

from fbgemm_gpu.split_embedding_configs import EmbOptimType  # noqa: E402
from fbgemm_gpu.split_table_batched_embeddings_ops_common import (  # noqa: E402
    ComputeDevice, EmbeddingLocation, PoolingMode)
from fbgemm_gpu.split_table_batched_embeddings_ops_training import \
    SplitTableBatchedEmbeddingBagsCodegen  # noqa: E402


def tbe(T, V, D, mean=False, lr=0.01):
    emb = SplitTableBatchedEmbeddingBagsCodegen(
        [(V, D, EmbeddingLocation.HOST, ComputeDevice.CPU)] * T,
        optimizer=EmbOptimType.EXACT_ROWWISE_ADAGRAD, learning_rate=lr, eps=1e-8,
        pooling_mode=PoolingMode.MEAN if mean else PoolingMode.SUM, device="cpu")
    with torch.no_grad():
        for w in emb.split_embedding_weights():
            w.uniform_(-0.5, 0.5)
    return emb


def emit(bench, case, ms):
    print(json.dumps({"bench": bench, "case": case, "torch_ms": round(ms, 4),
                      "fbgemm_op": "SplitTableBatchedEmbeddingBagsCodegen"}), flush=True)


def main():
    a, sel = parse_args()

    V = 100000 if a.quick else 1000000
    reps = 3 if a.quick else 10
    if sel("bag_fwd"):
        for V_, D, B, L, zipf, mean in [(V, 128, 4096, 20, False, False), (V, 128, 4096, 20, True, False),
                                        (V, 16, 4096, 20, False, False), (V, 64, 4096, 20, False, False),
                                        (V, 256, 4096, 20, False, False), (V, 128, 4096, 20, False, True)]:
            case = f"V={V_},D={D},B={B},L={L},dist={'zipf' if zipf else 'uniform'}" + (",mode=mean" if mean else "")
            emb = tbe(1, V_, D, mean)
            idx = torch.from_numpy(draw(V_, B * L, zipf))
            offs = torch.arange(0, B * L + 1, L, dtype=torch.int64)
            with torch.no_grad():
                emit("bag_fwd", case, best_ms(lambda: emb(idx, offs), reps))
            del emb
    if sel("bag_fwd_multi"):
        T, V_, D, B, L = 8, 20000 if a.quick else 100000, 64, 4096, 20
        n = B * L
        emb = tbe(T, V_, D)
        idx = torch.from_numpy(np.concatenate([draw(V_, n, False, t * n) for t in range(T)]))
        offs = torch.arange(0, T * n + 1, L, dtype=torch.int64)
        with torch.no_grad():
            emit("bag_fwd_multi", f"T={T},V={V_},D={D},B={B},L={L},dist=uniform", best_ms(lambda: emb(idx, offs), reps))
        del emb
    if sel("sparse_step_rowwise_adagrad"):
        d = 128
        bags, length = (512, 20) if a.quick else (4096, 20)
        for zipf in (0, 1):
            case = f"V={V},D={d},B={bags},L={length},dist={'zipf1.05' if zipf else 'uniform'}"
            rng = np.random.default_rng(2)  # optim.py's draw for the same case
            idx = torch.from_numpy(picks(bags * length, V, zipf, rng).astype(np.int64))
            offs = torch.arange(0, bags * length + 1, length, dtype=torch.int64)
            gout = torch.from_numpy(rng.uniform(-0.01, 0.01, (bags, d)).astype(np.float32))
            emb = tbe(1, V, d)
            state = {}

            def forward():
                state["out"] = emb(idx, offs)

            def step():
                state["out"].backward(gout)  # the row-wise Adagrad update happens here

            ms = best_ms(step, max(2, reps // 2), setup=forward)
            for fused in (0, 1):
                emit("sparse_step_rowwise_adagrad", f"{case},fused={fused}", ms)
            del emb, state


if __name__ == "__main__":
    main()
