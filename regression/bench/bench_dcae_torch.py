#!/usr/bin/env python3
"""PyTorch side of benchmark B1 (regression/bench/bench_dcae.c runs it): the
reference's DCAE autoencoder (get_autoencoder) with the same architecture and
batch, one training step (forward, AutoEncoderLoss "mse", backward, AdamW) on
`--threads` threads. Prints "seconds_per_step <best>" or "skipped: ..." when
torch is absent. Needs LOLA_REF (see ../shared/reference)."""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=4)
p.add_argument("--hid", type=str, default="32,64,128,256")
p.add_argument("--blocks", type=int, default=2)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--pix", type=int, default=5)
p.add_argument("--lat", type=int, default=16)
p.add_argument("--size", type=int, default=64)
args = p.parse_args()
try:
    import torch
    torch.set_num_threads(args.threads)
    sys.path.insert(0, os.environ.get("LOLA_SHIMS", os.path.join(ROOT, "..", "shared", "reference")))
    import lola_ref  # noqa: F401
    from lola.autoencoder import AutoEncoderLoss, get_autoencoder
except Exception as e:  # noqa: BLE001
    print(f"skipped: PyTorch or the reference is not available ({e})")
    sys.exit(0)

hid = [int(h) for h in args.hid.split(",")]
model = get_autoencoder(pix_channels=args.pix, lat_channels=args.lat, spatial=2, hid_channels=hid,
                        hid_blocks=[args.blocks] * len(hid), pixel_shuffle=True)
loss_fn = AutoEncoderLoss(losses=["mse"], weights=[1.0])
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0)
model.train()
x = torch.randn(args.batch, args.pix, args.size, args.size)


def step():
    loss = loss_fn(model, x)
    loss.backward()
    opt.step()
    opt.zero_grad()


step()  # warm-up
best = float("inf")
for _ in range(args.steps):
    t0 = time.perf_counter()
    step()
    best = min(best, time.perf_counter() - t0)
print(f"seconds_per_step {best:.6f}")
