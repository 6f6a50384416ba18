"""safetensors read and write with numpy alone (F32), for the parity scripts:
the same files the C program reads and writes, without the safetensors package."""
import json
import struct

import numpy as np


def st_write(path, tensors, metadata=None):
    """tensors: name -> torch tensor (any float dtype, written as F32)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        # ascontiguousarray turns 0-dim arrays into 1-dim ones: keep the tensor's shape (eps buffers are scalars)
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32)).reshape(tuple(t.shape))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def st_read(path):
    """name -> torch tensor, for F32 files."""
    import torch

    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        assert info["dtype"] == "F32", name
        out[name] = torch.from_numpy(np.frombuffer(data[8 + n + b:8 + n + e], dtype=np.float32).copy()).reshape(
            info["shape"])
    return out
