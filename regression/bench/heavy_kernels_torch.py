#!/usr/bin/env python3
"""PyTorch timings of the ops that bench_kernels_heavy times, same shapes, same threads.

    python3 regression/bench/heavy_kernels_torch.py [threads ...]     (default: 1 2)

Prints CSV lines  op,shape,threads,pass,ms  with the op / shape / pass names of
bench_kernels_heavy, so regression/bench/compare_heavy.py can join the two.
Each op is the reference's formulation (lola/nn/layers.py, attention.py): the
channel LayerNorm via torch.var_mean, RMSNorm as x·rsqrt(mean(x²) + eps),
attention as scaled_dot_product_attention where torch has it (≥ 2.0), else the
explicit softmax(q·kᵀ/√D)·v. A backward is timed alone (torch.autograd.grad on
a retained graph). Times: best of 5 repeats of a batch of calls lasting 0.2 s.
Exits 0 with a note on stderr when torch is not installed.
"""
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("heavy_kernels_torch: torch is not installed, nothing to compare", file=sys.stderr)
    sys.exit(0)


def best_time(fn):
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    reps = 1 if one > 0.2 else int(0.2 / max(one, 1e-6)) + 1
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def emit(op, shape, threads, pas, seconds):
    print(f"{op},{shape},{threads},{pas},{seconds * 1e3:.4f}", flush=True)


def time_pair(forward, inputs, threads, op, shape):
    """Forward alone, then the backward of the same graph alone."""
    with torch.no_grad():
        emit(op, shape, threads, "fwd", best_time(lambda: forward(*inputs)))
    leaves = [t.requires_grad_(True) for t in inputs]
    y = forward(*leaves)
    dy = torch.randn_like(y)
    emit(op, shape, threads, "bwd",
         best_time(lambda: torch.autograd.grad(y, leaves, dy, retain_graph=True)))


def conv(threads, cin, cout, size, circular):
    x = torch.randn(8, cin, size, size)
    w = torch.randn(cout, cin, 3, 3) * 0.1
    b = torch.randn(cout)
    if circular:
        def forward(x, w, b):
            return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), w, b)
    else:
        def forward(x, w, b):
            return F.conv2d(x, w, b, padding=1)
    shape = f"8x{cin}->{cout}@{size}x{size}{'circ' if circular else ''}"
    time_pair(forward, [x, w, b], threads, "conv3x3", shape)


def attention(threads, batch, tokens, channels, heads):
    d = channels // heads
    q, k, v = (torch.randn(batch, heads, tokens, d) for _ in range(3))
    if hasattr(F, "scaled_dot_product_attention"):
        def forward(q, k, v):
            return F.scaled_dot_product_attention(q, k, v)
    else:
        def forward(q, k, v):
            s = torch.matmul(q, k.transpose(-1, -2)) * d**-0.5
            return torch.matmul(torch.softmax(s, dim=-1), v)
    time_pair(forward, [q, k, v], threads, "attention", f"{batch}x{tokens}x{channels}/h{heads}")


def norm(threads, op, shape, x):
    if op == "layernorm_channels":
        def forward(x):
            var, mean = torch.var_mean(x, dim=1, keepdim=True)
            return (x - mean) * torch.rsqrt(var + 1e-5)
    elif op == "layernorm":
        def forward(x):
            return F.layer_norm(x, x.shape[-1:])
    elif op == "rmsnorm":
        def forward(x):
            return x * torch.rsqrt(torch.mean(torch.square(x), dim=-1, keepdim=True) + 1e-5)
    else:
        def forward(x):
            return F.group_norm(x, 16)
    time_pair(forward, [x], threads, op, shape)


def main():
    counts = [int(a) for a in sys.argv[1:]] or [1, 2]
    print(f"# torch {torch.__version__}", file=sys.stderr)
    print("op,shape,threads,pass,ms")
    for threads in counts:
        torch.set_num_threads(threads)
        conv(threads, 5, 32, 64, False)
        conv(threads, 32, 32, 64, False)
        conv(threads, 32, 32, 64, True)
        conv(threads, 64, 64, 32, False)
        conv(threads, 128, 128, 16, False)
        conv(threads, 256, 256, 8, False)
        attention(threads, 8, 320, 256, 4)
        norm(threads, "layernorm_channels", "8x64x1024", torch.randn(8, 64, 1024))
        norm(threads, "layernorm_channels", "8x256x64", torch.randn(8, 256, 64))
        norm(threads, "layernorm", "2560x256", torch.randn(2560, 256))
        norm(threads, "rmsnorm", "10240x64", torch.randn(10240, 64))
        norm(threads, "groupnorm", "8x64x1024", torch.randn(8, 64, 1024))


if __name__ == "__main__":
    main()
