"""Reference trajectories for tests/graph/test_graph_parity.c: the seed's
model (nn.Embedding -> nn.LSTM(batch_first) -> nn.Linear -> cross-entropy)
trained a few SGD steps by PyTorch, from initial weights written into the
file (so embcl starts from the same bits), with dense and sparse embedding
gradients, and with the embedding tied to the output projection.

Run by hand: /usr/bin/python3 tests/make_ref_graph.py
Writes tests/data/graph/train.ref.
"""
import os

import numpy as np
import torch

from ref_format import RefWriter

VOCAB, HID, B, T, STEPS, LR = 100, 32, 4, 6, 3, 0.5


class Model(torch.nn.Module):
    def __init__(self, dim, sparse, tied):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, dim, sparse=sparse)
        self.lstm = torch.nn.LSTM(dim, HID, batch_first=True)
        self.fc = torch.nn.Linear(HID, VOCAB)
        if tied:
            self.fc.weight = self.embedding.weight

    def forward(self, tokens):
        h, _ = self.lstm(self.embedding(tokens))
        return self.fc(h)


def case(w, name, dim, sparse, tied, seed):
    torch.manual_seed(seed)
    m = Model(dim, sparse, tied)
    opt = torch.optim.SGD(m.parameters(), lr=LR)
    g = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(0, VOCAB, (STEPS, B, T), generator=g)
    targets = torch.randint(0, VOCAB, (STEPS, B, T), generator=g)
    w.case(name, dim=dim, sparse=int(sparse), tied=int(tied), steps=STEPS, lr=LR)
    w.tensor("tokens", tokens)
    w.tensor("targets", targets)
    for n, p in m.named_parameters():
        w.tensor("init." + n, p)
    losses = []
    for s in range(STEPS):
        opt.zero_grad()
        logits = m(tokens[s])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets[s].reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    w.tensor("losses", np.array(losses, dtype=np.float32))
    for n, p in m.named_parameters():
        w.tensor("final." + n, p)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "data", "graph", "train.ref")
    w = RefWriter(path, "tests/make_ref_graph.py: Embedding -> LSTM -> Linear -> cross_entropy, SGD, torch "
                  + torch.__version__)
    case(w, "dense", 16, False, False, 1)
    case(w, "sparse", 16, True, False, 2)
    case(w, "tied", 32, False, True, 3)
    w.close()


if __name__ == "__main__":
    main()
