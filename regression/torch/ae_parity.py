#!/usr/bin/env python3
"""Parity of the DCAE autoencoder and its loss with the PyTorch reference
(PolymathicAI/lola: lola/autoencoder.py, lola/nn/dcae.py): the same weights (a
torch state_dict written as safetensors and loaded strictly by the C program)
and inputs give the same latents, reconstructions, input and parameter
gradients, loss and loss gradients to 1e-4 relative in fp32; and the C
program's own weight file loads back into torch with strict=True.

  LOLA_REF=<ref> python3 regression/torch/ae_parity.py [BUILD_DIR]

BUILD_DIR holds bench/ae_parity (make BUILD=... BUILD_DIR/bench/ae_parity);
default build. Prints one line per case with the largest relative error
(max |ours - torch| / max |torch| over each tensor), and exits 1 when a case
is off by more than 1e-4. Skips (exit 0) when torch or the reference is absent."""
import os
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
    from lola.autoencoder import AutoEncoderLoss, get_autoencoder
except Exception as e:  # noqa: BLE001
    print(f"skipped: PyTorch or the reference is not available ({e})")
    sys.exit(0)
sys.path.insert(0, HERE)
from st_io import st_read, st_write  # noqa: E402

TOL = 1e-4


def randomise(model, gen):
    """O(1) effects everywhere: the reference's 1e-2 scalings would hide most paths."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            fan_in = p.shape[1] * int(np.prod(p.shape[2:])) if p.ndim > 1 else 10
            p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * (1.2 / fan_in ** 0.5))


def rel(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


def run_case(name, arch, pix, lat, shape, saturation, losses, weights, driver, tmp, batch=3):
    spatial = len(shape)
    model = get_autoencoder(pix_channels=pix, lat_channels=lat, spatial=spatial, saturation=saturation, **arch)
    randomise(model, torch.Generator().manual_seed(len(name)))
    model.eval()
    x = torch.randn(batch, pix, *shape)
    with torch.no_grad():
        z0 = model.encode(x)
    dy, dz = torch.randn(batch, pix, *shape), torch.randn(z0.shape)

    # 1. the model: y, z = autoencoder(x) and the gradients of Σ dy·y + Σ dz·z
    xl = x.clone().requires_grad_(True)
    y, z = model(xl)
    ((y * dy).sum() + (z * dz).sum()).backward()
    grads = {k: p.grad.clone() for k, p in model.named_parameters()}
    # 2. the loss
    model.zero_grad()
    loss_fn = AutoEncoderLoss(losses=losses, weights=weights)
    loss = loss_fn(model, x)
    loss.backward()

    weights_path, ins, out, ours = (os.path.join(tmp, f"{name}_{s}.safetensors") for s in ("w", "in", "out", "ours"))
    st_write(weights_path, model.state_dict())
    meta = dict(spatial=spatial, pix_channels=pix, lat_channels=lat, batch=batch, shape=",".join(map(str, shape)),
                hid_channels=",".join(map(str, arch["hid_channels"])),
                hid_blocks=",".join(map(str, arch["hid_blocks"])),
                attention_heads=",".join(str(arch.get("attention_heads", {}).get(i, 0))
                                         for i in range(len(arch["hid_channels"]))),
                kernel_size=arch.get("kernel_size", 3), stride=arch.get("stride", 2),
                patch_size=arch.get("patch_size", 1), pixel_shuffle=int(arch.get("pixel_shuffle", True)),
                norm=arch.get("norm", "layer"), ffn_factor=arch.get("ffn_factor", 1),
                periodic=int(arch.get("periodic", False)), saturation=saturation or "none",
                losses=",".join(losses), weights=",".join(map(str, weights)))
    st_write(ins, {"input.x": x, "input.dy": dy, "input.dz": dz}, meta)
    r = subprocess.run([driver, weights_path, ins, out, ours], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {name}: driver exited {r.returncode}\n{r.stdout}{r.stderr}")
        return False
    got = st_read(out)
    errs = {"y": rel(got["output.y"], y.detach()), "z": rel(got["output.z"], z.detach()),
            "grad x": rel(got["grad.x"], xl.grad), "loss": rel(got["loss.value"], loss.detach().reshape(1))}
    worst = {"param grads": (0.0, ""), "loss grads": (0.0, "")}
    for pname, p in model.named_parameters():
        for key, prefix, ref in (("param grads", "grad", grads[pname]), ("loss grads", "lossgrad", p.grad)):
            e = rel(got[f"{prefix}.{pname}"], ref)
            if e > worst[key][0]:
                worst[key] = (e, pname)
    errs.update({k: v[0] for k, v in worst.items()})
    # the other direction: our weight file into the torch model, strictly
    sd = st_read(ours)
    model.load_state_dict(sd, strict=True)
    same = all(torch.equal(sd[k].reshape(v.shape), v) for k, v in model.state_dict().items())
    ok = max(errs.values()) <= TOL and same
    print(f"{'ok  ' if ok else 'FAIL'} {name}: " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()) +
          f" (worst parameter {worst['param grads'][1]}); strict load of our file into torch: "
          f"{'ok' if same else 'MISMATCH'}")
    return ok


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    driver = os.path.join(build, "bench", "ae_parity")
    if not os.path.exists(driver):
        print(f"FAIL: {driver} not built (make BUILD={build} {driver})")
        return 1
    torch.manual_seed(0)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        # 1. 2D, pixel shuffle, attention at the deepest level, the reference's default norm and init.
        arch = dict(hid_channels=[8, 12, 16], hid_blocks=[1, 2, 1], attention_heads={2: 2}, ffn_factor=2)
        ok &= run_case("dcae_2d_shuffle_attention", arch, 3, 4, (16, 12), "softclip2", ["mse", "vrmse", "similarity"],
                       [1.0, 0.5, 0.1], driver, tmp)
        # 2. 2D, strided conv and nearest upsampling, patches, periodic, group norm.
        arch = dict(hid_channels=[16, 32], hid_blocks=[1, 1], pixel_shuffle=False, patch_size=2, periodic=True,
                    norm="group", kernel_size=5)
        ok &= run_case("dcae_2d_strided_patch_periodic", arch, 2, 3, (16, 8), "tanh", ["mae"], [1.0], driver, tmp)
        # 3. 3D, pixel shuffle, rmsnorm saturation.
        arch = dict(hid_channels=[4, 8], hid_blocks=[1, 1])
        ok &= run_case("dcae_3d_shuffle", arch, 2, 4, (4, 6, 4), "rmsnorm", ["mse", "mae"], [1.0, 0.3], driver, tmp,
                       batch=2)
        # 4. the laptop preset's architecture.
        arch = dict(hid_channels=[16, 32, 64], hid_blocks=[1, 1, 1])
        ok &= run_case("dcae_f4c8_laptop", arch, 5, 8, (32, 32), "softclip2", ["vrmse"], [1.0], driver, tmp, batch=2)
    print("parity: all within 1e-4" if ok else "parity: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
