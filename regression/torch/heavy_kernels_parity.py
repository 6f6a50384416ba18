#!/usr/bin/env python3
"""Parity of the heavy CPU kernels with the PyTorch reference (PolymathicAI/lola):
the reference's own modules against our kernels, called through ctypes from a
shared library built here from the kernel sources.

  LOLA_REF=<ref> python3 regression/torch/heavy_kernels_parity.py

Cases: ConvNd (2D circular, 3D zeros, strided circular, and the Winograd path; values and the
gradients of input, weight and bias) and its identity_init; the channel
LayerNorm module (unbiased var_mean), nn.LayerNorm, RMSNorm, GroupNorm;
Patchify / Unpatchify in 2D and 3D, channel-first and channel-last; SineEncoding
(buffer, values, gradient); and MultiheadSelfAttention with qk-norm, RoPE angles
from ViTBlock's einsum(coo, theta) and a windowed mask, composed from our linear,
split, rmsnorm, rope and attention kernels (output, and gradients of x, theta
and the qkv weight). One line per case with the largest relative error
(max |ours - torch| / max |torch|); exits 1 when one exceeds 1e-4. Skips
(exit 0) when torch or the reference is absent."""
import ctypes as C
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
try:
    import numpy as np
    import torch
    sys.path.insert(0, os.environ.get("LOLA_SHIMS", os.path.join(ROOT, "..", "shared", "reference")))
    import lola_ref  # noqa: F401  (shims for torch 1.13)
    from lola.nn.layers import ConvNd, LayerNorm, RMSNorm, Patchify, Unpatchify
    from lola.nn.embedding import SineEncoding
    from lola.nn.attention import MultiheadSelfAttention
except Exception as e:  # noqa: BLE001
    print(f"skipped: PyTorch or the reference is not available ({e})")
    sys.exit(0)

TOL = 1e-4
SOURCES = ["kernels/cpu/conv.c", "kernels/cpu/conv_geom.c", "kernels/cpu/conv_winograd.c", "kernels/cpu/norm.c", "kernels/cpu/shuffle.c",
           "kernels/cpu/attention.c", "kernels/cpu/rope.c", "kernels/cpu/embedding.c", "kernels/cpu/linear.c",
           "src/error.c"]


def build_library(tmp):
    cc = shutil.which("mpicc") or "cc"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas"], capture_output=True, text=True).stdout.split()
    out = os.path.join(tmp, "libheavy.so")
    subprocess.run([cc, "-O2", "-std=gnu11", "-fPIC", "-shared", "-fopenmp", "-I", ROOT]
                   + [os.path.join(ROOT, s) for s in SOURCES] + flags + ["-lopenblas", "-lm", "-o", out], check=True)
    return C.CDLL(out)


class ConvShape(C.Structure):
    _fields_ = [("batch", C.c_int64), ("cin", C.c_int64), ("cout", C.c_int64), ("dims", C.c_int),
                ("in_", C.c_int64 * 3), ("kernel", C.c_int * 3), ("stride", C.c_int * 3), ("pad", C.c_int * 3),
                ("circular", C.c_bool)]


class PatchShape(C.Structure):
    _fields_ = [("batch", C.c_int64), ("channels", C.c_int64), ("dims", C.c_int), ("in_", C.c_int64 * 3),
                ("patch", C.c_int * 3), ("channel_last", C.c_bool)]


def arr(t):
    """A contiguous float32 numpy copy of a tensor (kept alive by the caller)."""
    return np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)


def ptr(a):
    return a.ctypes.data_as(C.c_void_p) if a is not None else None


def empty(shape):
    return np.zeros(shape, dtype=np.float32)


def rel(ours, ref):
    ref = ref.detach().numpy() if torch.is_tensor(ref) else ref
    return float(np.abs(ours.reshape(ref.shape) - ref).max() / max(np.abs(ref).max(), 1e-30))


failures = []


def report(name, errors):
    worst = max(errors.values())
    detail = ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
    print(f"{'ok  ' if worst <= TOL else 'FAIL'} {name}: {detail}")
    if worst > TOL:
        failures.append(name)


def check_conv(lib, name, spatial, shape, cin, cout, circular, stride=1):
    torch.manual_seed(1)
    conv = ConvNd(cin, cout, spatial=spatial, kernel_size=3, padding=1, stride=stride,
                  padding_mode="circular" if circular else "zeros")
    x = torch.randn(2, cin, *shape, requires_grad=True)
    y = conv(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    s = ConvShape(2, cin, cout, spatial, (C.c_int64 * 3)(*shape), (C.c_int * 3)(*[3] * spatial),
                  (C.c_int * 3)(*[stride] * spatial), (C.c_int * 3)(*[1] * spatial), circular)
    xs, ws, bs, dys = arr(x), arr(conv.weight), arr(conv.bias), arr(dy)
    fwd_ws = lib.k_conv_fwd_workspace_floats(C.byref(s))
    bwd_ws = lib.k_conv_bwd_workspace_floats(C.byref(s))
    work = empty(max(fwd_ws, bwd_ws) + 1)
    ys, dx, dw, db = empty(y.shape), empty(x.shape), empty(conv.weight.shape), empty(cout)
    lib.k_conv_fwd(ptr(ys), ptr(xs), ptr(ws), ptr(bs), C.byref(s), ptr(work))
    lib.k_conv_bwd(ptr(dx), ptr(dw), ptr(db), ptr(dys), ptr(xs), ptr(ws), C.byref(s), ptr(work))
    report(name, {"y": rel(ys, y), "dx": rel(dx, x.grad), "dw": rel(dw, conv.weight.grad),
                  "db": rel(db, conv.bias.grad)})


def check_identity_init(lib):
    torch.manual_seed(7)
    ref = ConvNd(6, 10, spatial=2, identity_init=True, kernel_size=3, padding=1).weight
    torch.manual_seed(7)
    w = arr(ConvNd(6, 10, spatial=2, kernel_size=3, padding=1).weight)
    s = ConvShape(1, 6, 10, 2, (C.c_int64 * 3)(4, 4), (C.c_int * 3)(3, 3), (C.c_int * 3)(1, 1),
                  (C.c_int * 3)(1, 1), False)
    lib.k_conv_identity_init(ptr(w), C.byref(s))
    report("conv identity_init", {"w": rel(w, ref)})


def check_norm(lib, name, module, x, call_fwd, call_bwd):
    x = x.clone().requires_grad_(True)
    y = module(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    xs, dys = arr(x), arr(dy)
    ys, rstd, dx = empty(x.shape), empty(x.numel()), empty(x.shape)
    call_fwd(ptr(ys), ptr(rstd), ptr(xs))
    call_bwd(ptr(dx), ptr(dys), ptr(ys), ptr(rstd))
    report(name, {"y": rel(ys, y), "dx": rel(dx, x.grad)})


def check_norms(lib):
    torch.manual_seed(2)
    b, c, h, w = 2, 12, 5, 7
    x = torch.randn(b, c, h, w) * 2 + 0.5
    i64 = C.c_int64
    check_norm(lib, "LayerNorm(dim=-3) module (unbiased)", LayerNorm(dim=-3), x,
               lambda y, r, x_: lib.k_layernorm_channels_fwd(y, r, x_, i64(b), i64(c), i64(h * w)),
               lambda dx, dy, y, r: lib.k_layernorm_channels_bwd(dx, dy, y, r, i64(b), i64(c), i64(h * w)))
    check_norm(lib, "GroupNorm(4, affine=False)", torch.nn.GroupNorm(4, c, affine=False), x,
               lambda y, r, x_: lib.k_groupnorm_fwd(y, r, x_, i64(b), i64(c), i64(4), i64(h * w)),
               lambda dx, dy, y, r: lib.k_groupnorm_bwd(dx, dy, y, r, i64(b), i64(c), i64(4), i64(h * w)))
    t = torch.randn(6, 5, 32) + 0.3
    check_norm(lib, "nn.LayerNorm(elementwise_affine=False)", torch.nn.LayerNorm(32, elementwise_affine=False), t,
               lambda y, r, x_: lib.k_layernorm_fwd(y, r, x_, i64(30), i64(32)),
               lambda dx, dy, y, r: lib.k_layernorm_bwd(dx, dy, y, r, i64(30), i64(32)))
    check_norm(lib, "RMSNorm(dim=-1)", RMSNorm(dim=-1), t,
               lambda y, r, x_: lib.k_rmsnorm_fwd(y, r, x_, i64(30), i64(32)),
               lambda dx, dy, y, r: lib.k_rmsnorm_bwd(dx, dy, y, r, i64(30), i64(32)))


def check_patchify(lib):
    torch.manual_seed(3)
    for spatial, full, patch in ((2, (6, 8), (2, 4)), (3, (2, 6, 4), (1, 3, 2))):
        for last in (False, True):
            x = torch.randn(2, 3, *full, requires_grad=True)
            y = Patchify(patch, channel_last=last)(x)
            dy = torch.randn_like(y)
            y.backward(dy)
            s = PatchShape(2, 3, spatial, (C.c_int64 * 3)(*full), (C.c_int * 3)(*patch), last)
            xs, dys = arr(x), arr(dy)
            ys, dx, back = empty(y.shape), empty(x.shape), empty(x.shape)
            lib.k_patchify_fwd(ptr(ys), ptr(xs), C.byref(s))
            lib.k_patchify_bwd(ptr(dx), ptr(dys), C.byref(s))
            lib.k_unpatchify_fwd(ptr(back), ptr(ys), C.byref(s))
            unpatched = Unpatchify(patch, channel_last=last)(y.detach())
            report(f"Patchify/Unpatchify {spatial}D {'channel-last' if last else 'channel-first'}",
                   {"y": rel(ys, y), "dx": rel(dx, x.grad), "unpatch": rel(back, unpatched)})


def check_sine(lib):
    enc = SineEncoding(64)
    freqs = empty(32)
    lib.k_sine_freqs(ptr(freqs), C.c_int64(64), C.c_double(1e3))
    x = (torch.randn(50) * 30).requires_grad_(True)
    y = enc(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    xs, dys, ys, dx = arr(x), arr(dy), empty(y.shape), empty(50)
    lib.k_sine_encoding_fwd(ptr(ys), ptr(xs), ptr(freqs), C.c_int64(50), C.c_int64(64))
    lib.k_sine_encoding_bwd(ptr(dx), ptr(dys), ptr(xs), ptr(freqs), C.c_int64(50), C.c_int64(64))
    report("SineEncoding(64)", {"freqs": rel(freqs, enc.freqs), "y": rel(ys, y), "dx": rel(dx, x.grad)})


def check_attention(lib, window):
    torch.manual_seed(4)
    b, grid, ch, heads = 2, (5, 6), 32, 4
    L, D, N, P = grid[0] * grid[1], ch // heads, 2, ch // 2
    msa = MultiheadSelfAttention(ch, attention_heads=heads, qk_norm=True)
    theta = torch.nn.Parameter(torch.randn(N, P))
    coo = torch.cartesian_prod(*(torch.arange(n) for n in grid)).float()
    mask = None
    if window:
        delta = torch.abs(coo[:, None] - coo[None, :])
        delta = torch.minimum(delta, torch.tensor(grid, dtype=torch.float) - delta)
        mask = torch.all(delta <= 1, dim=-1)
    x = torch.randn(b, L, ch, requires_grad=True)
    y = msa(x, torch.einsum("...ij,jk", coo, theta), mask)
    dy = torch.randn_like(y)
    y.backward(dy)

    i64 = C.c_int64
    rows = b * L
    xs, wq, wo, bo = arr(x), arr(msa.qkv_proj.weight), arr(msa.y_proj.weight), arr(msa.y_proj.bias)
    coos, thetas, dys = arr(coo), arr(theta), arr(dy)
    masks = np.ascontiguousarray(mask.numpy(), dtype=np.bool_) if window else None
    qkv, q, k, v = empty((rows, 3 * ch)), empty((rows, ch)), empty((rows, ch)), empty((rows, ch))
    qn, kn, rq, rk, ang = empty((rows, ch)), empty((rows, ch)), empty(rows * heads), empty(rows * heads), empty((L, P))
    att, lse, out = empty((rows, ch)), empty(b * heads * L), empty((rows, ch))
    work = empty(lib.k_attention_workspace_floats(i64(L), i64(D)))
    lib.k_linear_fwd(ptr(qkv), ptr(xs), ptr(wq), None, i64(rows), i64(ch), i64(3 * ch))
    lib.k_qkv_split_fwd(ptr(q), ptr(k), ptr(v), ptr(qkv), i64(rows), i64(ch))
    lib.k_rmsnorm_fwd(ptr(qn), ptr(rq), ptr(q), i64(rows * heads), i64(D))
    lib.k_rmsnorm_fwd(ptr(kn), ptr(rk), ptr(k), i64(rows * heads), i64(D))
    lib.k_rope_angles_fwd(ptr(ang), ptr(coos), ptr(thetas), i64(L), i64(N), i64(P))
    lib.k_rope_fwd(ptr(qn), ptr(qn), ptr(ang), i64(b), i64(L), i64(ch))  # in place: qn now rotated
    lib.k_rope_fwd(ptr(kn), ptr(kn), ptr(ang), i64(b), i64(L), i64(ch))
    lib.k_attention_fwd(ptr(att), ptr(lse), ptr(qn), ptr(kn), ptr(v), ptr(masks), i64(b), i64(L), i64(heads),
                        i64(D), ptr(work))
    lib.k_linear_fwd(ptr(out), ptr(att), ptr(wo), ptr(bo), i64(rows), i64(ch), i64(ch))

    datt, dwo, dbo = empty((rows, ch)), empty(wo.shape), empty(ch)
    dq, dk, dv, dang, dtheta = empty((rows, ch)), empty((rows, ch)), empty((rows, ch)), empty((L, P)), empty((N, P))
    dqkv, dx, dwq = empty((rows, 3 * ch)), empty((rows, ch)), empty(wq.shape)
    lib.k_linear_bwd(ptr(datt), ptr(dwo), ptr(dbo), ptr(dys), ptr(att), ptr(wo), i64(rows), i64(ch), i64(ch))
    lib.k_attention_bwd(ptr(dq), ptr(dk), ptr(dv), ptr(datt), ptr(qn), ptr(kn), ptr(v), ptr(att), ptr(lse),
                        ptr(masks), i64(b), i64(L), i64(heads), i64(D), ptr(work))
    lib.k_rope_bwd(ptr(dq), ptr(dang), ptr(dq), ptr(qn), ptr(ang), i64(b), i64(L), i64(ch))
    lib.k_rope_bwd(ptr(dk), ptr(dang), ptr(dk), ptr(kn), ptr(ang), i64(b), i64(L), i64(ch))
    lib.k_rope_angles_bwd(ptr(dtheta), ptr(dang), ptr(coos), i64(L), i64(N), i64(P))
    # the norm backward needs the normalised (unrotated) values: rotate back
    lib.k_rope_bwd(ptr(qn), None, ptr(qn), ptr(qn), ptr(ang), i64(b), i64(L), i64(ch))
    lib.k_rope_bwd(ptr(kn), None, ptr(kn), ptr(kn), ptr(ang), i64(b), i64(L), i64(ch))
    lib.k_rmsnorm_bwd(ptr(q), ptr(dq), ptr(qn), ptr(rq), i64(rows * heads), i64(D))
    lib.k_rmsnorm_bwd(ptr(k), ptr(dk), ptr(kn), ptr(rk), i64(rows * heads), i64(D))
    lib.k_qkv_split_bwd(ptr(dqkv), ptr(q), ptr(k), ptr(dv), i64(rows), i64(ch))
    lib.k_linear_bwd(ptr(dx), ptr(dwq), None, ptr(dqkv), ptr(xs), ptr(wq), i64(rows), i64(ch), i64(3 * ch))
    report(f"MultiheadSelfAttention qk-norm + RoPE{' + window mask' if window else ''}",
           {"y": rel(out, y), "dx": rel(dx, x.grad), "dtheta": rel(dtheta, theta.grad),
            "dWqkv": rel(dwq, msa.qkv_proj.weight.grad), "dWy": rel(dwo, msa.y_proj.weight.grad)})


def main():
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        lib = build_library(tmp)
        lib.k_conv_fwd_workspace_floats.restype = C.c_int64
        lib.k_conv_bwd_workspace_floats.restype = C.c_int64
        lib.k_attention_workspace_floats.restype = C.c_int64
        check_conv(lib, "ConvNd 2D circular", 2, (7, 6), 3, 5, True)
        check_conv(lib, "ConvNd 3D zeros", 3, (3, 5, 4), 2, 4, False)
        check_conv(lib, "ConvNd 2D stride 2 circular", 2, (8, 7), 3, 4, True, stride=2)
        check_conv(lib, "ConvNd 2D 16->24 circular (Winograd)", 2, (9, 10), 16, 24, True)
        check_conv(lib, "ConvNd 2D 24->16 zeros (Winograd)", 2, (8, 7), 24, 16, False)
        check_identity_init(lib)
        check_norms(lib)
        check_patchify(lib)
        check_sine(lib)
        check_attention(lib, window=False)
        check_attention(lib, window=True)
    if failures:
        print(f"{len(failures)} case(s) off by more than {TOL}: {', '.join(failures)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
