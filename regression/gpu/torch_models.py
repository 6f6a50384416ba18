"""Compact PyTorch twins of our C models, for the GPU whole-step benchmarks
(regression/gpu/torch_step.py). Written from our C sources, not from the
reference: each class names the C file it mirrors. The aim is the same
architecture and cost (matmul/conv shapes, normalisations, elementwise passes),
not bit-level parity: initialisation, RNG streams and the channel order of the
pixel (un)shuffles differ from the C side and do not change the cost.

Works with PyTorch 1.13 (manual attention, no torch.compile) and 2.x
(F.scaled_dot_product_attention)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-5  # kernels/norm.h: K_NORM_EPS
SINE_OMEGA = 1e3  # kernels/embedding.h: K_SINE_OMEGA


# ---------------------------------------------------------------- shared pieces


class SineEncoding(nn.Module):
    """kernels/embedding.h: F = D/2 frequencies ω^(-i/(F-1)), e(x) = [sin(x·f), cos(x·f)]."""

    def __init__(self, features, omega=SINE_OMEGA):
        super().__init__()
        n = features // 2
        self.register_buffer("freqs", omega ** (-torch.linspace(0, 1, n, dtype=torch.float64)).float())

    def forward(self, x):
        a = x[..., None] * self.freqs
        return torch.cat((a.sin(), a.cos()), dim=-1)


class MLP(nn.Sequential):
    """src/nn/mlp.c: Linear–SiLU–Linear."""

    def __init__(self, inp, hidden, out):
        super().__init__(nn.Linear(inp, hidden), nn.SiLU(), nn.Linear(hidden, out))


def residual_mix(x, r, c):
    """kernels/elementwise.h k_residual_mix: y = (x + c·r) / sqrt(1 + c²)."""
    return (x + c * r) * torch.rsqrt(1 + c * c)


def rms_norm(x):
    """kernels/norm.h rmsnorm over the last dim, no affine; computed in fp32."""
    xf = x.float()
    return xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS)


def rope(x, angles):
    """kernels/rope.h k_rope_fwd: every channel pair (2m, 2m+1) of a token (B, L, C)
    rotated by angles (L, C/2); pair m of H·D channels belongs to head m // (D/2)."""
    B, L, C = x.shape
    x = x.reshape(B, L, C // 2, 2)
    x0, x1 = x[..., 0], x[..., 1]
    cos, sin = angles.cos(), angles.sin()
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).reshape(B, L, C)


def attention(q, k, v):
    """Softmax attention (B, H, L, D), scale 1/sqrt(D) (kernels/cpu/attention.c)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v)
    w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)  # torch 1.13
    return w @ v


def grid_coords(shape, device):
    """kernels/rope.h k_grid_coords: row-major integer coordinates (L, N) of a grid."""
    axes = [torch.arange(n, device=device, dtype=torch.float32) for n in shape]
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=-1)


# ---------------------------------------------------------------- the ViT (src/vit.c)


class MHSA(nn.Module):
    """src/nn/mhsa.c: qkv_proj (no bias) split "(n H D)", QK-RMSNorm per head, RoPE, attention, y_proj."""

    def __init__(self, channels, heads, qk_norm=True):
        super().__init__()
        self.heads, self.qk_norm = heads, qk_norm
        self.qkv_proj = nn.Linear(channels, 3 * channels, bias=False)
        self.y_proj = nn.Linear(channels, channels)

    def forward(self, x, angles):
        B, L, C = x.shape
        H, D = self.heads, C // self.heads
        q, k, v = self.qkv_proj(x).chunk(3, dim=-1)
        if self.qk_norm:  # rmsnorm over rows of D (the head dim), as k_rmsnorm_fwd(rows·H, hd)
            q = rms_norm(q.reshape(B, L, H, D)).reshape(B, L, C)
            k = rms_norm(k.reshape(B, L, H, D)).reshape(B, L, C)
        if angles is not None:
            q, k = rope(q, angles), rope(k, angles)
        q, k = q.to(v.dtype), k.to(v.dtype)  # one dtype for the attention under autocast

        def heads(t):
            return t.reshape(B, L, H, D).transpose(1, 2)

        y = attention(heads(q), heads(k), heads(v)).transpose(1, 2).reshape(B, L, C)
        return self.y_proj(y)


class ViTBlock(nn.Module):
    """src/nn/vit_block.c: AdaLN-Zero (src/nn/modulation.c: MLP(E, E, 4C) → a, b, c, d),
    h = (1 + a)·LN(x) + b, g = h + msa(h), r = FFN(g) (Linear–SiLU–Dropout–Linear),
    y = mix(mix(x, r, c), skip, d) with the residual mixing of kernels/elementwise.h."""

    def __init__(self, channels, mod_features, ffn_factor, heads, spatial, qk_norm, use_rope, dropout):
        super().__init__()
        C = channels
        self.ada_zero = MLP(mod_features, mod_features, 4 * C)
        self.msa = MHSA(C, heads, qk_norm)
        # theta = 100^(-U) · normalize(N(0, 1)) (vit_block.c theta_init)
        theta = F.normalize(torch.randn(spatial, C // 2), dim=0) * 1e2 ** (-torch.rand(C // 2))
        self.theta = nn.Parameter(theta) if use_rope else None
        self.ffn = nn.Sequential(
            nn.Linear(C, ffn_factor * C), nn.SiLU(), nn.Dropout(dropout), nn.Linear(ffn_factor * C, C)
        )

    def forward(self, x, mod, coo, skip):
        a, b, c, d = self.ada_zero(mod)[:, None, :].chunk(4, dim=-1)
        angles = coo @ self.theta if self.theta is not None else None  # k_rope_angles_fwd
        h = (1 + a) * F.layer_norm(x, x.shape[-1:], eps=EPS) + b  # k_layernorm_fwd, k_modulate_fwd
        g = h + self.msa(h, angles)
        r = self.ffn(g)
        y = residual_mix(x, r, c)
        return residual_mix(y, skip, d) if skip is not None else y


class ViT(nn.Module):
    """src/vit.c (patch size 1, global attention): tokens of cat(x, cond),
    skip = in_proj(tokens), x = skip + pos_proj(SineEncoding(coo)), blocks, out_proj."""

    def __init__(self, in_channels, out_channels, cond_channels, mod_features, hid_channels, hid_blocks,
                 ffn_factor, heads, spatial, qk_norm=True, use_rope=True, dropout=0.0):
        super().__init__()
        C = hid_channels
        self.in_proj = nn.Linear(in_channels + cond_channels, C)
        self.out_proj = nn.Linear(C, out_channels)
        self.pos_enc = SineEncoding(C)
        self.pos_proj = nn.Linear(spatial * C, C)
        self.blocks = nn.ModuleList(
            ViTBlock(C, mod_features, ffn_factor, heads, spatial, qk_norm, use_rope, dropout)
            for _ in range(hid_blocks)
        )

    def forward(self, x, mod, cond=None):
        B, shape = x.shape[0], x.shape[2:]
        if cond is not None:
            x = torch.cat((x, cond), dim=1)  # k_concat_fwd
        tokens = x.flatten(2).transpose(1, 2)  # patchify, channel-last (B, L, Ci + Cc)
        coo = grid_coords(shape, x.device)  # (L, N)
        skip = self.in_proj(tokens)
        pos = self.pos_proj(self.pos_enc(coo).flatten(1))  # (L, N·C) → (L, C)
        h = skip + pos
        for block in self.blocks:
            h = block(h, mod, coo, skip)
        y = self.out_proj(h)
        return y.transpose(1, 2).reshape(B, -1, *shape)


# ---------------------------------------------------------------- the EDM denoiser (src/denoiser.c)


def log_logit_sigma(t, sigma_min=1e-3, sigma_max=1e3):
    """src/schedule.c, log_logit (scale 1, shift 0); alpha = 1."""
    t_min, t_max = sigma_min / (1 + sigma_min), sigma_max / (1 + sigma_max)
    p = t * (t_max - t_min) + t_min
    return torch.exp(torch.log(p / (1 - p)))


class Denoiser(nn.Module):
    """src/denoiser.c: emb = MLP(SineEncoding(c_noise)), F = ViT(c_in·x_t, emb, cond = mask),
    mean = c_skip·x_t + c_out·F with the EDM coefficients of src/schedule.c (alpha = 1)."""

    def __init__(self, channels, emb_features, vit_kwargs, masked=True):
        super().__init__()
        self.time_enc = SineEncoding(emb_features)
        self.time_embedding = MLP(emb_features, emb_features, emb_features)
        self.backbone = ViT(channels, channels, channels if masked else 0, emb_features, **vit_kwargs)

    def forward(self, x_t, sigma, cond):
        s = sigma.reshape(-1, *[1] * (x_t.dim() - 1))
        a2s2 = 1 + s * s
        c_in, c_out, c_skip = torch.rsqrt(a2s2), s * torch.rsqrt(a2s2), 1 / a2s2
        emb = self.time_embedding(self.time_enc(10 * torch.log(sigma)))  # c_noise = 10·log(σ/α)
        f = self.backbone(c_in * x_t, emb, cond)
        return c_skip * x_t + c_out * f

    def masked(self, x_t, sigma, y, mask):
        """The masked denoiser (sampling): x_t ← sqrt(α² + σ²)·y and mean ← y where observed."""
        s = sigma.reshape(-1, *[1] * (x_t.dim() - 1))
        x_t = torch.where(mask > 0, torch.sqrt(1 + s * s) * y, x_t)
        return torch.where(mask > 0, y, self(x_t, sigma, mask))


def denoiser_loss(model, x, mask):
    """src/denoiser_loss.c: t ~ U(0, 1), x_t = x + σ·z (alpha = 1), x_t = sqrt(1 + σ²)·x where
    observed, loss = mean(w·(mean − x)²) with w = 1/var = (1 + σ²)/σ²."""
    B = x.shape[0]
    sigma = log_logit_sigma(torch.rand(B, device=x.device))
    s = sigma.reshape(-1, *[1] * (x.dim() - 1))
    x_t = x + s * torch.randn_like(x)
    x_t = torch.where(mask > 0, torch.sqrt(1 + s * s) * x, x_t)
    mean = model(x_t, sigma, mask)
    w = (1 + s * s) / (s * s)
    return (w * (mean.float() - x) ** 2).mean()


def vit_matmul_weights(cfg, in_channels):
    """Weights (no biases) of the ViT's matmuls, by the rows they run over: per token
    (in_proj, qkv, y_proj, ffn, out_proj), per sample (modulation MLPs and the time
    embedding), per grid position (pos_proj)."""
    C, E, Fc = cfg["hid_channels"], cfg["emb_features"], cfg["ffn_factor"] * cfg["hid_channels"]
    n = cfg["hid_blocks"]
    per_token = 2 * in_channels * C + C * in_channels + n * (3 * C * C + C * C + 2 * Fc * C)
    per_sample = n * (E * E + E * 4 * C) + 2 * E * E
    per_position = cfg["spatial"] * C * C
    return per_token, per_sample, per_position


# ---------------------------------------------------------------- the DCAE (src/dcae.c)


class ChannelLayerNorm(nn.Module):
    """kernels/norm.h layernorm_channels: over the channels of (B, C, ...), UNBIASED
    variance (torch.var_mean), eps 1e-5, no affine; computed in fp32."""

    def forward(self, x):
        xf = x.float()
        var, mean = torch.var_mean(xf, dim=1, keepdim=True)
        return (xf - mean) * torch.rsqrt(var + EPS)


def conv(cin, cout, kernel=3):
    """src/nn/conv_module.c: Conv2d with bias, padding kernel//2 (zeros)."""
    return nn.Conv2d(cin, cout, kernel, padding=kernel // 2)


class ResBlock(nn.Module):
    """src/nn/resblock.c (layer norm, no attention): y = x + conv(Dropout(SiLU(conv(LN(x)))))."""

    def __init__(self, channels, ffn_factor, dropout):
        super().__init__()
        hid = ffn_factor * channels
        self.norm = ChannelLayerNorm()
        self.ffn = nn.Sequential(conv(channels, hid), nn.SiLU(), nn.Dropout(dropout), conv(hid, channels))

    def forward(self, x):
        return x + self.ffn(self.norm(x).to(x.dtype))


class DCEncoder(nn.Sequential):
    """src/dcae.c dcae_encoder_declare (patch 1, pixel shuffle): level 0 conv(C_in → hid[0]);
    level i > 0 Patchify(2) + conv(4·hid[i-1] → hid[i]); ResBlocks; deepest conv(hid → C_out)."""

    def __init__(self, cin, cout, hid, blocks, ffn_factor, dropout):
        layers = []
        for i, (h, n) in enumerate(zip(hid, blocks)):
            if i == 0:
                layers.append(conv(cin, h))
            else:
                layers += [nn.PixelUnshuffle(2), conv(4 * hid[i - 1], h)]
            layers += [ResBlock(h, ffn_factor, dropout) for _ in range(n)]
        layers.append(conv(hid[-1], cout))
        super().__init__(*layers)


class DCDecoder(nn.Sequential):
    """src/dcae.c dcae_decoder_declare: conv(C_in → hid[-1]); per level (deepest first)
    ResBlocks, then conv(hid[i] → 4·hid[i-1]) + Unpatchify(2), or conv(hid[0] → C_out)."""

    def __init__(self, cin, cout, hid, blocks, ffn_factor, dropout):
        layers = [conv(cin, hid[-1])]
        for i in reversed(range(len(hid))):
            layers += [ResBlock(hid[i], ffn_factor, dropout) for _ in range(blocks[i])]
            if i > 0:
                layers += [conv(hid[i], 4 * hid[i - 1]), nn.PixelShuffle(2)]
            else:
                layers.append(conv(hid[0], cout))
        super().__init__(*layers)


class AutoEncoder(nn.Module):
    """src/autoencoder.c: encoder, softclip2 saturation z/sqrt(1 + (z/5)²), latent noise
    (training), decoder."""

    def __init__(self, pix_channels, lat_channels, hid, blocks, ffn_factor=1, dropout=0.0, latent_noise=0.0):
        super().__init__()
        self.encoder = DCEncoder(pix_channels, lat_channels, hid, blocks, ffn_factor, dropout)
        self.decoder = DCDecoder(lat_channels, pix_channels, hid, blocks, ffn_factor, dropout)
        self.latent_noise = latent_noise

    def forward(self, x):
        z = self.encoder(x)
        z = z * torch.rsqrt(1 + (z / 5) ** 2)
        if self.training and self.latent_noise > 0:
            z = z + self.latent_noise * torch.randn_like(z)
        return self.decoder(z)


def autoencoder_loss(model, x):
    """MSE reconstruction (src/autoencoder_loss.c with losses = ["mse"])."""
    return F.mse_loss(model(x).float(), x)


def conv_flops_per_sample(model, sample):
    """2·(conv weights)·(output positions) summed over every conv of one forward of one
    sample (biases not counted), measured with forward hooks on an eager pass."""
    total = [0]

    def hook(mod, inp, out):
        total[0] += 2 * mod.weight.numel() * out[0, 0].numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(sample)
    for h in handles:
        h.remove()
    return total[0]
