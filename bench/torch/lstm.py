"""PyTorch side of bench/bench_lstm.c: the same "bench" and "case" names,
with "torch_ms" (best of timed runs after a warm-up, as the C side).
    /usr/bin/python3 bench/torch/lstm.py [--filter NAME] [--quick]
gemm is torch.matmul (OpenBLAS on CPU); lstm_fwd / lstm_fwd_bwd are
nn.LSTM with autograd; linear_fwd_bwd is F.linear forward and backward."""
import json

import torch
import torch.nn.functional as F

from timing import best_ms, parse_args


def emit(bench, case, ms, flops):
    print(json.dumps({"bench": bench, "case": case, "torch_ms": round(ms, 4),
                      "torch_gflops": round(flops / ms / 1e6, 2)}), flush=True)


def bench_gemm(quick):
    cases = [(512, 512, 512, 0, 0, "square"), (1024, 1024, 512, 0, 0, "square"),
             (2240, 1024, 128, 0, 1, "lstm_input_proj"), (64, 1024, 256, 0, 0, "lstm_recurrent"),
             (1024, 256, 2240, 1, 0, "lstm_weight_grad"), (2240, 256, 1024, 0, 0, "lstm_input_grad"),
             (2240, 10000, 256, 0, 1, "vocab_proj")]
    for m, n, k, ta, tb, what in cases:
        if quick and m * n * k > 600 * 1024 * 1024:
            continue
        a = torch.rand(k, m) if ta else torch.rand(m, k)
        b = torch.rand(n, k) if tb else torch.rand(k, n)
        A = a.t() if ta else a
        B = b.t() if tb else b
        ms = best_ms(lambda: torch.matmul(A, B), 3 if quick else 7)
        op = ("T" if ta else "N") + ("T" if tb else "N")
        for backend in ("own", "clblast"):
            emit("gemm", f"M={m},N={n},K={k},op={op},{what},backend={backend}", ms, 2.0 * m * n * k)


def bench_lstm(quick, bwd):
    for B, T, I, H in [(64, 35, 128, 256), (32, 35, 128, 256)][: 1 if quick else 2]:
        m = torch.nn.LSTM(I, H)
        x = torch.randn(T, B, I, requires_grad=True)
        dy = torch.randn(T, B, H)

        def step():
            y, _ = m(x)
            if bwd:
                y.backward(dy)

        ms = best_ms(step, 3 if quick else 7)
        emit("lstm_fwd_bwd" if bwd else "lstm_fwd", f"B={B},T={T},I={I},H={H},layers=1", ms,
             2.0 * T * B * 4 * H * (I + H) * (3 if bwd else 1))


def bench_linear(quick):
    for N, i, o in [(2240, 256, 10000), (1120, 256, 2000)]:
        if quick and o == 10000:
            continue
        x = torch.randn(N, i, requires_grad=True)
        w = torch.randn(o, i, requires_grad=True)
        b = torch.randn(o, requires_grad=True)
        dy = torch.randn(N, o)

        def step():
            F.linear(x, w, b).backward(dy)

        emit("linear_fwd_bwd", f"N={N},in={i},out={o}", best_ms(step, 3 if quick else 5), 6.0 * N * i * o)


def main():
    a, sel = parse_args()

    if sel("gemm"):
        bench_gemm(a.quick)
    if sel("lstm_fwd"):
        bench_lstm(a.quick, False)
    if sel("lstm_fwd_bwd"):
        bench_lstm(a.quick, True)
    if sel("linear_fwd_bwd"):
        bench_linear(a.quick)


if __name__ == "__main__":
    main()
