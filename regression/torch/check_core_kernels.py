#!/usr/bin/env python3
"""Parity of the core CPU kernels with PyTorch.

Builds the kernels into a scratch shared library, calls them through ctypes,
and compares forward values and gradients with the same operations written in
PyTorch (autograd for the gradients), in float64 on the same float32 inputs:
linear and batched matmul, SiLU and the latent saturations of the reference's
AutoEncoder.saturate, AdaLN modulation and residual mixing of its ViT blocks,
the losses of its AutoEncoderLoss (MSE, MAE, VRMSE, pairwise similarity),
torch.optim.AdamW + clip_grad_norm_ + LambdaLR as get_optimizer/safe_gd_step
build them, and safetensors files both ways (through the `safetensors`
package when it is installed, else through a reader written here).

Exits 0 with "skipped: torch not installed" where PyTorch is absent.

    python3 regression/torch/check_core_kernels.py      (from the repository root)
"""

import ctypes
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("skipped: torch not installed")
    sys.exit(0)

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOURCES = [
    "kernels/cpu/linear.c", "kernels/cpu/elementwise.c", "kernels/cpu/elementwise_modulation.c",
    "kernels/cpu/elementwise_layout.c", "kernels/cpu/loss.c", "kernels/cpu/optim.c", "kernels/cpu/rng.c",
    "src/error.c", "src/log.c", "src/tensor.c", "parallel/comm.c", "io/atomic_file.c", "io/safetensors.c",
    "io/safetensors_header.c", "io/safetensors_params.c",
]

torch.manual_seed(0)
results = {"passed": 0, "failed": 0}


def check(name, got, want, rtol=1e-5, atol=1e-6):
    got = torch.as_tensor(np.array(got), dtype=torch.float64)
    want = torch.as_tensor(want, dtype=torch.float64).detach()
    ok = got.shape == want.shape and torch.allclose(got, want, rtol=rtol, atol=atol)
    results["passed" if ok else "failed"] += 1
    err = (got - want).abs().max().item() if got.shape == want.shape else float("nan")
    print(f"{'ok  ' if ok else 'FAIL'} {name} (max abs err {err:.2e})")


def build_library(tmp):
    cc = shutil.which(os.environ.get("MPICC", "mpicc"))
    if cc is None:
        print("skipped: mpicc not found")
        sys.exit(0)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas"], capture_output=True, text=True).stdout.split()
    lib = os.path.join(tmp, "libcore.so")
    cmd = [cc, "-shared", "-fPIC", "-O2", "-std=gnu11", "-fopenmp", "-I", ROOT]
    cmd += [os.path.join(ROOT, s) for s in SOURCES] + flags + ["-lm", "-o", lib]
    subprocess.run(cmd, check=True)
    return ctypes.CDLL(lib)


def f32(t):
    return np.ascontiguousarray(t.detach().numpy().astype(np.float32))


def ptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float)) if a is not None else None


def leaf(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


I64, D = ctypes.c_int64, ctypes.c_double


def check_linear(lib):
    for rows, cin, cout in [(7, 5, 3), (64, 33, 17)]:
        x, w, b, dy = (f32(torch.randn(*s)) for s in [(rows, cin), (cout, cin), (cout,), (rows, cout)])
        y = np.empty((rows, cout), np.float32)
        lib.k_linear_fwd(ptr(y), ptr(x), ptr(w), ptr(b), I64(rows), I64(cin), I64(cout))
        xt, wt, bt = leaf(x), leaf(w), leaf(b)
        yt = F.linear(xt, wt, bt)
        yt.backward(torch.tensor(dy, dtype=torch.float64))
        check(f"linear_fwd {rows}x{cin}->{cout}", y, yt)
        dx, dw, db = np.empty_like(x), np.zeros_like(w), np.zeros_like(b)
        lib.k_linear_bwd(ptr(dx), ptr(dw), ptr(db), ptr(dy), ptr(x), ptr(w), I64(rows), I64(cin), I64(cout))
        check("linear_bwd dx", dx, xt.grad)
        check("linear_bwd dw", dw, wt.grad, rtol=1e-4)
        check("linear_bwd db", db, bt.grad, rtol=1e-4)

    batch, m, n, k = 3, 4, 5, 6
    a, b, dc = f32(torch.randn(batch, k, m)), f32(torch.randn(batch, n, k)), f32(torch.randn(batch, m, n))
    c = np.empty((batch, m, n), np.float32)
    lib.k_bmm_fwd(ptr(c), ptr(a), ptr(b), I64(batch), I64(m), I64(n), I64(k), True, True)
    at, bt = leaf(a), leaf(b)
    ct = torch.bmm(at.transpose(1, 2), bt.transpose(1, 2))
    ct.backward(torch.tensor(dc, dtype=torch.float64))
    check("bmm_fwd (transposed operands)", c, ct)
    da, db = np.empty_like(a), np.empty_like(b)
    lib.k_bmm_bwd(ptr(da), ptr(db), ptr(dc), ptr(a), ptr(b), I64(batch), I64(m), I64(n), I64(k), True, True)
    check("bmm_bwd da", da, at.grad)
    check("bmm_bwd db", db, bt.grad)


def check_pointwise(lib):
    x, dy = f32(8 * torch.randn(1001)), f32(torch.randn(1001))
    saturations = {  # AutoEncoder.saturate in lola/autoencoder.py
        1: lambda z: z / (1 + abs(z) / 5),
        2: lambda z: z * torch.rsqrt(1 + torch.square(z / 5)),
        3: lambda z: torch.tanh(z / 5) * 5,
        4: lambda z: torch.arcsinh(z),
    }
    ops = [("silu", None, F.silu)] + [(f"saturation {k}", k, f) for k, f in saturations.items()]
    for name, kind, fn in ops:
        y, dx = np.empty_like(x), np.empty_like(x)
        if kind is None:
            lib.k_silu_fwd(ptr(y), ptr(x), I64(x.size))
            lib.k_silu_bwd(ptr(dx), ptr(dy), ptr(x), I64(x.size))
        else:
            lib.k_saturate_fwd(ptr(y), ptr(x), I64(x.size), kind)
            lib.k_saturate_bwd(ptr(dx), ptr(dy), ptr(x), I64(x.size), kind)
        xt = leaf(x)
        yt = fn(xt)
        yt.backward(torch.tensor(dy, dtype=torch.float64))
        check(f"{name} fwd", y, yt)
        check(f"{name} bwd", dx, xt.grad)


def check_modulation(lib):
    B, N, C = 3, 5, 70  # tokens (B, N, C), per-sample vectors (B, 1, C) as the ViT's ada_zero
    x, r, dy = (f32(torch.randn(B, N, C)) for _ in range(3))
    a, b, c = (f32(0.5 * torch.randn(B, 1, C)) for _ in range(3))
    tokens = 1
    y = np.empty_like(x)
    lib.k_modulate_fwd(ptr(y), ptr(x), ptr(a), ptr(b), I64(C), I64(B), I64(C), I64(N), tokens)
    xt, at, bt = leaf(x), leaf(a), leaf(b)
    yt = (at + 1) * xt + bt
    yt.backward(torch.tensor(dy, dtype=torch.float64))
    check("modulate fwd", y, yt)
    dx, da, db = np.empty_like(x), np.zeros_like(a), np.zeros_like(b)
    lib.k_modulate_bwd(ptr(dx), ptr(da), ptr(db), ptr(dy), ptr(x), ptr(a), I64(C), I64(B), I64(C), I64(N), tokens)
    check("modulate bwd dx", dx, xt.grad)
    check("modulate bwd dscale", da, at.grad, rtol=1e-4)
    check("modulate bwd dshift", db, bt.grad, rtol=1e-4)

    lib.k_residual_mix_fwd(ptr(y), ptr(x), ptr(r), ptr(c), I64(C), I64(B), I64(C), I64(N), tokens)
    xt, rt, ct = leaf(x), leaf(r), leaf(c)
    yt = (xt + ct * rt) * torch.rsqrt(1 + ct * ct)
    yt.backward(torch.tensor(dy, dtype=torch.float64))
    check("residual_mix fwd", y, yt)
    dx, dr, dc = np.empty_like(x), np.empty_like(r), np.zeros_like(c)
    lib.k_residual_mix_bwd(ptr(dx), ptr(dr), ptr(dc), ptr(dy), ptr(x), ptr(r), ptr(c), I64(C), I64(B), I64(C), I64(N),
                           tokens)
    check("residual_mix bwd dx", dx, xt.grad)
    check("residual_mix bwd dr", dr, rt.grad)
    check("residual_mix bwd dc", dc, ct.grad, rtol=1e-4)


def check_losses(lib):
    for fn in ["k_mse_fwd", "k_mae_fwd", "k_vrmse_fwd", "k_similarity_fwd"]:
        getattr(lib, fn).restype = D
    B, C, H, W = 4, 3, 8, 6
    x, y = f32(torch.randn(B, C, H, W)), f32(torch.randn(B, C, H, W))
    n = x.size
    xt = torch.tensor(x, dtype=torch.float64)

    def reference(loss, yt, z=None):  # AutoEncoderLoss.forward, x the target and y the output
        if loss == "mse":
            return (xt - yt).square().mean()
        if loss == "mae":
            return (xt - yt).abs().mean()
        if loss == "vrmse":
            xf, yf = xt.flatten(2), yt.flatten(2)
            l = (xf - yf).square().mean(dim=2) / (xf.var(dim=2) + 1e-2)
            return torch.sqrt(l).mean()
        f = z.flatten(1)
        l = F.cosine_similarity(f[None, :], f[:, None], dim=-1)
        return l[tuple(torch.triu_indices(*l.shape, offset=1))].mean()

    for loss in ["mse", "mae", "vrmse"]:
        g = np.empty_like(y)
        if loss == "vrmse":
            got = lib.k_vrmse_fwd(ptr(y), ptr(x), I64(B), I64(C), I64(H * W))
            lib.k_vrmse_bwd(ptr(g), ptr(y), ptr(x), I64(B), I64(C), I64(H * W), D(1.0))
        else:
            got = getattr(lib, f"k_{loss}_fwd")(ptr(y), ptr(x), I64(n))
            getattr(lib, f"k_{loss}_bwd")(ptr(g), ptr(y), ptr(x), I64(n), D(1.0))
        yt = leaf(y)
        want = reference(loss, yt)
        want.backward()
        check(f"{loss} value", [got], [want.item()], rtol=1e-9)
        check(f"{loss} grad", g, yt.grad)

    z = f32(torch.randn(B, 5, 2, 2) + 0.5)
    got = lib.k_similarity_fwd(ptr(z), I64(B), I64(20))
    g = np.empty_like(z)
    lib.k_similarity_bwd(ptr(g), ptr(z), I64(B), I64(20), D(1.0))
    zt = leaf(z)
    want = reference("similarity", None, zt)
    want.backward()
    check("similarity value", [got], [want.item()], rtol=1e-9)
    check("similarity grad", g, zt.grad)


class AdamWConfig(ctypes.Structure):
    _fields_ = [(k, ctypes.c_double) for k in ["lr", "beta1", "beta2", "eps", "weight_decay", "grad_clip"]]


class AdamWState(ctypes.Structure):
    _fields_ = [("steps", ctypes.c_int64), ("skipped", ctypes.c_int64)]


def check_optimizer(lib):
    lib.k_adamw_safe_step.restype = D
    lib.lr_factor.restype = D
    epochs, warmup, n = 6, 2, 37
    cfg = AdamWConfig(lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, grad_clip=1.0)
    state = AdamWState(0, 0)
    p0 = f32(torch.randn(n))
    p, m, v = p0.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32)

    # get_optimizer("adamw", scheduler="cosine", warmup=2) and safe_gd_step(grad_clip=1.0).
    pt = torch.nn.Parameter(torch.tensor(p0))
    opt = torch.optim.AdamW([pt], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)
    cosine = lambda t: (1 + math.cos(math.pi * t / epochs)) / 2
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1, (t + 1) / (warmup + 1)) * cosine(t))
    for t in range(epochs):
        grad = f32(torch.randn(n) * (0.1 if t % 2 else 2.0))
        if t == 3:
            grad[5] = np.nan  # a non-finite step: skipped by both
        factor = lib.lr_factor(0 + 2, I64(t), I64(epochs), I64(warmup))  # LR_COSINE = 2
        check(f"lr factor epoch {t}", [cfg.lr * factor], [sched.get_last_lr()[0]], rtol=1e-12)
        g = grad.copy()
        norm = lib.k_adamw_safe_step(ctypes.byref(cfg), ctypes.byref(state), D(factor), ptr(p), ptr(g), ptr(m),
                                     ptr(v), I64(n))
        pt.grad = torch.tensor(grad)
        want = torch.nn.utils.clip_grad_norm_([pt], cfg.grad_clip)
        if want.isfinite():
            opt.step()
        opt.zero_grad()
        sched.step()
        check(f"adamw step {t}: norm", [norm if math.isfinite(norm) else -1],
              [want.item() if want.isfinite() else -1], rtol=1e-5)
        check(f"adamw step {t}: parameters", p, pt.detach(), rtol=1e-5, atol=1e-7)
    check("adamw skipped count", [state.skipped, state.steps], [1, epochs - 1])


class ParamEntry(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 160), ("ndim", ctypes.c_int), ("shape", ctypes.c_int64 * 6),
                ("numel", ctypes.c_int64), ("offset", ctypes.c_int64)]


class Registry(ctypes.Structure):
    _fields_ = [("entries", ctypes.POINTER(ParamEntry)), ("count", ctypes.c_int), ("capacity", ctypes.c_int),
                ("finalized", ctypes.c_bool), ("total", ctypes.c_int64)] + \
               [(k, ctypes.POINTER(ctypes.c_float)) for k in ["values", "grads", "m", "v"]]


def read_safetensors(path):
    """An independent reader of the public format."""
    with open(path, "rb") as fh:
        blob = fh.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        assert info["dtype"] == "F32"
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
    return out, header.get("__metadata__", {})


def check_safetensors(lib, tmp):
    tensors = {"encoder.descent.0.0.weight": torch.randn(4, 3, 3, 3), "encoder.descent.0.0.bias": torch.randn(4),
               "backbone.blocks.0.ada_zero": torch.randn(4, 8)}
    reg = Registry()
    lib.params_init(ctypes.byref(reg), 8)
    for name, t in tensors.items():
        shape = (ctypes.c_int64 * 6)(*t.shape)
        lib.params_add(ctypes.byref(reg), name.encode(), t.dim(), shape)
    lib.params_finalize(ctypes.byref(reg))
    lib.params_value.restype = ctypes.POINTER(ctypes.c_float)

    def values(i, n):
        return np.ctypeslib.as_array(lib.params_value(ctypes.byref(reg), i), shape=(n,))

    # Python -> C
    path = os.path.join(tmp, "from_python.safetensors")
    try:
        from safetensors.torch import save_file
        save_file(tensors, path, metadata={"format": "pt"})
        writer = "safetensors package"
    except ImportError:
        head = {}
        off = 0
        for name, t in tensors.items():
            head[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + 4 * t.numel()]}
            off += 4 * t.numel()
        text = json.dumps(head, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        with open(path, "wb") as fh:
            fh.write(struct.pack("<Q", len(text)) + text + b"".join(t.numpy().astype("<f4").tobytes() for t in tensors.values()))
        writer = "hand-written writer"
    lib.st_load_params(path.encode(), ctypes.byref(reg), True)
    for i, (name, t) in enumerate(tensors.items()):
        check(f"safetensors {writer} -> C: {name}", values(i, t.numel()), t.flatten())

    # Half-precision checkpoints (a bf16 run's weights) load into float parameters.
    try:
        from safetensors.torch import save_file
        for dtype in (torch.bfloat16, torch.float16):
            path = os.path.join(tmp, f"from_python_{dtype}.safetensors")
            save_file({k: t.to(dtype) for k, t in tensors.items()}, path)
            lib.st_load_params(path.encode(), ctypes.byref(reg), True)
            for i, (name, t) in enumerate(tensors.items()):
                check(f"safetensors {dtype} -> C: {name}", values(i, t.numel()), t.to(dtype).double().flatten(), 0, 0)
    except ImportError:
        print("(half-precision files not checked: the safetensors package is not installed)")

    # C -> Python
    lib.st_load_params(os.path.join(tmp, "from_python.safetensors").encode(), ctypes.byref(reg), True)
    for i, (name, t) in enumerate(tensors.items()):
        values(i, t.numel())[:] *= 2
    path = os.path.join(tmp, "from_c.safetensors")
    lib.st_save_params(path.encode(), ctypes.byref(reg), None)
    back, _ = read_safetensors(path)
    try:
        from safetensors.torch import load_file
        back = {k: v.numpy() for k, v in load_file(path).items()}
    except ImportError:
        pass
    for name, t in tensors.items():
        check(f"safetensors C -> Python: {name}", back[name], 2 * t)


def main():
    tmp = tempfile.mkdtemp(prefix="lola-torch-")
    try:
        lib = build_library(tmp)
        print(f"torch {torch.__version__}")
        check_linear(lib)
        check_pointwise(lib)
        check_modulation(lib)
        check_losses(lib)
        check_optimizer(lib)
        check_safetensors(lib, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
