#!/usr/bin/env python3
"""Write the reference's state_dict keys and shapes (buffers included) of the
ViT surrogates and denoisers of inputs/presets/{surrogate,denoiser}/ to
regression/data/state_dict/<family>_<preset>.txt, one "name d0,d1,..." line
each, sorted. Run once with PyTorch and the reference importable (see
../shared/reference): LOLA_REF=<ref> python3 regression/torch/vit_state_dict_keys.py
The unit test test_vit_state_dict.c compares our registries with these files.
Skips (exit 0) when torch or the reference is unavailable."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
try:
    import torch
    import torch.nn as nn
    sys.path.insert(0, os.environ.get("LOLA_SHIMS", os.path.join(ROOT, "..", "shared", "reference")))
    import lola_ref  # noqa: F401  (shims for torch 1.13)
    from lola.surrogate import get_surrogate
    from lola.diffusion import get_denoiser
    from omegaconf_shim import DictLike
except Exception as e:  # noqa: BLE001
    print(f"skipped: PyTorch or the reference is not available ({e})")
    sys.exit(0)

# Build on the meta device: names and shapes only, no memory for the large presets.
_linear_init = nn.Linear.__init__
nn.Linear.__init__ = lambda self, *a, **k: _linear_init(self, *a, **{**k, "device": "meta"})

# The reference's YAML presets (experiments/configs/{surrogate,denoiser}/), plus
# vit_pixel for the denoiser (the surrogate's) and our laptop preset vit_tiny.
ARCH = {
    "vit_large": dict(emb_features=256, hid_channels=1024, hid_blocks=16, ffn_factor=4, attention_heads=8,
                      qk_norm=True, rope=True, patch_size=1, window_size=None, dropout=0.05),
    "vit_small": dict(emb_features=256, hid_channels=512, hid_blocks=16, ffn_factor=4, attention_heads=4,
                      qk_norm=True, rope=True, patch_size=1, window_size=None, dropout=0.05),
    "vit_pixel": dict(emb_features=256, hid_channels=2048, hid_blocks=16, ffn_factor=4, attention_heads=16,
                      qk_norm=True, rope=True, patch_size=[1, 16, 16], window_size=None, dropout=0.05),
    "vit_tiny": dict(emb_features=64, hid_channels=64, hid_blocks=2, ffn_factor=2, attention_heads=2,
                     qk_norm=True, rope=True, patch_size=1, window_size=None, dropout=0.0),
}
# Channels and labels as the training scripts set them: latent 64 channels (5
# pixel fields for vit_pixel), 5 label features, spatial = 2 + time.
CHANNELS = {"vit_large": 64, "vit_small": 64, "vit_pixel": 5, "vit_tiny": 8}
LABELS = 5


def dump(model, path):
    lines = [f"{k} {','.join(str(d) for d in v.shape)}" for k, v in model.state_dict().items()]
    with open(path, "w") as f:
        f.write("\n".join(sorted(lines)) + "\n")
    print(f"{path}: {len(lines)} tensors")


out = os.path.join(ROOT, "regression", "data", "state_dict")
os.makedirs(out, exist_ok=True)
for name, arch in ARCH.items():
    common = dict(channels=CHANNELS[name], label_features=LABELS, spatial=3, **arch)
    dump(get_surrogate(**common), os.path.join(out, f"surrogate_{name}.txt"))
    schedule = DictLike(name="log_logit", sigma_min=1e-3, sigma_max=1e3, scale=1.0, shift=0.0)
    dump(get_denoiser(masked=True, schedule=schedule, **common), os.path.join(out, f"denoiser_{name}.txt"))
