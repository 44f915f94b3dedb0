"""PyTorch side of bench/bench_graph.c, and the `embcl train` model in PyTorch.

    /usr/bin/python3 bench/torch/graph.py [--filter NAME] [--quick]

train_e2e: one training step of the `embcl train` model at its default sizes
(tied LM Embedding -> LSTM -> Linear over the table's first D columns, plus
an EmbeddingBag(mean) classifier over the whole [V, W] table; dense Adam,
row-wise Adagrad on the table, total gradient norm clipped to 1), the loss
read back each step as the tool does. "torch_ms" is the median step after a
warm-up, as the C side. The case string carries every size; it must equal
the one bench_graph prints (V, L and C come from the built-in dataset's
defaults: if those change, update DEFAULT_CASE, or compare finds no match).
graph_overhead has no PyTorch counterpart (it measures embcl's executor
against embcl's own ops).

TrainModel and RowWiseAdagrad are also what bench/train_side_by_side.py
trains; the parameter names are the ones embcl's checkpoints use.
"""
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

from timing import parse_args

PAD = 0  # EMBCL_VOCAB_PAD

DEFAULT_CASE = dict(V=1771, D=64, W=80, H=64, B=32, T=20, CB=32, L=12, C=2)


class TrainModel(nn.Module):
    """embcl train's model. Table columns [0, D) are the LM's embedding and
    decoder weight; all W columns feed the bag classifier."""

    def __init__(self, V, D, W, H, C, layers=1):
        super().__init__()
        self.D = D
        self.embedding = nn.Embedding(V, W, padding_idx=PAD)
        self.lstm = nn.LSTM(D, H, layers, batch_first=True)
        # hidden != dim: embcl projects the LSTM's output to the table's width
        self.proj = nn.Linear(H, D) if H != D else None
        self.decoder = nn.Module()
        self.decoder.bias = nn.Parameter(torch.zeros(V))
        self.classifier = nn.Linear(W, C)

    def forward(self, tok, tgt, bags, labels):
        table = self.embedding.weight
        shared = table[:, : self.D]
        e = F.embedding(tok, shared, padding_idx=PAD)
        h, _ = self.lstm(e)
        if self.proj is not None:
            h = self.proj(h)
        logits = F.linear(h, shared, self.decoder.bias)
        lm = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))
        bag = F.embedding_bag(bags, table, mode="mean", padding_idx=PAD)
        cls = F.cross_entropy(self.classifier(bag), labels)
        return lm, cls


class RowWiseAdagrad:
    """FBGEMM's EXACT_ROWWISE_ADAGRAD (embcl's table optimizer), no weight
    decay: per row, state += mean(g^2); w -= lr / (sqrt(state) + eps) * g.
    Frozen rows (embcl freezes <pad>) are left alone."""

    def __init__(self, param, lr, eps=1e-8, frozen_rows=(PAD,)):
        self.p, self.lr, self.eps = param, lr, eps
        self.state = torch.zeros(param.shape[0])
        self.live = torch.ones(param.shape[0], dtype=torch.bool)
        self.live[list(frozen_rows)] = False

    @torch.no_grad()
    def step(self):
        g = self.p.grad
        self.state += torch.where(self.live, (g * g).mean(dim=1), torch.zeros(()))
        k = torch.where(self.live, self.lr / (self.state.sqrt() + self.eps), torch.zeros(()))
        self.p -= k[:, None] * g

    def zero_grad(self):
        self.p.grad = None


def make_trainer(model, lr, table_lr, clip):
    """The step embcl_trainer_step takes: both losses, one backward, the
    total norm of every gradient clipped, then each optimizer."""
    table = model.embedding.weight
    dense = [p for n, p in model.named_parameters() if n != "embedding.weight"]
    adam = torch.optim.Adam(dense, lr=lr, foreach=False)
    rows = RowWiseAdagrad(table, table_lr)
    params = list(model.parameters())

    def step(tok, tgt, bags, labels):
        adam.zero_grad(set_to_none=True)
        rows.zero_grad()
        lm, cls = model(tok, tgt, bags, labels)
        (lm + cls).backward()
        norm = torch.nn.utils.clip_grad_norm_(params, clip) if clip > 0 else torch.zeros(())
        rows.step()
        adam.step()
        return lm.item(), cls.item(), norm.item()

    return step


def case_str(c):
    return ",".join(f"{k}={c[k]}" for k in ("V", "D", "W", "H", "B", "T", "CB", "L", "C"))


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def bench_e2e(quick):
    c = DEFAULT_CASE
    torch.manual_seed(1)
    model = TrainModel(c["V"], c["D"], c["W"], c["H"], c["C"])
    step = make_trainer(model, 5e-3, 0.3, 1.0)
    g = torch.Generator().manual_seed(2)
    tok = torch.randint(1, c["V"], (c["B"], c["T"]), generator=g)
    tgt = torch.randint(1, c["V"], (c["B"], c["T"]), generator=g)
    bags = torch.randint(1, c["V"], (c["CB"], c["L"]), generator=g)
    bags[:, c["L"] // 2:] = PAD  # short sentences padded, as embcl's bags
    labels = torch.randint(0, c["C"], (c["CB"],), generator=g)
    for _ in range(3):
        step(tok, tgt, bags, labels)
    ts = []
    for _ in range(8 if quick else 30):
        t0 = time.perf_counter()
        step(tok, tgt, bags, labels)
        ts.append((time.perf_counter() - t0) * 1e3)
    ms = median(ts)
    print(json.dumps({"bench": "train_e2e", "case": case_str(c), "torch_ms": round(ms, 3),
                      "torch_tokens_per_s": round(c["B"] * c["T"] * 1e3 / ms)}), flush=True)


def main():
    args, sel = parse_args()
    if sel("train_e2e"):
        bench_e2e(args.quick)


if __name__ == "__main__":
    main()
