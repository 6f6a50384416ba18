"""PyTorch's time for the operations check_kernels --bench times, on the same
sizes (bf16 autocast, torch.compile), so the note can state ratios."""
import time

import torch
import torch.nn.functional as F


def timed(fn, reps=10):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / reps * 1e3


def matmul_peak(dev):
    a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    ms = timed(lambda: a @ a)
    print(f"torch: bf16 matmul 8192^3                                        {ms:8.3f} ms {2 * 8192**3 / ms / 1e9:6.1f} TFLOP/s",
          flush=True)


def attention(dev):
    B, L, H, D = 32, 1280, 8, 128
    q, k, v = (torch.randn(B, H, L, D, device=dev, dtype=torch.bfloat16, requires_grad=True) for _ in range(3))

    def attn_fwd():
        return F.scaled_dot_product_attention(q, k, v)

    ms_f = timed(attn_fwd)
    o = attn_fwd()
    g = torch.ones_like(o)
    ms_b = timed(lambda: torch.autograd.grad(o, (q, k, v), g, retain_graph=True))
    af = 4.0 * B * H * L * L * D
    print(f"torch: attention fwd 32x1280x8x128 (bf16 flash)                  {ms_f:8.3f} ms {af / ms_f / 1e9:6.1f} TFLOP/s",
          flush=True)
    print(f"torch: attention bwd 32x1280x8x128 (bf16 flash)                  {ms_b:8.3f} ms {2.5 * af / ms_b / 1e9:6.1f} TFLOP/s",
          flush=True)


def linear(dev):
    rows, cin, cout = 32 * 1280, 1024, 4096
    lin = torch.nn.Linear(cin, cout, device=dev)
    x = torch.randn(rows, cin, device=dev, requires_grad=True)
    step = torch.compile(lambda: lin(x))

    def linear_step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            y = step()
        y.backward(torch.ones_like(y))

    ms = timed(linear_step)
    flops = 3 * 2.0 * rows * cin * cout
    print(f"torch: linear fwd+bwd 40960x1024->4096 (bf16 autocast, compiled) {ms:8.3f} ms {flops / ms / 1e9:6.1f} TFLOP/s",
          flush=True)


def main():
    # the eager figures first: the compiled linear's warm-up may meet the time limit
    dev = "cuda"
    matmul_peak(dev)
    attention(dev)
    linear(dev)


if __name__ == "__main__":
    main()
