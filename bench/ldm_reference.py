"""genlab's latent text-to-image diffusion (core/diffusion/latent_autoencoder.cpp, text_encoder.cpp,
core/train/transformer_block.cpp, latent_unet.cpp, ldm_trainer.cpp) and, for the pixel-space side of
the comparison, its class-conditional pixel U-Net (unet.cpp, through bench/ddpm_reference.py), in
Python PyTorch (Debian's python3-torch), for a speed comparison with `genlab-cli train --model ldm`
and `genlab-cli sample`:
  - the same layers with the checkpoints' parameter names and shapes (an ldm checkpoint holds "ae.",
    "net." and "ema.", each net with "text." and "unet."; a klae checkpoint the autoencoder's plain
    names; a ddpm checkpoint "net." and "ema."), the same ops in the same order;
  - --train: LdmTrainer::train_once with LdmConfig's defaults (batch 64, Adam 5e-4, EMA 0.999 over
    every parameter, prompt dropout 0.1, T 1000 linear betas): the posterior (mean, std) of every
    training image the held-out pairs leave in the pool encoded once (batches of 500, timed apart:
    genlab's one-off first step), the scale factor taken from --ldm-ckpt's config or measured as
    genlab does (1 / std of one draw z ~ N(mean, std) from a generator seeded --seed); then per step
    rows, caption draws and dropout drawn whole, one caption written per row with the same per-row
    .item()s, write_caption's grammar and splitmix64 choices and the tokenizer's ids (padded to
    max_tokens), z0 = (mean + std * noise) * scale, t, eps, eps-MSE, Adam, the NaN guard over the
    autoencoder, the net and the EMA (finite_guard.cpp, as bench/vq_reference.py's Guard), the EMA
    update. The captions' attribute bits are measured here with numpy (caption measures of
    captions.cpp; thresholds from --ldm-ckpt's config, else each class's median here), so a
    caption can differ from genlab's where a value sits on its threshold, and this script's random
    draws are not genlab's: the caption text differs, the token counts are alike (every prompt is
    padded to max_tokens, so the nets' work does not depend on the words). The initial weights are
    this script's own draws, not genlab's.
  - --sample: LdmTrainer::denoiser (guided, w = --cfg: prompt and negative as one batch of 2B
    through the U-Net every step, the text encoded once per run; eps = sqrt(1 - ab_t) z_t + the
    U-Net's output) and DiffusionTrainer::denoiser (the pixel
    U-Net, labels 0..9 in turn and the null class as one batch of 2B) under genlab-cli sample's
    DDIM (eta 0; the pixel model's x0 clipped to [-1, 1], the latent model's not), from
    seeded_noise(--seed) as genlab-cli draws it, on the EMA weights of genlab's checkpoints. Times
    the sampling loop (a warm-up step first), the text encoder alone on the 2B prompts (once per
    run) and the autoencoder's decode of a batch, in-process;
    with --compare DIR it checks the final images against genlab-cli's .npy files of the same
    checkpoints, prompt, steps and seed (ldm_b{N}_s{S}.npy, ddpm_b{N}_s{S}.npy).
Not included (genlab-cli's, negligible or outside its timer too): its log line every 2 s, the loss
curve it records after each step, loading the data, measuring every image's attributes and building
the nets (before its timer), the checkpoint it writes after it.

Prints one JSON line. --check-checkpoint PATH compares every tensor of a genlab checkpoint (ldm,
klae or ddpm, read from its metadata) with these nets' (name and shape) and exits 1 on a difference.

    /usr/bin/python3 bench/ldm_reference.py --check-checkpoint l.safetensors
    /usr/bin/python3 bench/ldm_reference.py --train --steps 30 --ldm-ckpt l.safetensors --autoencoder k.safetensors
    /usr/bin/python3 bench/ldm_reference.py --sample ldm:1:200,ldm:64:10,ddpm:1:50,ddpm:64:4 \
        --ldm-ckpt l.safetensors --ddpm-ckpt d.safetensors --decode-batches 1,64 --compare DIR
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ddpm_reference import ResBlock as TimeResBlock, UNet, conv3x3, group_norm, timestep_embedding
from fashion_mnist import FASHION, read_idx
from vq_reference import Guard, check_checkpoint, checkpoint_config, count_params, f32, read_safetensors

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
PAD, START = 0, 1
MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------- latent_autoencoder.cpp
def conv(cin, cout, kernel=3, stride=1):
    return nn.Conv2d(cin, cout, kernel, stride, kernel // 2)


class LatentAutoencoder(nn.Module):
    """LatentAeConfig's defaults: 1 x 28 x 28 -> 4 x 7 x 7, width 64."""

    def __init__(self, channels=1, latent_channels=4, width=64):
        super().__init__()
        w, half, lc = width, width // 2, latent_channels
        up = lambda: nn.Upsample(scale_factor=2.0, mode="nearest")  # noqa: E731
        self.encoder = nn.Sequential(conv(channels, half), nn.SiLU(), conv(half, w, 3, 2), nn.SiLU(), conv(w, w),
                                     nn.SiLU(), conv(w, w, 3, 2), nn.SiLU(), conv(w, w), nn.SiLU(),
                                     conv(w, 2 * lc, 1))
        self.decoder = nn.Sequential(conv(lc, w), nn.SiLU(), conv(w, w), nn.SiLU(), up(), conv(w, w), nn.SiLU(), up(),
                                     conv(w, half), nn.SiLU(), conv(half, half), nn.SiLU(), conv(half, channels))

    def encode(self, x):  # x in [0, 1] -> (mean, logvar)
        mean, logvar = self.encoder(x * 2 - 1).chunk(2, 1)
        return mean, logvar.clamp(-30, 20)

    def decode(self, z):
        return torch.sigmoid(self.decoder(z))


# ---------------------------------------------------------------------------- transformer_block.cpp, text_encoder.cpp
class TransformerBlock(nn.Module):
    """Pre-norm self-attention + 4x GELU MLP; `keep` (B x T bool) masks padding as keys."""

    def __init__(self, width, heads, causal=False):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.up = nn.Linear(width, 4 * width)
        self.down = nn.Linear(4 * width, width)

    def forward(self, x, keep=None):
        b, t, width = x.shape
        head = width // self.heads
        qkv = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, head).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q.matmul(k.transpose(-2, -1)) / math.sqrt(head)
        if self.causal:
            scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), -math.inf)
        if keep is not None:
            scores = scores.masked_fill(keep.logical_not().view(b, 1, 1, t), -math.inf)
        attended = torch.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(b, t, width)
        h = x + self.proj(attended)
        return h + self.down(F.gelu(self.up(self.norm2(h))))


class TextEncoder(nn.Module):
    def __init__(self, vocabulary_size, max_tokens=16, width=64, layers=2, heads=4):
        super().__init__()
        self.max_tokens = max_tokens
        self.tokens = nn.Embedding(vocabulary_size, width)
        self.positions = nn.Parameter(torch.randn(max_tokens, width) * 0.02)
        self.blocks = nn.ModuleList([TransformerBlock(width, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(width)

    def forward(self, ids):
        keep = ids != PAD
        x = self.tokens(ids) + self.positions[:ids.shape[1]].unsqueeze(0)
        for block in self.blocks:
            x = block(x, keep)
        return self.norm(x)


# ---------------------------------------------------------------------------- latent_unet.cpp
class CrossAttention(nn.Module):
    def __init__(self, channels, context_width, heads):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(channels)
        self.query = nn.Linear(channels, channels, bias=False)
        self.key = nn.Linear(context_width, channels, bias=False)
        self.value = nn.Linear(context_width, channels, bias=False)
        self.out = nn.Linear(channels, channels)
        with torch.no_grad():  # starts as the identity
            self.out.weight.zero_()
            self.out.bias.zero_()

    def forward(self, x, context, keep):
        b, c, h, w = x.shape
        l, head = context.shape[1], c // self.heads
        tokens = self.norm(x).flatten(2).transpose(1, 2)
        q = self.query(tokens).view(b, h * w, self.heads, head).transpose(1, 2)
        k = self.key(context).view(b, l, self.heads, head).transpose(1, 2)
        v = self.value(context).view(b, l, self.heads, head).transpose(1, 2)
        scores = q.matmul(k.transpose(-2, -1)) / math.sqrt(head)
        scores = scores.masked_fill(keep.logical_not().view(b, 1, 1, l), -math.inf)
        attended = torch.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(b, h * w, c)
        return x + self.out(attended).transpose(1, 2).view(b, c, h, w)


class LatentUNet(nn.Module):
    """LatentUNetConfig's defaults: 4 x 7 x 7, base 32, mid 64, context 64, 4 heads, time_dim 128."""

    def __init__(self, latent_channels=4, latent_size=7, base=32, mid=64, context_width=64, heads=4, time_dim=128):
        super().__init__()
        c, td, ctx = latent_channels, time_dim, context_width
        self.latent_size, self.time_dim = latent_size, time_dim
        self.time_in = nn.Linear(td, td)
        self.time_out = nn.Linear(td, td)
        self.in_conv = conv3x3(c, base)
        self.enc1 = TimeResBlock(base, base, td)
        self.enc1_attn = CrossAttention(base, ctx, heads)
        self.down = conv3x3(base, mid, 2)
        self.enc2 = TimeResBlock(mid, mid, td)
        self.enc2_attn = CrossAttention(mid, ctx, heads)
        self.middle = TimeResBlock(mid, mid, td)
        self.middle_attn = CrossAttention(mid, ctx, heads)
        self.dec2 = TimeResBlock(2 * mid, mid, td)
        self.dec2_attn = CrossAttention(mid, ctx, heads)
        self.up = conv3x3(mid, base)
        self.dec1 = TimeResBlock(2 * base, base, td)
        self.dec1_attn = CrossAttention(base, ctx, heads)
        self.out_norm = group_norm(base)
        self.out_conv = conv3x3(base, c)
        with torch.no_grad():
            self.out_conv.weight.zero_()
            self.out_conv.bias.zero_()

    def forward(self, z, t, context, keep):
        s = self.latent_size
        emb = self.time_out(F.silu(self.time_in(timestep_embedding(t, self.time_dim))))
        h = self.in_conv(z)
        skip1 = self.enc1_attn(self.enc1(h, emb), context, keep)
        skip2 = self.enc2_attn(self.enc2(self.down(skip1), emb), context, keep)
        h = self.middle_attn(self.middle(skip2, emb), context, keep)
        h = self.dec2_attn(self.dec2(torch.cat([h, skip2], 1), emb), context, keep)
        h = F.interpolate(h, size=(s, s), mode="nearest")  # 4 -> 7: a resize, not a 2x
        h = self.dec1_attn(self.dec1(torch.cat([self.up(h), skip1], 1), emb), context, keep)
        return self.out_conv(F.silu(self.out_norm(h)))


class LdmNet(nn.Module):
    """eps = sqrt(1 - alpha_bar_t) z_t + the U-Net's correction (ldm_trainer.cpp's skip preconditioning)."""

    def __init__(self, text, unet, T=1000):
        super().__init__()
        self.register_buffer("skip", torch.tensor([math.sqrt(1 - ab) for ab in alpha_bar(T)]), persistent=False)
        self.text = TextEncoder(len(text["words"]) + 2, text["max_tokens"], text["width"], text["layers"],
                                text["heads"])
        self.unet = LatentUNet(unet["latent_channels"], unet["latent_size"], unet["base"], unet["mid"],
                               unet["context_width"], unet["heads"], unet["time_dim"])

    def eps(self, z, t, context, keep):
        return self.skip.index_select(0, t).view(-1, 1, 1, 1) * z + self.unet(z, t, context, keep)

    def forward(self, z, t, ids):
        return self.eps(z, t, self.text(ids), ids != PAD)


class LdmCheckpoint(nn.Module):
    """Only a container for an ldm checkpoint's names: "ae.", "net.", "ema."."""

    def __init__(self, config):
        super().__init__()
        ae = config["ae"]
        self.ae = LatentAutoencoder(ae["channels"], ae["latent_channels"], ae["width"])
        self.net = LdmNet(config["text"], config["unet"], config["T"])
        self.ema = LdmNet(config["text"], config["unet"], config["T"])


class DdpmCheckpoint(nn.Module):
    def __init__(self, config):
        super().__init__()
        u = config.get("unet", {})
        args = (u.get("channels", 1), u.get("base", 32), u.get("mid", 64), u.get("classes", 10), u.get("time_dim", 128))
        self.net, self.ema = UNet(*args), UNet(*args)


# ---------------------------------------------------------------------------- tokenizer.cpp, captions.cpp
def split_words(text):
    out, word = [], ""

    def flush():
        nonlocal word
        word = word.rstrip("-'")
        if word:
            out.append(word)
        word = ""

    for ch in text:
        if ch.isascii() and ch.isalnum():
            word += ch.lower()
        elif ch in "-'" and word:
            word += ch
        else:
            flush()
    flush()
    return out


def class_words(name):
    return [" ".join(split_words(part)) for part in name.split("/") if split_words(part)]


ATTRIBUTES = [("dark", "light"), ("small", "large"), ("narrow", "wide"), ("plain", "patterned")]
FILLERS = ["a", "an", "and", "is", "one", "that"]


def caption_words(class_names):
    words = set(FILLERS) | {w for pair in ATTRIBUTES for w in pair}
    for name in class_names:
        for form in class_words(name):
            words.update(split_words(form))
    return sorted(words)


class Vocabulary:
    def __init__(self, words):
        self.words = sorted(set(words))
        self.ids = {w: i + 2 for i, w in enumerate(self.words)}

    def encode(self, text, max_tokens):
        ids = [START]
        for w in split_words(text):
            i = self.ids.get(w)
            if i is not None and len(ids) < max_tokens:
                ids.append(i)
        return ids

    def batch_ids(self, prompts, max_tokens):
        """TextEncoder::batch_ids: B x max_tokens, 0 pads."""
        ids = [PAD] * (len(prompts) * max_tokens)
        for i, p in enumerate(prompts):
            t = self.encode(p, max_tokens)
            ids[i * max_tokens:i * max_tokens + len(t)] = t
        return torch.tensor(ids, dtype=torch.long).view(len(prompts), max_tokens)


class Choices:
    """captions.cpp's splitmix64 stream."""

    def __init__(self, state):
        self.state = state & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n


def write_caption(class_forms, label, bits, random):
    pick = Choices(random)
    adjectives = [ATTRIBUTES[a][1] if bits[a] else ATTRIBUTES[a][0] for a in range(4) if pick.below(2)]
    for i in range(len(adjectives), 1, -1):
        j = pick.below(i)
        adjectives[i - 1], adjectives[j] = adjectives[j], adjectives[i - 1]
    noun = "one"
    if 0 <= label < len(class_forms) and class_forms[label]:
        noun = class_forms[label][pick.below(len(class_forms[label]))]

    def listed(last_join):
        return "".join(("" if i == 0 else last_join if i + 1 == len(adjectives) else ", ") + a
                       for i, a in enumerate(adjectives))

    article = lambda nxt: "an " if nxt[0] in "aeiou" else "a "  # noqa: E731
    if not adjectives:
        return article(noun) + noun if pick.below(2) else noun
    form = pick.below(3)
    if form == 0:
        s = "".join(a + " " for a in adjectives)
        return article(s) + s + noun
    if form == 1:
        return noun + ", " + listed(" and ")
    return article(noun) + noun + " that is " + listed(" and ")


def measure_attributes(images):
    """captions.cpp's measure_attributes for N x H x W uint8 gray images: N x 4 (brightness, size,
    shape, texture), in float64 (summed in another order than the C++ loop)."""
    out = []
    for first in range(0, images.shape[0], 5000):
        g = images[first:first + 5000].astype(np.float64) / 255.0
        n, h, w = g.shape
        lit = g > 0.2
        count = lit.sum((1, 2)).astype(np.float64)
        padded = np.pad(g, ((0, 0), (1, 1), (1, 1)))
        ones = np.pad(np.ones((h, w)), 1)
        box = sum(padded[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        neighbours = sum(ones[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        texture = (np.abs(g - box / neighbours) * lit).sum((1, 2))
        rows, cols = lit.any(2), lit.any(1)
        top, bottom = rows.argmax(1), h - 1 - rows[:, ::-1].argmax(1)
        left, right = cols.argmax(1), w - 1 - cols[:, ::-1].argmax(1)
        safe = np.maximum(count, 1)
        values = np.stack([(g * lit).sum((1, 2)) / safe, count / (h * w),
                           (right - left + 1) / (bottom - top + 1), texture / safe], 1)
        values[count == 0] = 0
        out.append(values)
    return np.concatenate(out)


def caption_spec(config, images, labels):
    """Thresholds (per class), held-out pairs and class names: the ldm checkpoint's, else fitted here
    (each class's median at index size / 2, as nth_element there)."""
    captions = (config or {}).get("captions")
    if captions:
        return captions["class_names"], np.array(captions["thresholds"]), [tuple(p) for p in captions["held_out"]]
    values = measure_attributes(images)
    thresholds = np.stack([np.sort(values[labels == c], 0)[(labels == c).sum() // 2] for c in range(10)])
    return FASHION_CLASSES, thresholds, [(0, False, 7), (2, True, 3), (3, True, 8)]  # kDefaultHeldOut


# ---------------------------------------------------------------------------- schedule.cpp, samplers.cpp
def alpha_bar(T=1000):
    beta = [1e-4 + (0.02 - 1e-4) * (0.0 if T == 1 else i / (T - 1)) for i in range(T)]
    out, product = [], 1.0
    for b in beta:
        product *= 1 - b
        out.append(product)
    return out


def sampling_timesteps(T, steps):
    return [int(math.floor(T - k * T / steps + 0.5)) for k in range(steps)]


def ddim(denoise, x, T, steps, clip_x0, ab):
    """genlab's sample(DDIM, eta 0): x0 from the guided eps, clipped where asked; the last step lands on x0."""
    ts = sampling_timesteps(T, steps)
    for i, t in enumerate(ts):
        s = ts[i + 1] if i + 1 < len(ts) else 0
        eps = denoise(x, t)
        sig_t, noi_t = math.sqrt(ab[t - 1]), math.sqrt(1 - ab[t - 1])
        x0 = (x - noi_t * eps) / sig_t
        if clip_x0 > 0:
            x0 = x0.clamp(-clip_x0, clip_x0)
            eps = (x - sig_t * x0) / noi_t
        if s == 0:
            x = x0
        else:
            ab_s = ab[s - 1]
            x = math.sqrt(ab_s) * x0 + math.sqrt(max(0.0, 1 - ab_s)) * eps
    return x


# ---------------------------------------------------------------------------- ldm_trainer.cpp: train_once
def train(a):
    config = checkpoint_config(a.ldm_ckpt) if a.ldm_ckpt else {}
    images = read_idx(f"{a.data}/train-images-idx3-ubyte.gz")
    labels = read_idx(f"{a.data}/train-labels-idx1-ubyte.gz").astype(np.int64)
    class_names, thresholds, held_out = caption_spec(config, images, labels)
    bits = (measure_attributes(images) > thresholds[labels]).astype(np.int64)
    shows_held = np.zeros(len(labels), dtype=bool)
    for attribute, high, label in held_out:
        shows_held |= (labels == label) & (bits[:, attribute] == int(high))
    pool = torch.from_numpy(np.nonzero(~shows_held)[0])
    words = config.get("text", {}).get("words") or caption_words(class_names)
    vocabulary = Vocabulary(words)
    forms = [class_words(n) for n in class_names]
    text = {"words": words, "max_tokens": 16, "width": 64, "layers": 2, "heads": 4, **config.get("text", {})}
    unet = {"latent_channels": 4, "latent_size": 7, "base": 32, "mid": 64, "context_width": text["width"], "heads": 4,
            "time_dim": 128, **config.get("unet", {})}
    T, batch, lr, dropout = config.get("T", 1000), a.batch, f32(5e-4), f32(0.1)
    decay = f32(0.999)

    torch.manual_seed(a.seed)
    ae = LatentAutoencoder()
    if a.autoencoder:
        ae.load_state_dict(read_safetensors(a.autoencoder))
    net, ema = LdmNet(text, unet), LdmNet(text, unet)
    ema.load_state_dict(net.state_dict())
    for p in ae.parameters():
        p.requires_grad_(False)
    ae.eval()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    guard = Guard([ae, net, ema])
    net_params, ema_params = list(net.parameters()), list(ema.parameters())
    gray = torch.from_numpy(images.copy()).unsqueeze(1)
    alpha_bar_t = torch.tensor(alpha_bar(T), dtype=torch.double).float()

    # The one-off first part of genlab's first step: every pool image's posterior.
    t_encode = time.perf_counter()
    with torch.no_grad():
        means, stds = [], []
        for first in range(0, pool.shape[0], 500):
            mean, logvar = ae.encode(gray.index_select(0, pool[first:first + 500]).float().div_(255.0))
            means.append(mean)
            stds.append((0.5 * logvar).exp())
        latent_mean, latent_std = torch.cat(means), torch.cat(stds)
        scale = config.get("scale_factor", 0)
        if scale <= 0:
            gen = torch.Generator().manual_seed(a.seed)
            z = latent_mean + latent_std * torch.randn(latent_mean.shape, generator=gen)
            scale = 1.0 / z.std().item()
    encode_seconds = time.perf_counter() - t_encode
    c, s = unet["latent_channels"], unet["latent_size"]
    max_tokens = text["max_tokens"]
    tokens_per_caption = []

    def step(k):
        net.train()
        rows = torch.randint(pool.shape[0], (batch,))
        draws = torch.randint(1 << 62, (batch,))
        dropped = torch.rand(batch) < dropout
        captions = []
        for i in range(batch):  # per row, with genlab's .item()s
            if dropped[i].item():
                captions.append("")
            else:
                image = pool[rows[i].item()].item()
                captions.append(write_caption(forms, int(labels[image]), bits[image], draws[i].item()))
        noise = torch.randn(batch, c, s, s)
        z0 = (latent_mean.index_select(0, rows) + latent_std.index_select(0, rows) * noise) * scale
        t = torch.randint(1, T + 1, (batch,))
        eps = torch.randn(batch, c, s, s)
        ab = alpha_bar_t.index_select(0, t - 1).view(batch, 1, 1, 1)
        z_t = ab.sqrt() * z0 + (1 - ab).sqrt() * eps
        ids = vocabulary.batch_ids(captions, max_tokens)
        loss = (net(z_t, t - 1, ids) - eps).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        value = loss.item()
        guard.before_update(net_params, value, "the loss")
        opt.step()
        guard.after_update(k + 1)
        with torch.no_grad():
            for e, w in zip(ema_params, net_params):
                e.mul_(decay).add_(w, alpha=1 - decay)
        return value, ids

    times, losses = [], []
    for k in range(a.steps):
        t0 = time.perf_counter()
        value, ids = step(k)
        times.append(time.perf_counter() - t0)
        losses.append(value)
        tokens_per_caption.append((ids != PAD).sum(1).float().mean().item())  # outside the timer
    steady = times[1:] or times  # step 1 apart, as genlab's steady state starts after its first step
    seconds = sum(steady)
    return {"impl": "python", "torch": torch.__version__, "model": "ldm", "threads": a.threads, "batch": batch,
            "steps": a.steps, "timed_steps": len(steady), "seconds": seconds,
            "ms_per_step": 1000 * seconds / len(steady), "median_ms_per_step": 1000 * statistics.median(steady),
            "images_per_s": len(steady) * batch / seconds, "first_step_ms": 1000 * times[0],
            "encode_seconds": encode_seconds, "pool_images": int(pool.shape[0]), "scale_factor": scale,
            "mean_tokens_per_caption": statistics.fmean(tokens_per_caption),
            "params": {"text": count_params(net.text), "unet": count_params(net.unet), "ae": count_params(ae)},
            "loss_first": losses[0], "loss_last": losses[-1]}


# ---------------------------------------------------------------------------- sampling
def load_prefixed(module, weights, prefix):
    module.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})


def sample(a):
    runs = [tuple(x.split(":")) for x in a.sample.split(",")]
    out = {"impl": "python", "torch": torch.__version__, "threads": a.threads, "seed": a.seed, "cfg": a.cfg,
           "prompt": a.prompt, "sampler": "ddim", "runs": {}, "decode": {}}
    ldm = ddpm = None
    if any(m == "ldm" for m, _, _ in runs) or a.decode_batches:
        config = checkpoint_config(a.ldm_ckpt)
        ldm = LdmCheckpoint(config)
        weights = read_safetensors(a.ldm_ckpt)
        load_prefixed(ldm.ae, weights, "ae.")
        load_prefixed(ldm.ema, weights, "ema.")
        ldm.eval()
        vocabulary, max_tokens = Vocabulary(config["text"]["words"]), config["text"]["max_tokens"]
        ldm_T, ldm_scale = config["T"], config["scale_factor"]
        ldm_ab = alpha_bar(ldm_T)
        c, s = config["unet"]["latent_channels"], config["unet"]["latent_size"]
    if any(m == "ddpm" for m, _, _ in runs):
        dconfig = checkpoint_config(a.ddpm_ckpt)
        ddpm = DdpmCheckpoint(dconfig)
        load_prefixed(ddpm.ema, read_safetensors(a.ddpm_ckpt), "ema.")
        ddpm.eval()
        d_T, classes = dconfig["T"], dconfig["unet"]["classes"]
        size, channels = dconfig["unet"]["image_size"], dconfig["unet"]["channels"]
        d_ab = alpha_bar(d_T)

    def ldm_denoiser(n):
        ids = vocabulary.batch_ids([a.prompt] * n, max_tokens)
        negative = vocabulary.batch_ids([a.negative] * n, max_tokens)

        # The prompts are encoded once per run, as LdmTrainer::denoiser does.
        both_ids = torch.cat([ids, negative])
        context, keep = ldm.ema.text(both_ids), both_ids != PAD

        def denoise(z, t):
            steps = torch.full((2 * n,), t - 1, dtype=torch.long)
            cond, uncond = ldm.ema.eps(torch.cat([z, z]), steps, context, keep).chunk(2, 0)
            return uncond + a.cfg * (cond - uncond)
        return denoise

    def ddpm_denoiser(n):
        labels = torch.arange(n) % classes  # cycling_labels

        def denoise(x, t):
            steps = torch.full((n,), t - 1, dtype=torch.long)
            null = torch.full((n,), classes, dtype=torch.long)
            cond = torch.where(labels < 0, null, labels)
            both = ddpm.ema(torch.cat([x, x]), torch.cat([steps, steps]), torch.cat([cond, null]))
            cond, uncond = both.chunk(2, 0)
            return uncond + a.cfg * (cond - uncond)
        return denoise

    with torch.no_grad():
        for model, n, steps in runs:
            n, steps = int(n), int(steps)
            gen = torch.Generator().manual_seed(a.seed)
            if model == "ldm":
                x_T = torch.randn(n, c * s * s, generator=gen).view(n, c, s, s)
                denoise, T, ab, clip = ldm_denoiser(n), ldm_T, ldm_ab, 0.0
            else:
                x_T = torch.randn(n, channels * size * size, generator=gen).view(n, channels, size, size)
                denoise, T, ab, clip = ddpm_denoiser(n), d_T, d_ab, 1.0
            ddim(denoise, x_T, T, 1, clip, ab)  # warm-up: one step (first-call allocations)
            loops = []
            for _ in range(a.repeats):
                t0 = time.perf_counter()
                x = ddim(denoise, x_T, T, steps, clip, ab)
                loops.append(time.perf_counter() - t0)
            loop = statistics.median(loops)
            record = {"model": model, "batch": n, "net_batch": 2 * n, "steps": steps, "loop_ms": 1000 * loop,
                      "ms_per_step": 1000 * loop / steps, "repeats": a.repeats}
            images = (ldm.ae.decode(x / ldm_scale).clamp(0, 1) if model == "ldm"
                      else (x.clamp(-1, 1) + 1) * 0.5)
            path = os.path.join(a.compare, f"{model}_b{n}_s{steps}.npy") if a.compare else None
            if path and os.path.exists(path):
                theirs = torch.from_numpy(np.load(path).astype("float32"))
                same = list(theirs.shape) == list(images.shape)
                diff = (theirs - images).abs().max().item() if same else None
                record["compare"] = {"npy": os.path.basename(path), "same_shape": same, "max_abs_diff": diff,
                                     "ok": bool(same and diff < 1e-3)}
            if model == "ldm":  # what encoding the prompts costs, once per run
                ids = torch.cat([vocabulary.batch_ids([a.prompt] * n, max_tokens),
                                 vocabulary.batch_ids([a.negative] * n, max_tokens)])
                ts = []
                for _ in range(max(5, a.repeats)):
                    t0 = time.perf_counter()
                    ldm.ema.text(ids)
                    ts.append(time.perf_counter() - t0)
                record["text_encoder_ms"] = 1000 * statistics.median(ts)
            out["runs"][f"{model}_b{n}"] = record
        for n in a.decode_batches:
            z = torch.randn(n, c, s, s, generator=torch.Generator().manual_seed(a.seed))
            ldm.ae.decode(z / ldm_scale).clamp(0, 1)  # warm-up
            ts = []
            for _ in range(max(3, a.repeats)):
                t0 = time.perf_counter()
                ldm.ae.decode(z / ldm_scale).clamp(0, 1)
                ts.append(time.perf_counter() - t0)
            out["decode"][str(n)] = {"ms": 1000 * statistics.median(ts)}
    return out


def scramble(source, target, seed):
    """A copy of a genlab checkpoint whose "ema." tensors are its "net." ones plus N(0, 0.05) noise
    (same metadata, float32): early in training the EMA is close to the initial weights, whose zeroed
    output layers (the U-Nets' out_conv, every cross-attention's out) hide most of the net from a
    comparison of samples. Sampling speed does not depend on the weights."""
    import struct
    with open(source, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    weights = read_safetensors(source)
    gen = torch.Generator().manual_seed(seed)
    for name in weights:
        if name.startswith("ema."):
            base = weights.get("net." + name[4:], weights[name])
            weights[name] = base + 0.05 * torch.randn(base.shape, generator=gen)
    out_header, blobs, offset = {"__metadata__": header.get("__metadata__", {})}, [], 0
    for name, t in weights.items():
        blob = t.contiguous().numpy().astype("<f4").tobytes()
        out_header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(out_header).encode()
    text += b" " * (-len(text) % 8)
    with open(target, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for blob in blobs:
            f.write(blob)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", action="store_true", help="time LdmTrainer::train_once")
    p.add_argument("--sample", metavar="MODEL:BATCH:STEPS,...", help="time guided DDIM sampling (ldm or ddpm)")
    p.add_argument("--check-checkpoint", metavar="PATH", help="compare a genlab checkpoint's tensors with these nets'")
    p.add_argument("--scramble", nargs=2, metavar=("IN", "OUT"), help="write IN with its EMA = net + noise to OUT")
    p.add_argument("--steps", type=int, default=30, help="train: steps (the first is timed apart)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default=FASHION, help="train: a folder of Fashion-MNIST's IDX .gz files")
    p.add_argument("--ldm-ckpt",
                   help="train: its config (captions, vocabulary, scale); sample: its EMA and autoencoder")
    p.add_argument("--autoencoder", help="train: the klae checkpoint whose weights encode the images")
    p.add_argument("--ddpm-ckpt", help="sample: a genlab ddpm checkpoint (its EMA)")
    p.add_argument("--prompt", default="a dark sneaker")
    p.add_argument("--negative", default="")
    p.add_argument("--cfg", type=float, default=3.0)
    p.add_argument("--repeats", type=int, default=1, help="sample: timed loops per entry (median)")
    p.add_argument("--decode-batches", default="", help="sample: autoencoder decode batch sizes to time")
    p.add_argument("--compare", metavar="DIR", help="sample: genlab-cli's {model}_b{N}_s{S}.npy files")
    a = p.parse_args()
    a.decode_batches = [int(b) for b in a.decode_batches.split(",") if b]

    torch.set_num_threads(a.threads)
    # genlab's configure_compute_threads also sets OpenBLAS's own pool (torch's setting misses it).
    try:
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(a.threads)
    except (OSError, AttributeError):
        pass

    if a.scramble:
        scramble(*a.scramble, a.seed)
        return
    if a.check_checkpoint:
        config = checkpoint_config(a.check_checkpoint)
        with open(a.check_checkpoint, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            kind = json.loads(json.loads(f.read(n)).get("__metadata__", {}).get("genlab", "{}")).get("model")
        if kind == "ldm":
            net = LdmCheckpoint(config)
        elif kind == "klae":
            ae = config["ae"]
            net = LatentAutoencoder(ae["channels"], ae["latent_channels"], ae["width"])
        elif kind == "ddpm":
            net = DdpmCheckpoint(config)
        else:
            sys.exit(f"{a.check_checkpoint}: a '{kind}' checkpoint, not ldm, klae or ddpm")
        report = check_checkpoint(net, a.check_checkpoint)
        print(json.dumps({"model": kind, **report}))
        sys.exit(0 if report["ok"] else 1)
    if a.train:
        print(json.dumps(train(a)))
    elif a.sample:
        print(json.dumps(sample(a)))
    else:
        p.error("give --train, --sample or --check-checkpoint")


if __name__ == "__main__":
    main()
