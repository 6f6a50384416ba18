#!/usr/bin/env python3
"""PyTorch side of benchmark B2 (regression/bench/bench_vit.c runs it): the
reference's ViT with the same architecture and batch, one training step
(forward, MSE loss, backward, AdamW) on `--threads` threads. Prints
"seconds_per_step <best of the timed steps>" (the machine may be shared) or "skipped: ..." when torch is absent.
Needs LOLA_REF (see ../shared/reference)."""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=4)
p.add_argument("--channels", type=int, default=256)
p.add_argument("--blocks", type=int, default=8)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--in-channels", type=int, default=16)
p.add_argument("--mod", type=int, default=256)
p.add_argument("--shape", type=str, default="5,8,8")
args = p.parse_args()
try:
    import torch
    torch.set_num_threads(args.threads)
    sys.path.insert(0, os.environ.get("LOLA_SHIMS", os.path.join(ROOT, "..", "shared", "reference")))
    import lola_ref  # noqa: F401
    from lola.nn.vit import ViT
except Exception as e:  # noqa: BLE001
    print(f"skipped: PyTorch or the reference is not available ({e})")
    sys.exit(0)

shape = [int(s) for s in args.shape.split(",")]
C = args.in_channels
model = ViT(in_channels=C, out_channels=C, cond_channels=C, mod_features=args.mod, hid_channels=args.channels,
            hid_blocks=args.blocks, spatial=len(shape), attention_heads=args.heads, qk_norm=True, rope=True,
            ffn_factor=4, patch_size=1)
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0)
x, cond = torch.randn(args.batch, C, *shape), torch.randn(args.batch, C, *shape)
mod, target = torch.randn(args.batch, args.mod), torch.randn(args.batch, C, *shape)


def step():
    y = model(x, mod, cond)
    loss = (y - target).square().mean()
    loss.backward()
    opt.step()
    opt.zero_grad()


step()  # warm-up
times = []
for _ in range(args.steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
print(f"seconds_per_step {min(times):.6f}")
