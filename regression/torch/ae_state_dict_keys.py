#!/usr/bin/env python3
"""Write the reference's state_dict keys and shapes (buffers included) of the
autoencoders of inputs/presets/ae/ to regression/data/state_dict/ae_<preset>.txt,
one "name d0,d1,..." line each, sorted. Run once with PyTorch and the reference
importable (see ../shared/reference):
  LOLA_REF=<ref> python3 regression/torch/ae_state_dict_keys.py
The unit test test_dcae_state_dict.c compares our registries with these files.
Skips (exit 0) when torch or the reference is unavailable."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
try:
    import torch.nn as nn
    sys.path.insert(0, os.environ.get("LOLA_SHIMS", os.path.join(ROOT, "..", "shared", "reference")))
    import lola_ref  # noqa: F401  (shims for torch 1.13)
    from lola.autoencoder import get_autoencoder
except Exception as e:  # noqa: BLE001
    print(f"skipped: PyTorch or the reference is not available ({e})")
    sys.exit(0)

# Build on the meta device: names and shapes only, no memory for the large presets.
for conv in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
    conv.__init__ = (lambda init: lambda self, *a, **k: init(self, *a, **{**k, "device": "meta"}))(conv.__init__)

# The reference's YAML presets (experiments/configs/ae/dcae_*.yaml) and our
# laptop preset dcae_f4c8_laptop, as get_autoencoder receives them.
COMMON = dict(arch="dcae", saturation="softclip2", latent_noise=0.01, pixel_shuffle=True, norm="layer",
              attention_heads={}, ffn_factor=1, dropout=0.05, checkpointing=False, identity_init=True)
PRESETS = {
    "dcae_f32c64_large": dict(lat_channels=64, hid_channels=[64, 128, 256, 512, 768, 1024], hid_blocks=[3] * 6),
    "dcae_f32c64_small": dict(lat_channels=64, hid_channels=[32, 64, 128, 256, 384, 512], hid_blocks=[3] * 6),
    "dcae_3d_f8c64_large": dict(lat_channels=64, hid_channels=[64, 256, 512, 1024], hid_blocks=[3] * 4),
    "dcae_f4c8_laptop": dict(lat_channels=8, hid_channels=[16, 32, 64], hid_blocks=[1] * 3),
}
# pix_channels and spatial as train_ae.py sets them from the dataset: the Euler
# fields (5) in 2D, gravity_cooling's 6 fields in 3D.
DATA = {"dcae_3d_f8c64_large": (6, 3)}


def dump(model, path):
    lines = [f"{k} {','.join(str(d) for d in v.shape)}" for k, v in model.state_dict().items()]
    with open(path, "w") as f:
        f.write("\n".join(sorted(lines)) + "\n")
    print(f"{path}: {len(lines)} tensors")


out = os.path.join(ROOT, "regression", "data", "state_dict")
os.makedirs(out, exist_ok=True)
for name, arch in PRESETS.items():
    pix, spatial = DATA.get(name, (5, 2))
    model = get_autoencoder(pix_channels=pix, spatial=spatial, name=name, **COMMON, **arch)
    dump(model, os.path.join(out, f"ae_{name}.txt"))
