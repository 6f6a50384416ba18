#!/usr/bin/env python3
"""PyTorch timings of the ops of bench_kernels_core.c, same shapes, same threads.

Prints one line "time <op> <seconds>" per op (the best of repeated runs, as the
C benchmark), which bench_kernels_core reads to report its ratio column. Exits 0
with "skipped: torch not installed" where PyTorch is absent.

    python3 regression/bench/bench_kernels_core_torch.py --threads 2
"""

import argparse
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("skipped: torch not installed")
    sys.exit(0)


def best_time(fn, budget):
    fn()
    best, start, runs = float("inf"), time.perf_counter(), 0
    while runs < 3 or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    B, N, C, FF = 8, 320, 256, 4 * 256
    rows = B * N

    for fin, fout in [(C, C), (C, FF), (FF, C)]:
        x = torch.randn(rows, fin, requires_grad=True)
        w = torch.randn(fout, fin, requires_grad=True)
        b = torch.randn(fout, requires_grad=True)
        dy = torch.randn(rows, fout)

        def fwd():
            with torch.no_grad():
                F.linear(x, w, b)

        y = F.linear(x, w, b)

        def bwd():
            # dx, dw, db from the saved graph, as our backward from saved inputs.
            torch.autograd.grad(y, (x, w, b), dy, retain_graph=True)

        print(f"time linear_{fin}_{fout}_fwd {best_time(fwd, 0.5):.6e}")
        print(f"time linear_{fin}_{fout}_bwd {best_time(bwd, 0.5):.6e}")

    x = torch.randn(B, N, C, requires_grad=True)
    r = torch.randn(B, N, C, requires_grad=True)
    dy = torch.randn(B, N, C)
    scale = torch.randn(B, 1, C, requires_grad=True)
    shift = torch.randn(B, 1, C, requires_grad=True)
    c = torch.randn(B, 1, C, requires_grad=True)

    silu = lambda: F.silu(x)
    modulate = lambda: (scale + 1) * x + shift
    mix = lambda: (x + c * r) * torch.rsqrt(1 + c * c)
    for name, f, inputs in [("silu", silu, (x,)), ("modulate", modulate, (x, scale, shift)), ("residual_mix", mix, (x, r, c))]:
        def fwd():
            with torch.no_grad():
                f()

        y = f()

        def bwd():
            torch.autograd.grad(y, inputs, dy, retain_graph=True)

        print(f"time {name}_fwd {best_time(fwd, 0.3):.6e}")
        print(f"time {name}_bwd {best_time(bwd, 0.3):.6e}")


if __name__ == "__main__":
    main()
