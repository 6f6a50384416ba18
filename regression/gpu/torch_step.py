#!/usr/bin/env python3
"""PyTorch side of the GPU whole-step benchmarks of issue 9, run by
regression/gpu/check.sh after our C benchmark, with the same architectures
(regression/gpu/torch_models.py, written from our C sources) and batches:

  denoiser  the EDM latent denoiser at the reference's vit_large size, one training
            step (loss forward, backward, AdamW, zero_grad) on 64 × (5 × 16 × 16)
            latent windows (1280 tokens), batch 32;
  dcae      the dcae_f32c64_large autoencoder, one training step (MSE reconstruction,
            AdamW) on 5 × 256 × 256 states, batch 8;
  rollout   a 16-step `ab` (Adams–Bashforth, order 3) sampling of 16 ensemble
            members with the vit_large masked denoiser (inference).

bf16 autocast and torch.compile on CUDA (eager when compile is unavailable or
fails: the line says so); fp32 eager-or-compiled on the CPU. torch.compile is
regional by default: each transformer block and residual block is compiled on
its own, so the 16 identical ViT blocks cost one compilation (minutes of
whole-graph compilation would not fit the check's time); --compile full
compiles the whole loss or sampling step instead. Usage:

  python3 regression/gpu/torch_step.py [--only denoiser|dcae|rollout] [--small]
                                       [--compile regional|full|off] [--steps N] [--warmup N]

--small shrinks every size so that the whole script runs in seconds on a CPU.

FLOP counts are analytic (the same formulas as our C benchmark):
  training step: 3 · 2 · Σ(matmul weights × rows they run over), i.e. 6·W·tokens,
                 plus attention 4·B·H·L²·D per block forward, × 3.5 for fwd + bwd
                 (forward 1, backward 2.5: dQ, dK, dV, dP and the recomputed QKᵀ);
  inference:     2·W·rows + 4·B·H·L²·D per block;
  convolutions:  2·(weights)·(output positions) per conv forward, × 3 for fwd + bwd.
Biases and elementwise work are not counted."""
import argparse
import contextlib
import gc
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models as tm  # noqa: E402

# ---------------------------------------------------------------- configurations

# The reference's vit_large denoiser (issue 9): latent channels 64, masked (the mask
# enters as 64 condition channels), emb 256, 1024 channels, 16 blocks, ffn 4, 8 heads,
# QK-norm, RoPE, patch 1, global attention, dropout 0.05.
DENOISER = dict(channels=64, emb_features=256, hid_channels=1024, hid_blocks=16, ffn_factor=4, heads=8,
                spatial=3, dropout=0.05, window=(5, 16, 16), batch=32)
DENOISER_SMALL = dict(DENOISER, channels=4, emb_features=32, hid_channels=64, hid_blocks=2, heads=4,
                      window=(3, 8, 8), batch=2)

# inputs/presets/ae/dcae_f32c64_large.cfg: 6 levels, 3 blocks each, no attention,
# layer norm, ffn 1, dropout 0.05, pixel shuffle, latent 64 channels, softclip2, noise 0.01.
DCAE = dict(pix_channels=5, lat_channels=64, hid=(64, 128, 256, 512, 768, 1024), blocks=(3,) * 6, ffn_factor=1,
            dropout=0.05, latent_noise=0.01, state=(256, 256), batch=8)
DCAE_SMALL = dict(DCAE, lat_channels=8, hid=(8, 16, 32), blocks=(1, 1, 1), state=(32, 32), batch=2)

ROLLOUT = dict(members=16, steps=16, order=3)
ROLLOUT_SMALL = dict(members=2, steps=16, order=3)


# ---------------------------------------------------------------- helpers


class Env:
    def __init__(self, args):
        self.dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.cuda = self.dev.type == "cuda"
        how = "off" if args.no_compile else args.compile
        self.compile = how != "off" and hasattr(torch, "compile")
        # regional compilation needs nn.Module.compile (PyTorch 2.2); full graphs otherwise
        self.regional = how == "regional" and hasattr(torch.nn.Module, "compile")
        self.eager_reason = "" if self.compile else (
            "--compile off" if how == "off" else "no torch.compile in this PyTorch")
        self.warmup, self.steps = args.warmup, args.steps
        self.peak = None  # measured matmul peak, TFLOP/s

    def autocast(self):
        if self.cuda:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()


def matmul_peak(env):
    """bf16 8192³ on CUDA (fp32 1024³ on the CPU), TFLOP/s."""
    n, dtype = (8192, torch.bfloat16) if env.cuda else (1024, torch.float32)
    a = torch.randn(n, n, device=env.dev, dtype=dtype)
    b = torch.randn(n, n, device=env.dev, dtype=dtype)
    for _ in range(3):
        a @ b
    env.sync()
    reps = 20 if env.cuda else 3
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    env.sync()
    return 2.0 * n**3 * reps / (time.perf_counter() - t) / 1e12, f"{'bf16' if env.cuda else 'fp32'} {n}^3"


def cleanup(env):
    """Free the last benchmark's compiled graphs and memory before the next one."""
    gc.collect()
    if hasattr(torch, "_dynamo"):
        torch._dynamo.reset()
    if env.cuda:
        torch.cuda.empty_cache()


def make_adamw(params, env):
    """AdamW, fused where this PyTorch has it (CUDA)."""
    kw = dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.01)
    if env.cuda:
        try:
            return torch.optim.AdamW(params, fused=True, **kw), "fused AdamW"
        except (TypeError, RuntimeError):
            pass
    return torch.optim.AdamW(params, **kw), "AdamW"


REGIONS = (tm.ViTBlock, tm.ResBlock)  # the repeated blocks a regional compilation compiles


def maybe_compile(fn, env, model):
    """fn compiled whole, or fn as it is with model's blocks compiled one by one."""
    if not env.regional:
        return torch.compile(fn), "compiled"
    for m in model.modules():
        if isinstance(m, REGIONS):
            m.compile()
    return fn, "compiled per block"


def uncompile(model):
    """Undo maybe_compile's per-block compilation (the eager fallback)."""
    for m in model.modules():
        if getattr(m, "_compiled_call_impl", None) is not None:
            m._compiled_call_impl = None


def run_timed(step, env):
    """Warm up (compiles), then time env.steps calls. A compile failure during the
    warm-up is reported and the caller retries eagerly. Returns (ms per call,
    warm-up seconds, peak GiB or None)."""
    t = time.perf_counter()
    for _ in range(env.warmup):
        step()
    env.sync()
    warm = time.perf_counter() - t
    if env.cuda:
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(env.steps):
        step()
    env.sync()
    ms = (time.perf_counter() - t) / env.steps * 1e3
    peak = torch.cuda.max_memory_allocated() / 2**30 if env.cuda else None
    return ms, warm, peak


def bench(build_step, env, name, flops, model):
    """build_step(compiled: bool) -> (step callable, mode string). Runs compiled,
    falls back to eager on failure, prints the result line."""
    step, mode = build_step(env.compile)
    if not env.compile:
        mode = mode.replace("eager", f"eager ({env.eager_reason})", 1)
    try:
        ms, warm, peak = run_timed(step, env)
    except Exception as e:  # noqa: BLE001 - any compile failure: fall back to eager
        if not env.compile:
            raise
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        print(f"torch: {name}: torch.compile failed ({type(e).__name__}: {msg}); eager fallback", flush=True)
        torch._dynamo.reset()
        uncompile(model)
        step, mode = build_step(False)
        mode = mode.replace("eager", "eager (compile failed)", 1)
        ms, warm, peak = run_timed(step, env)
    tflops = flops / ms / 1e9
    frac = f" ({100 * tflops / env.peak:.0f}% of the measured peak)" if env.peak else ""
    mem = f"{peak:.2f} GiB" if peak is not None else "n/a (cpu)"
    precision = "bf16 autocast" if env.cuda else "fp32"
    print(f"torch: {name} {ms:9.2f} ms, {tflops:7.2f} TFLOP/s{frac}, {flops / 1e12:.4g} TFLOP per call, "
          f"peak GPU memory {mem} [{precision}, {mode}; warm-up {env.warmup} in {warm:.1f} s, "
          f"timed {env.steps}]", flush=True)
    return ms


# ---------------------------------------------------------------- the denoiser step


def build_denoiser(cfg, env):
    vit = dict(hid_channels=cfg["hid_channels"], hid_blocks=cfg["hid_blocks"], ffn_factor=cfg["ffn_factor"],
               heads=cfg["heads"], spatial=cfg["spatial"], qk_norm=True, use_rope=True, dropout=cfg["dropout"])
    return tm.Denoiser(cfg["channels"], cfg["emb_features"], vit, masked=True).to(env.dev)


def vit_flops(cfg, batch, train):
    """Analytic FLOPs of one denoiser forward (train=False) or training step (train=True)."""
    L = math.prod(cfg["window"])
    per_token, per_sample, _ = tm.vit_matmul_weights(cfg, cfg["channels"])
    # as regression/gpu/check_step.c step_flops: pos_proj (per grid position, 0.04%) left out
    matmul = 2.0 * (per_token * batch * L + per_sample * batch)
    D = cfg["hid_channels"] // cfg["heads"]
    attn = cfg["hid_blocks"] * 4.0 * batch * cfg["heads"] * L * L * D
    return 3 * matmul + 3.5 * attn if train else matmul + attn


def context_mask(shape, env):
    """A context mask (1 = observed): the first time step of the window, as a rollout's."""
    mask = torch.zeros(shape, device=env.dev)
    mask[:, :, 0] = 1
    return mask


def denoiser_step(cfg, env, name):
    torch.manual_seed(0)
    model = build_denoiser(cfg, env).train()
    opt, opt_name = make_adamw(model.parameters(), env)
    B = cfg["batch"]
    x = torch.randn(B, cfg["channels"], *cfg["window"], device=env.dev)
    mask = context_mask(x.shape, env)

    def build(compiled):
        loss_fn = (lambda m, a, b: tm.denoiser_loss(m, a, b))
        mode = "eager"
        if compiled:
            loss_fn, mode = maybe_compile(loss_fn, env, model)

        def step():
            with env.autocast():
                loss = loss_fn(model, x, mask)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        return step, f"{mode}, {opt_name}"

    tokens = B * math.prod(cfg["window"])
    nparams = sum(p.numel() for p in model.parameters())
    print(f"torch: {name}: {nparams / 1e6:.1f} M parameters, batch {B}, {tokens} tokens", flush=True)
    bench(build, env, f"{name} step", vit_flops(cfg, B, train=True), model)


# ---------------------------------------------------------------- the autoencoder step


def dcae_step(cfg, env, name):
    torch.manual_seed(0)
    model = tm.AutoEncoder(cfg["pix_channels"], cfg["lat_channels"], cfg["hid"], cfg["blocks"], cfg["ffn_factor"],
                           cfg["dropout"], cfg["latent_noise"]).to(env.dev)
    B = cfg["batch"]
    flops = 3.0 * B * tm.conv_flops_per_sample(model.eval(), torch.zeros(1, cfg["pix_channels"], *cfg["state"],
                                                                          device=env.dev))
    model.train()
    # channels_last on CUDA: PyTorch's faster layout for bf16 convolutions (the stronger baseline)
    fmt = torch.channels_last if env.cuda else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x = torch.randn(B, cfg["pix_channels"], *cfg["state"], device=env.dev).contiguous(memory_format=fmt)
    opt, opt_name = make_adamw(model.parameters(), env)

    def build(compiled):
        loss_fn = (lambda m, a: tm.autoencoder_loss(m, a))
        mode = "eager"
        if compiled:
            loss_fn, mode = maybe_compile(loss_fn, env, model)

        def step():
            with env.autocast():
                loss = loss_fn(model, x)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        layout = ", channels_last" if env.cuda else ""
        return step, f"{mode}, {opt_name}{layout}"

    nparams = sum(p.numel() for p in model.parameters())
    print(f"torch: {name}: {nparams / 1e6:.1f} M parameters, batch {B}, states {cfg['pix_channels']}x"
          f"{'x'.join(map(str, cfg['state']))}", flush=True)
    bench(build, env, f"{name} step", flops, model)


# ---------------------------------------------------------------- the ab rollout


def ab_coefficients(rho, m, n):
    """src/diffusion_sampler.c adams_bashforth_coefficients (linear, not exponential):
    weights of the n previous z's for ∫ z dρ from ρ[m-1] to ρ[m], by the Lagrange basis
    through ρ[m-n .. m-1]: V c = b with V[k][j] = ρ_{m-n+j}^k, b[k] = ∫ u^k du."""
    n = min(n, m)
    V = torch.tensor([[rho[m - n + j] ** k for j in range(n)] for k in range(n)], dtype=torch.float64)
    b = torch.tensor([(rho[m] ** (k + 1) - rho[m - 1] ** (k + 1)) / (k + 1) for k in range(n)],
                     dtype=torch.float64)
    return torch.linalg.solve(V, b).tolist()


def rollout(cfg, rcfg, env, name):
    """src/diffusion_sampler.c run_multistep with the masked denoiser: per step one
    denoiser evaluation on all members, z = (x − α·mean)/σ into a ring of `order`,
    x ← (α_s/α_t)·x + α_s·Σ c_j z_j. Times 1 → 0 (torch.linspace), log-logit σ, α = 1."""
    torch.manual_seed(0)
    model = build_denoiser(cfg, env).eval()
    B, steps, order = rcfg["members"], rcfg["steps"], rcfg["order"]
    y = torch.randn(B, cfg["channels"], *cfg["window"], device=env.dev)
    mask = context_mask(y.shape, env)
    ts = [1.0 - i / steps for i in range(steps + 1)]
    sig = [float(tm.log_logit_sigma(torch.tensor(t, dtype=torch.float64))) for t in ts]
    rho = sig  # σ/α with α = 1
    coefs = [ab_coefficients(rho, i + 1, order) for i in range(steps)]
    sig_dev = [torch.full((B,), s, device=env.dev) for s in sig]

    def build(compiled):
        fn = (lambda m, x_t, s, yy, mm: m.masked(x_t, s, yy, mm))
        mode = "eager"
        if compiled:
            fn, mode = maybe_compile(fn, env, model)

        @torch.no_grad()
        def sample():
            x = math.sqrt(1 + sig[0] ** 2) * torch.randn_like(y)  # sampler_init
            history = [None] * order
            for i in range(steps):
                with env.autocast():
                    mean = fn(model, x, sig_dev[i], y, mask).float()
                history[i % order] = (x - mean) / sig[i]
                m = i + 1
                k = min(m, order)
                integral = sum(c * history[(m - k + j) % order] for j, c in enumerate(coefs[i]))
                x = x + integral  # α_s/α_t = 1, α_s = 1
            return x

        return sample, mode

    flops = steps * vit_flops(cfg, B, train=False)
    print(f"torch: {name}: {B} members, {steps} steps, order {order}", flush=True)
    ms = bench(build, env, f"{name}", flops, model)
    print(f"torch: {name}: {ms / steps:.2f} ms per denoiser evaluation (batch {B})", flush=True)


# ---------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=("denoiser", "dcae", "rollout"))
    p.add_argument("--small", action="store_true", help="tiny sizes: seconds on a CPU")
    p.add_argument("--compile", choices=("regional", "full", "off"), default="regional",
                   help="torch.compile per block (default), of the whole step, or eager")
    p.add_argument("--no-compile", action="store_true", help="eager mode (as --compile off)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10, help="timed steps (rollouts for rollout)")
    args = p.parse_args()
    env = Env(args)
    if env.cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(0) if env.cuda else "cpu"
    cudnn = torch.backends.cudnn.version() if env.cuda else None
    print(f"torch: PyTorch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {cudnn}, device {name}, "
          f"compile {('per block' if env.regional else 'whole step') if env.compile else 'off'}"
          f"{', --small' if args.small else ''}", flush=True)
    env.peak, what = matmul_peak(env)
    print(f"torch: matmul peak ({what}) {env.peak:8.1f} TFLOP/s", flush=True)

    d_cfg = DENOISER_SMALL if args.small else DENOISER
    a_cfg = DCAE_SMALL if args.small else DCAE
    r_cfg = ROLLOUT_SMALL if args.small else ROLLOUT
    tag = "small" if args.small else "vit_large"
    rname = f"rollout ab {r_cfg['steps']} steps x {r_cfg['members']} members ({tag})"
    runs = {
        "denoiser": lambda: denoiser_step(d_cfg, env, f"denoiser {tag}"),
        "dcae": lambda: dcae_step(a_cfg, env, "dcae " + ("small" if args.small else "dcae_f32c64_large")),
        "rollout": lambda: rollout(d_cfg, r_cfg, env, rname),
    }
    failed = []
    for what, run in runs.items():
        if args.only not in (None, what):
            continue
        if what == "rollout":  # a rollout is 16 evaluations: fewer repetitions
            env.steps, env.warmup = max(1, args.steps // 5), max(1, min(args.warmup, 2))
        try:
            run()
        except Exception as e:  # noqa: BLE001 - report and go on with the next benchmark
            print(f"torch: {what}: FAILED ({type(e).__name__}: {str(e).strip()[:300]})", flush=True)
            failed.append(what)
        cleanup(env)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
