"""Writes tests/data/core/selftest.ref, the reader's own test file (no torch needed)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_format import RefWriter  # noqa: E402

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "core", "selftest.ref")
w = RefWriter(out, "Round-trip check of tests/ref_format.py and tests/support/ref.c.")
w.case("mixed", mode="sum", n=3, eps=1e-7)
w.tensor("x", np.array([[0.1, -2.5, 3e-20], [1.0 / 3.0, 7.0, -0.0]], dtype=np.float32))
w.tensor("idx", np.arange(20, dtype=np.int64) * (1 << 33))
w.tensor("small", np.array([5, -6], dtype=np.int32))
w.case("empty")
w.tensor("none", np.zeros((0, 4), dtype=np.float32))
w.close()
