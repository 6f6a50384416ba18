"""Compare two safetensors files tensor by tensor (read by hand: 8-byte header
length, JSON header, raw little-endian data), for the training e2e tests.

  python3 st_diff.py A B [TOL [PREFIX]]
      exit 0 when every tensor (whose name starts with PREFIX) has the same name,
      shape and dtype and max |a - b| <= TOL * max(1, max|a|) per tensor (TOL 0:
      bitwise equal); prints the worst. TOL "differ": exit 0 when every such
      tensor differs somewhere (it was trained)."""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (path, name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"])
    return out


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    prefix = sys.argv[4] if len(sys.argv) > 4 else ""
    a = {k: v for k, v in a.items() if k.startswith(prefix)}
    b = {k: v for k, v in b.items() if k.startswith(prefix)}
    if not a:
        print(f"no tensor starts with '{prefix}'")
        return 1
    if len(sys.argv) > 3 and sys.argv[3] == "differ":
        # Buffers (the norms' eps) are constants, not trained: only parameters must move.
        same = [k for k in a if k in b and not k.endswith(".eps") and a[k].tobytes() == b[k].tobytes()]
        print(f"{len(a)} tensors, {len(same)} unchanged {same[:3]}")
        return 0 if not same else 1
    tol = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    if sorted(a) != sorted(b):
        print("different tensor names:", sorted(set(a) ^ set(b))[:5])
        return 1
    worst, where = 0.0, ""
    for name in a:
        if a[name].shape != b[name].shape:
            print(f"{name}: shapes {a[name].shape} and {b[name].shape}")
            return 1
        if tol == 0:
            if a[name].tobytes() != b[name].tobytes():
                print(f"{name}: not bitwise equal (max diff {np.abs(a[name] - b[name]).max():.3g})")
                return 1
            continue
        scale = max(1.0, float(np.abs(a[name]).max()))
        d = float(np.abs(a[name].astype(np.float64) - b[name]).max()) / scale
        if d > worst:
            worst, where = d, name
    print(f"{len(a)} tensors, worst relative difference {worst:.3g} ({where})")
    return 0 if worst <= tol else 1


sys.exit(main())
