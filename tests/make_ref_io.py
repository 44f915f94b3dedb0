"""Reference files for the io tests (safetensors compatibility with PyTorch).

Run by hand:
    /usr/bin/python3 -m pip install --target /tmp/st-lib safetensors   # outside the repo
    PYTHONPATH=/tmp/st-lib /usr/bin/python3 tests/make_ref_io.py [EMBCL_WRITTEN_FILE]

1. Writes, with safetensors.torch.save_file:
   tests/data/io/torch_model.safetensors  F32/I32/I64 tensors with PyTorch-style names, a 0-d tensor,
                                          an empty tensor, string metadata (JSON config, unicode, quotes)
   tests/data/io/torch_nometa.safetensors one tensor, no __metadata__
   and tests/data/io/torch_model.ref, the same tensors in embcl's reference format, which
   tests/io/test_safetensors.c compares with what embcl reads (exact values).
2. Checks a file that embcl wrote (default tests/data/io/embcl_written.safetensors, produced by
   tests/io/test_safetensors.c as build/io-out/embcl_written.safetensors and committed), loading it
   with safetensors.torch.load_file and safe_open(...).metadata(): every tensor's name, dtype, shape
   and exact values, and every metadata pair, must equal what the C test wrote (the formulas in
   expected_embcl_written() mirror tests/io/test_safetensors.c). The C test in turn checks that
   embcl's output is byte-identical to this committed file, so what PyTorch accepted here stays so.
"""
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_format import RefWriter  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "io")


def write_torch_files():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(1234)
    tensors = {
        "embedding.weight": torch.randn(7, 5, generator=g),
        "lstm.weight_ih_l0": torch.randn(12, 5, generator=g),
        "lstm.bias_hh_l0": torch.randn(12, generator=g),
        "decoder.ids": torch.arange(-3, 5, dtype=torch.int32),
        "optimizer.step": torch.tensor([2**40 + 3, -5, 0], dtype=torch.int64),
        "scale": torch.tensor(2.5, dtype=torch.float32),  # 0-d
        "empty": torch.zeros(0, 4),
    }
    meta = {"config": '{"dim": 5, "lr": 0.1, "optimizer": "adagrad"}', "step": "42",
            "note": 'unicode \u2713 na\u00efve, "quotes", back\\slash'}
    save_file(tensors, os.path.join(OUT, "torch_model.safetensors"), metadata=meta)
    save_file({"w": torch.ones(2, 3)}, os.path.join(OUT, "torch_nometa.safetensors"))
    w = RefWriter(os.path.join(OUT, "torch_model.ref"),
                  "Tensors of torch_model.safetensors (written by tests/make_ref_io.py); 0-d 'scale' as shape [1].")
    w.case("model")
    for name, t in tensors.items():
        w.tensor(name, t)
    w.close()
    print("wrote torch_model.safetensors, torch_nometa.safetensors, torch_model.ref")


def expected_embcl_written():
    emb = torch.tensor([[(i * 3 + j) * 0.25 - 1.0 for j in range(3)] for i in range(4)], dtype=torch.float32)
    ids = torch.tensor([7 * i - 11 for i in range(5)], dtype=torch.int32)
    big = torch.tensor([(2**40 + k) * (1 if k % 2 == 0 else -1) for k in range(4)], dtype=torch.int64).reshape(2, 2)
    return ({"embedding.weight": emb, "ids": ids, "big": big,
             "scalar": torch.tensor(0.1, dtype=torch.float32), "empty": torch.zeros(0, 3)},
            {"config": '{"dim": 3, "optimizer": "adagrad"}', "step": "1000", "rng": "0123456789abcdef",
             "unicode": "na\u00efve \u2713 \"q\" \\ \n tab\t"})


def check_embcl_written(path):
    want_t, want_m = expected_embcl_written()
    got = load_file(path)
    assert set(got) == set(want_t), (sorted(got), sorted(want_t))
    for name, w in want_t.items():
        g = got[name]
        assert g.dtype == w.dtype, (name, g.dtype, w.dtype)
        assert g.shape == w.shape, (name, g.shape, w.shape)
        assert torch.equal(g, w), (name, g, w)
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
    assert meta == want_m, (meta, want_m)
    print(f"OK: safetensors.torch.load_file read {path}: {len(want_t)} tensors "
          f"({', '.join(f'{n} {str(t.dtype)[6:]} {list(t.shape)}' for n, t in want_t.items())}) "
          f"with exact values, and {len(want_m)} metadata pairs equal")


if __name__ == "__main__":
    write_torch_files()
    written = sys.argv[1] if len(sys.argv) > 1 else os.path.join(OUT, "embcl_written.safetensors")
    if os.path.exists(written):
        check_embcl_written(written)
    else:
        print(f"no {written} yet: run the io tests, copy build/io-out/embcl_written.safetensors there, rerun")
