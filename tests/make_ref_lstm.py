"""Writes tests/data/lstm/*.ref: PyTorch's results for nn.LSTM, linear,
the losses and the small elementwise ops (forward values and every gradient).
Run by hand: /usr/bin/python3 tests/make_ref_lstm.py (torch 1.13)."""
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_format import RefWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "lstm")
torch.manual_seed(1234)


def lstm_case(w, name, I, H, L, T, B, bidir=False, batch_first=False, lengths=None, h0=False, bias=True):
    D = 2 if bidir else 1
    m = torch.nn.LSTM(I, H, num_layers=L, bias=bias, batch_first=batch_first, bidirectional=bidir)
    x = torch.randn(*((B, T, I) if batch_first else (T, B, I)), requires_grad=True)
    hc = None
    if h0:
        hc = (torch.randn(L * D, B, H, requires_grad=True), torch.randn(L * D, B, H, requires_grad=True))
    if lengths is not None:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out, (hn, cn) = m(packed, hc)
        y, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    else:
        y, (hn, cn) = m(x, hc)
    dy, dhn, dcn = torch.randn_like(y), torch.randn_like(hn), torch.randn_like(cn)
    ((y * dy).sum() + (hn * dhn).sum() + (cn * dcn).sum()).backward()
    w.case(name, input_size=I, hidden_size=H, num_layers=L, bidirectional=bidir, batch_first=batch_first,
           bias=bias, has_h0=h0, has_lengths=lengths is not None)
    w.tensor("x", x)
    if lengths is not None:
        w.tensor("lengths", torch.tensor(lengths, dtype=torch.int64))
    if h0:
        w.tensor("h0", hc[0])
        w.tensor("c0", hc[1])
    for pname, p in m.named_parameters():
        w.tensor(pname, p)
        w.tensor("grad_" + pname, p.grad)
    w.tensor("y", y)
    w.tensor("h_n", hn)
    w.tensor("c_n", cn)
    w.tensor("dy", dy)
    w.tensor("dh_n", dhn)
    w.tensor("dc_n", dcn)
    w.tensor("dx", x.grad)
    if h0:
        w.tensor("dh0", hc[0].grad)
        w.tensor("dc0", hc[1].grad)


def write_lstm():
    w = RefWriter(os.path.join(OUT, "lstm.ref"), "nn.LSTM: outputs, h_n, c_n and all gradients (torch 1.13).")
    lstm_case(w, "one_layer", I=5, H=7, L=1, T=6, B=3)
    lstm_case(w, "two_layer_bidir_lengths_h0", I=3, H=4, L=2, T=5, B=4, bidir=True, lengths=[5, 2, 4, 1], h0=True)
    lstm_case(w, "batch_first_bidir_lengths", I=6, H=5, L=1, T=4, B=3, bidir=True, batch_first=True,
              lengths=[3, 4, 2], h0=True)
    lstm_case(w, "hidden_one", I=3, H=1, L=2, T=7, B=2)
    lstm_case(w, "no_bias", I=4, H=3, L=1, T=3, B=2, bias=False, h0=True)
    lstm_case(w, "two_layer_batch_first_lengths", I=4, H=6, L=2, T=5, B=3, batch_first=True, lengths=[2, 5, 3],
              h0=True)
    lstm_case(w, "wide", I=17, H=20, L=1, T=6, B=4, bidir=True, lengths=[6, 1, 4, 5])
    w.close()


def write_linear():
    w = RefWriter(os.path.join(OUT, "linear.ref"), "F.linear forward and gradients (torch 1.13).")
    for name, shape, out, bias in [("mat", (7, 5), 9, True), ("seq", (2, 3, 17), 6, True),
                                   ("nobias", (4, 17), 33, False)]:
        x = torch.randn(*shape, requires_grad=True)
        W = torch.randn(out, shape[-1], requires_grad=True)
        b = torch.randn(out, requires_grad=True) if bias else None
        y = F.linear(x, W, b)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        w.case(name, bias=bias)
        w.tensor("x", x)
        w.tensor("weight", W)
        if bias:
            w.tensor("bias", b)
            w.tensor("dbias", b.grad)
        w.tensor("y", y)
        w.tensor("dy", dy)
        w.tensor("dx", x.grad)
        w.tensor("dweight", W.grad)
    w.close()


def upstream(loss, red):
    return torch.randn_like(loss) if red == "none" else torch.tensor(0.7)


def write_losses():
    w = RefWriter(os.path.join(OUT, "loss.ref"),
                  "cross_entropy (ignore_index, label_smoothing), BCE with logits, MSE: loss and d input\n"
                  "for an upstream gradient dloss (torch 1.13).")
    for C, N, ignore, dtype in [(5, 6, -100, torch.int64), (130, 3, 2, torch.int32), (1, 3, -100, torch.int64)]:
        z = torch.randn(N, C) * 3
        t = torch.randint(0, C, (N,))
        if C > 2:
            t[1] = ignore
        for red in ["none", "mean", "sum"]:
            for ls in [0.0, 0.1]:
                zz = z.clone().requires_grad_(True)
                loss = F.cross_entropy(zz, t, ignore_index=ignore, reduction=red, label_smoothing=ls)
                dl = upstream(loss, red)
                (loss * dl).sum().backward()
                w.case(f"ce_C{C}_{red}_ls{int(ls * 10)}", reduction=red, ignore_index=ignore, label_smoothing=ls)
                w.tensor("logits", zz)
                w.tensor("target", t.to(dtype))
                w.tensor("loss", loss.reshape(-1))
                w.tensor("dloss", dl.reshape(-1))
                w.tensor("dlogits", zz.grad)
    for kind in ["bce", "mse"]:
        x0 = torch.randn(4, 6) * 2
        t = torch.rand(4, 6)
        for red in ["none", "mean", "sum"]:
            x = x0.clone().requires_grad_(True)
            if kind == "bce":
                loss = F.binary_cross_entropy_with_logits(x, t, reduction=red)
            else:
                loss = F.mse_loss(x, t, reduction=red)
            dl = upstream(loss, red)
            (loss * dl).sum().backward()
            w.case(f"{kind}_{red}", reduction=red)
            w.tensor("x", x)
            w.tensor("target", t)
            w.tensor("loss", loss.reshape(-1) if red != "none" else loss)
            w.tensor("dloss", dl.reshape(-1) if red != "none" else dl)
            w.tensor("dx", x.grad)
    w.close()


def write_ops():
    w = RefWriter(os.path.join(OUT, "ops.ref"), "Elementwise ops, concat and masked mean over time (torch 1.13).")
    a = torch.randn(5, 13, requires_grad=True)
    b = torch.randn(5, 13, requires_grad=True)
    ops = {"add": lambda: a + b, "mul": lambda: a * b, "tanh": lambda: torch.tanh(a),
           "sigmoid": lambda: torch.sigmoid(a)}
    for name, fn in ops.items():
        a.grad = b.grad = None
        y = fn()
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        w.case(name)
        w.tensor("a", a)
        w.tensor("b", b)
        w.tensor("y", y)
        w.tensor("dy", dy)
        w.tensor("da", a.grad)
        if b.grad is not None:
            w.tensor("db", b.grad)
    p1 = torch.randn(4, 3, requires_grad=True)
    p2 = torch.randn(4, 8, requires_grad=True)
    y = torch.cat([p1, p2], dim=1)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    w.case("concat")
    w.tensor("p0", p1)
    w.tensor("p1", p2)
    w.tensor("y", y)
    w.tensor("dy", dy)
    w.tensor("dp0", p1.grad)
    w.tensor("dp1", p2.grad)
    for bf in [False, True]:
        T, B, Fd = 5, 3, 7
        x = torch.randn(*((B, T, Fd) if bf else (T, B, Fd)), requires_grad=True)
        lengths = torch.tensor([5, 2, 3])
        xs = x if bf else x.transpose(0, 1)  # [B, T, F]
        mask = (torch.arange(T)[None, :] < lengths[:, None]).float()[:, :, None]
        y = (xs * mask).sum(1) / lengths[:, None].float()
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        w.case(f"mean_time_bf{int(bf)}", batch_first=bf)
        w.tensor("x", x)
        w.tensor("lengths", lengths)
        w.tensor("y", y)
        w.tensor("dy", dy)
        w.tensor("dx", x.grad)
    w.close()


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write_lstm()
    write_linear()
    write_losses()
    write_ops()
