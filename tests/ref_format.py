"""Writer for embcl's reference files (read by tests/support/ref.c).

Text, so reviews can read a diff; float32 values printed with repr() of the
float32 value, which round-trips exactly.
"""
import numpy as np

_DTYPES = {np.dtype("float32"): "f32", np.dtype("int32"): "i32", np.dtype("int64"): "i64"}


def _as_array(x):
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    if a.dtype == np.bool_:
        a = a.astype(np.int64)
    if a.dtype not in _DTYPES:
        raise TypeError(f"reference tensors are f32, i32 or i64, not {a.dtype}")
    return a


class RefWriter:
    def __init__(self, path, comment=""):
        self.f = open(path, "w")
        self.f.write("embcl-ref 1\n")
        for line in comment.splitlines():
            self.f.write(f"# {line}\n")
        self.names = set()
        self.open = False

    def case(self, name, **attrs):
        if " " in name or name in self.names:
            raise ValueError(f"bad or repeated case name {name!r}")
        self._end()
        self.names.add(name)
        self.f.write(f"case {name}\n")
        self.open = True
        for k, v in attrs.items():
            self.attr(k, v)

    def attr(self, key, value):
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, float):
            value = repr(float(value))
        value = str(value)
        if not value or any(c.isspace() for c in value):
            raise ValueError(f"attr {key}: value {value!r} must be one word")
        self.f.write(f"attr {key} {value}\n")

    def tensor(self, name, x):
        a = _as_array(x)
        shape = a.shape if a.ndim > 0 else (1,)
        self.f.write(f"tensor {name} {_DTYPES[a.dtype]} {len(shape)} {' '.join(str(d) for d in shape)}\n")
        flat = a.reshape(-1)
        if a.dtype == np.float32:
            vals = [repr(float(v)) if np.isfinite(v) else ("nan" if np.isnan(v) else ("inf" if v > 0 else "-inf"))
                    for v in flat]
        else:
            vals = [str(int(v)) for v in flat]
        for i in range(0, len(vals), 16):
            self.f.write(" ".join(vals[i:i + 16]) + "\n")

    def _end(self):
        if self.open:
            self.f.write("end\n")
            self.open = False

    def close(self):
        self._end()
        self.f.close()
