#!/usr/bin/env python3
"""Parity of the ViT, the masked surrogate and the EDM denoiser with the
PyTorch reference (PolymathicAI/lola): the same weights (a torch state_dict
written as safetensors and loaded strictly by the C program) and inputs give
the same outputs and input/parameter gradients to 1e-4 relative in fp32; and
the C program's own weight file loads back into torch with strict=True.

  LOLA_REF=<ref> python3 regression/torch/vit_parity.py [BUILD_DIR] [--preset-scale]

BUILD_DIR holds bench/vit_parity (make BUILD=... BUILD_DIR/bench/vit_parity);
default build. Prints one line per case with the largest relative error
(max |ours - torch| / max |torch| over each tensor), and exits 1 when a case
is off by more than 1e-4. --preset-scale adds the vit_small surrogate (512
channels, 16 blocks, 4 heads) on a small token grid. Skips (exit 0) when torch or the reference is absent."""
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
    from lola.nn.vit import ViT
    from lola.surrogate import get_surrogate
    from lola.diffusion import get_denoiser, MaskedDenoiser
    from omegaconf_shim import DictLike
except Exception as e:  # noqa: BLE001
    print(f"skipped: PyTorch or the reference is not available ({e})")
    sys.exit(0)
sys.path.insert(0, HERE)
from st_io import st_read, st_write  # noqa: E402

TOL = 1e-4


def randomise(model, gen):
    """O(1) effects everywhere: the reference's near-zero AdaLN init would hide most paths."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("theta"):
                continue  # keep the reference's RoPE init
            fan_in = p.shape[-1] if p.ndim > 1 else 4
            p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * (1.5 / fan_in ** 0.5))


def rel(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


def run_case(name, model, call, inputs, meta, driver, tmp):
    gen = torch.Generator().manual_seed(len(name))
    randomise(model, gen)
    model.eval()
    x_key = "input.x_t" if "input.x_t" in inputs else "input.x"
    leaves = {k: v.clone().requires_grad_(k in (x_key, "input.mod", "input.cond") and meta["family"] == "vit"
                                        or k == x_key) for k, v in inputs.items() if k != "input.dy"}
    y = call(model, leaves)
    (y * inputs["input.dy"]).sum().backward()
    weights, ins, out, ours = (os.path.join(tmp, f"{name}_{s}.safetensors") for s in ("w", "in", "out", "ours"))
    st_write(weights, model.state_dict())
    st_write(ins, inputs, meta)
    r = subprocess.run([driver, weights, ins, out, ours], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL {name}: driver exited {r.returncode}\n{r.stdout}{r.stderr}")
        return False
    got = st_read(out)
    errs = {"output": rel(got["output.y"], y.detach())}
    errs["grad x"] = rel(got["grad.x"], leaves[x_key].grad)
    for k in ("mod", "cond"):
        if f"grad.{k}" in got:
            errs[f"grad {k}"] = rel(got[f"grad.{k}"], leaves[f"input.{k}"].grad)
    worst_param, worst_name = 0.0, ""
    for pname, p in model.named_parameters():
        e = rel(got[f"grad.{pname}"], p.grad)
        if e > worst_param:
            worst_param, worst_name = e, pname
    errs["param grads"] = worst_param
    # the other direction: our weight file into a fresh copy of the model, strictly
    sd = st_read(ours)
    model.load_state_dict(sd, strict=True)
    same = all(torch.equal(sd[k], v) for k, v in model.state_dict().items())
    ok = max(errs.values()) <= TOL and same
    print(f"{'ok  ' if ok else 'FAIL'} {name}: " + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()) +
          f" (worst parameter {worst_name}); strict load of our file into torch: {'ok' if same else 'MISMATCH'}")
    return ok


def arch(**kw):
    base = dict(hid_channels=32, hid_blocks=2, ffn_factor=2, attention_heads=2, qk_norm=True, rope=True, spatial=3)
    base.update(kw)
    return base


def arch_meta(a, patch, window):
    return dict(hid_channels=a["hid_channels"], hid_blocks=a["hid_blocks"], ffn_factor=a["ffn_factor"],
                attention_heads=a["attention_heads"], spatial=a["spatial"], qk_norm=int(a["qk_norm"]),
                rope=int(a["rope"]), patch=",".join(map(str, patch)), window=",".join(map(str, window)))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build = args[0] if args else os.path.join(ROOT, "build")
    driver = os.path.join(build, "bench", "vit_parity")
    if not os.path.exists(driver):
        print(f"FAIL: {driver} not built (make BUILD={build} {driver})")
        return 1
    torch.manual_seed(0)
    B, shape = 2, (3, 4, 4)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        # 1. The bare ViT: condition and modulation, patches, a local window.
        a = arch()
        vit = ViT(in_channels=3, out_channels=3, cond_channels=2, mod_features=16, patch_size=[1, 2, 2],
                  window_size=[3, 1, 3], **a)
        inputs = {"input.x": torch.randn(B, 3, *shape), "input.mod": torch.randn(B, 16),
                  "input.cond": torch.randn(B, 2, *shape), "input.dy": torch.randn(B, 3, *shape)}
        meta = dict(family="vit", batch=B, shape=",".join(map(str, shape)), in_channels=3, out_channels=3,
                    cond_channels=2, mod_features=16, **arch_meta(a, [1, 2, 2], [3, 1, 3]))
        ok &= run_case("vit", vit, lambda m, v: m(v["input.x"], v["input.mod"], v["input.cond"]), inputs, meta,
                       driver, tmp)
        # 2. The masked surrogate with labels.
        C = 4
        mask = torch.zeros(B, C, *shape)
        mask[0, :, :1] = 1
        mask[1, :, :2] = 1
        sur = get_surrogate(channels=C, emb_features=16, label_features=5, patch_size=1, window_size=None, **a)
        inputs = {"input.x": torch.randn(B, C, *shape), "input.mask": mask, "input.label": torch.randn(B, 5),
                  "input.dy": torch.randn(B, C, *shape)}
        meta = dict(family="surrogate", batch=B, shape=",".join(map(str, shape)), channels=C, emb_features=16,
                    label_features=5, **arch_meta(a, [1, 1, 1], [0, 0, 0]))
        ok &= run_case("surrogate", sur,
                       lambda m, v: m(v["input.x"], mask=v["input.mask"].bool(), label=v["input.label"]), inputs,
                       meta, driver, tmp)
        # 3. The denoiser as trained (mask as condition), log-logit schedule with scale and shift.
        sched = DictLike(name="log_logit", sigma_min=1e-3, sigma_max=1e3, scale=1.2, shift=0.3)
        den = get_denoiser(channels=C, emb_features=16, label_features=5, masked=True, schedule=sched,
                           patch_size=1, window_size=None, **a)
        t = torch.tensor([0.35, 0.8])
        inputs = {"input.x_t": torch.randn(B, C, *shape) * 2, "input.t": t, "input.label": torch.randn(B, 5),
                  "input.mask": mask, "input.dy": torch.randn(B, C, *shape)}
        dmeta = dict(batch=B, shape=",".join(map(str, shape)), channels=C, emb_features=16, label_features=5,
                     masked=1, schedule="log_logit", sigma_min=1e-3, sigma_max=1e3, scale=1.2, shift=0.3,
                     **arch_meta(a, [1, 1, 1], [0, 0, 0]))
        ok &= run_case("denoiser", den,
                       lambda m, v: m(v["input.x_t"], v["input.t"], label=v["input.label"],
                                      cond=v["input.mask"].bool()).mean, inputs, dict(family="denoiser", **dmeta),
                       driver, tmp)
        # 4. The masked denoiser of sampling (observed entries clamped), log-linear schedule.
        sched = DictLike(name="log_linear", sigma_min=1e-3, sigma_max=1e3)
        den = get_denoiser(channels=C, emb_features=16, label_features=5, masked=True, schedule=sched,
                           patch_size=1, window_size=None, **a)
        # (the sampler calls it with one scalar time for the whole batch)
        obs = torch.randn(B, C, *shape) * mask
        inputs = dict(inputs, **{"input.y": obs, "input.t": torch.tensor([0.6, 0.6])})
        dmeta.update(schedule="log_linear", scale=1.0, shift=0.0)

        def masked_call(m, v):
            md = MaskedDenoiser(m, y=v["input.y"], mask=v["input.mask"].bool())
            return md(v["input.x_t"], v["input.t"][0], label=v["input.label"], cond=v["input.mask"].bool()).mean

        ok &= run_case("denoiser_masked", den, masked_call, inputs, dict(family="denoiser_masked", **dmeta), driver,
                       tmp)
        if "--preset-scale" in sys.argv:
            # 5. The vit_small preset's architecture (inputs/presets/surrogate/vit_small.cfg).
            a = arch(hid_channels=512, hid_blocks=16, ffn_factor=4, attention_heads=4)
            sur = get_surrogate(channels=C, emb_features=256, label_features=5, patch_size=1, window_size=None,
                                dropout=0.05, **a)
            inputs = {"input.x": torch.randn(B, C, *shape), "input.mask": mask, "input.label": torch.randn(B, 5),
                      "input.dy": torch.randn(B, C, *shape)}
            meta = dict(family="surrogate", batch=B, shape=",".join(map(str, shape)), channels=C, emb_features=256,
                        label_features=5, **arch_meta(a, [1, 1, 1], [0, 0, 0]))
            ok &= run_case("surrogate_vit_small", sur,
                           lambda m, v: m(v["input.x"], mask=v["input.mask"].bool(), label=v["input.label"]),
                           inputs, meta, driver, tmp)
    print("parity: all within 1e-4" if ok else "parity: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
