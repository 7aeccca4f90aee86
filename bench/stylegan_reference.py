"""genlab's ProGAN and StyleGAN (core/gan/equalized.h, progan.cpp, stylegan.cpp) in Python PyTorch
(Debian's python3-torch), trained as core/gan/gan_trainer.cpp trains them, for a speed comparison
with `genlab-cli train --model progan|stylegan`:
  - the same layers, parameter shapes and names (state_dict keys are the checkpoint's names without
    the "g."/"d." prefix), the same ops in the same order: equalised learning rate (N(0, 1) weights
    scaled by He's constant at every forward pass, the mapping network at lr_mul 0.01), pixelnorm,
    minibatch standard deviation (groups of 4), nearest up / average-pool down, ProGAN's fade-ins of
    G, D and the real images (progan_real), StyleGAN's mapping network (depth 4, w 64), learned
    constant, modulated/demodulated 3x3 convs (scale input, shared conv, scale output), per-layer
    noise drawn fresh in training, skip to-RGB outputs, style mixing with p = 0.9 at a random layer,
    the w_avg moving average updated in every training forward (G's forward in the D step too);
    D of StyleGAN = ProGAN's D at the full size (from-RGB at 28x28 only). StyleConv's conv has
    no bias (its own comes after the noise); D's weights take no gradient in G's step;
  - gan_run.cpp's defaults for these models: width 32, latent 64, batch 64, the "ns" loss
    (softplus), one D step then one G step per train step, Adam(1e-3, betas (0, 0.99)) for both
    (parameters in the C++ registration order), real batches in [-1, 1] in a shuffled epoch order
    (no short batches), ProGAN's growth schedule from --stage-steps/--fade-steps (1000/1000 as the
    CLI's defaults);
  - per step, the monitoring GanTrainer does: loss .item()s, V(D, G), mean sigmoid(D(x)) and
    sigmoid(D(G(z))), the gradient norms of D and G (one .item() per parameter, as grad_norm()),
    and the NaN guard (finite_guard.cpp: the loss and every gradient checked before each update
    through per-tensor sums, the parameters and buffers of G and D after it, and a copy of them every
    50 steps, at the same step numbers as the C++).
Not included (genlab-cli's, all negligible or outside its timer too): its log line every 2 s, the
curve history it records after each step, the swap of its private random stream into torch's
generator around each D and G step; loading the data and building the nets (outside both timers);
checkpoints (genlab-cli writes one after its timer stops, and one every 300 s, not reached here).
Random numbers: torch.manual_seed(--seed) starts torch's default CPU generator as genlab seeds its
trainer's stream, and everything is drawn in genlab's order (initial weights net by net, the fixed
grid's z, each step's epoch permutation, z, the mixing coin, cutoff and second z, the noise maps), so
with the same seed the run follows genlab-cli's (same libtorch): the losses agree to float rounding,
bit for bit over the first steps, and drift apart only slowly.

Trains --steps steps from step 0 (a ProGAN through its growth: with --stage-steps 1 --fade-steps 1
it is at 28x28 from step 4 on, as genlab-cli with the same options) and prints one JSON line with the
training-loop time; images_per_s counts real + generated images through D and G (2 x batch a step),
as genlab-cli's samples_per_s. --count-params prints each network's parameter count;
--check-checkpoint PATH compares every tensor of a genlab checkpoint of the same model with this
script's (name and shape) and exits 1 on a difference.

    /usr/bin/python3 bench/stylegan_reference.py --model stylegan --steps 100 --threads 1
    /usr/bin/python3 bench/stylegan_reference.py --model progan --stage-steps 1 --fade-steps 1 --steps 100
    /usr/bin/python3 bench/stylegan_reference.py --model stylegan --check-checkpoint stylegan.safetensors
"""
import argparse
import ctypes
import json
import math
import struct
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

from fashion_mnist import FASHION, read_idx

LEAKY_GAIN = 1.41421356  # kLeakyGain
W_AVG_BETA = 0.995
MAPPING_LR_MUL = 0.01
GUARD_COPY_EVERY = 50  # TrainingGuard's copy_every


# ---------------------------------------------------------------------------- equalized.h
class EqLinear(nn.Module):
    def __init__(self, fan_in, out, gain=LEAKY_GAIN, lr_mul=1.0, bias_init=0.0):
        super().__init__()
        self.scale, self.lr_mul = gain * lr_mul / math.sqrt(fan_in), lr_mul
        self.weight = nn.Parameter(torch.randn(out, fan_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((out,), bias_init / lr_mul))

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqConv2d(nn.Module):
    def __init__(self, fan_in, out, kernel, gain=LEAKY_GAIN, with_bias=True):
        super().__init__()
        self.scale, self.padding = gain / math.sqrt(fan_in * kernel * kernel), kernel // 2
        self.weight = nn.Parameter(torch.randn(out, fan_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out)) if with_bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, 1, self.padding)

    def scaled_weight(self):
        return self.weight * self.scale


def pixel_norm(x):
    return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + 1e-8)


def leaky(x):
    return F.leaky_relu(x, 0.2)


def upsample2(x):
    return F.interpolate(x, size=(x.shape[2] * 2, x.shape[3] * 2), mode="nearest")


def downsample2(x):
    return F.avg_pool2d(x, 2)


def minibatch_stddev(x):
    b = x.shape[0]
    group = 4 if b % 4 == 0 else b
    grouped = x.reshape(b // group, group, x.shape[1], x.shape[2], x.shape[3])
    sd = torch.sqrt(grouped.var(1, unbiased=False) + 1e-8).mean((1, 2, 3))
    channel = sd.repeat_interleave(group).view(b, 1, 1, 1).expand(b, 1, x.shape[2], x.shape[3])
    return torch.cat([x, channel], 1)


# ---------------------------------------------------------------------------- gan_config: Growth
def growth_at(step, stage_steps, fade_steps):
    """GanConfig::growth_at: (level, alpha); level 0 draws H/4, 1 H/2, 2 H."""
    for level in range(2):
        if step < stage_steps:
            return level, 1.0
        step -= stage_steps
        if step < fade_steps:
            return level + 1, float(step) / float(fade_steps)
        step -= fade_steps
    return 2, 1.0


def fading(growth):
    return growth[0] > 0 and growth[1] < 1.0


def channels(width, level):  # progan_channels: width, width, max(4, width / 2)
    return width if level < 2 else max(4, width // 2)


# ---------------------------------------------------------------------------- progan.cpp
class ProGanGenerator(nn.Module):
    def __init__(self, latent=64, width=32, size=28, image_channels=1):
        super().__init__()
        self.base, self.growth = size // 4, (2, 1.0)
        self.input = EqLinear(latent, channels(width, 0) * self.base * self.base, LEAKY_GAIN / 4)
        for level in range(3):
            fan_in, out = channels(width, max(0, level - 1)), channels(width, level)
            if level > 0:
                setattr(self, f"conv_a{level}", EqConv2d(fan_in, out, 3))
            setattr(self, f"conv_b{level}", EqConv2d(out, out, 3))
            setattr(self, f"to_rgb{level}", EqConv2d(out, image_channels, 1, 1.0))

    def layer(self, name, level):
        return getattr(self, f"{name}{level}")

    def features(self, z, level):
        x = pixel_norm(leaky(self.input(pixel_norm(z))).view(z.shape[0], -1, self.base, self.base))
        x = pixel_norm(leaky(self.conv_b0(x)))
        for l in range(1, level + 1):
            x = pixel_norm(leaky(self.layer("conv_a", l)(upsample2(x))))
            x = pixel_norm(leaky(self.layer("conv_b", l)(x)))
        return x

    def forward(self, z):
        level, alpha = self.growth
        if not fading(self.growth):
            return self.layer("to_rgb", level)(self.features(z, level))
        before = self.features(z, level - 1)  # ProGanGenerator::fade
        old_path = upsample2(self.layer("to_rgb", level - 1)(before))
        x = pixel_norm(leaky(self.layer("conv_a", level)(upsample2(before))))
        new_path = self.layer("to_rgb", level)(pixel_norm(leaky(self.layer("conv_b", level)(x))))
        return torch.lerp(old_path, new_path, alpha)


class ProGanDiscriminator(nn.Module):
    def __init__(self, width=32, size=28, image_channels=1, growing=True):
        super().__init__()
        self.growth = (2, 1.0)
        for level in range(3):
            here, below = channels(width, level), channels(width, max(0, level - 1))
            if growing or level == 2:
                setattr(self, f"from_rgb{level}", EqConv2d(image_channels, here, 1))
            if level > 0:
                setattr(self, f"conv_a{level}", EqConv2d(here, here, 3))
                setattr(self, f"conv_b{level}", EqConv2d(here, below, 3))
        base, c0 = size // 4, channels(width, 0)
        self.final_conv = EqConv2d(c0 + 1, c0, 3)
        self.final_dense = EqLinear(c0 * base * base, c0)
        self.score = EqLinear(c0, 1, 1.0)

    def block(self, l, h):
        return downsample2(leaky(getattr(self, f"conv_b{l}")(leaky(getattr(self, f"conv_a{l}")(h)))))

    def forward(self, x):
        level, alpha = self.growth
        h = leaky(getattr(self, f"from_rgb{level}")(x))
        if level > 0:
            h = self.block(level, h)
            if fading(self.growth):
                h = torch.lerp(leaky(getattr(self, f"from_rgb{level - 1}")(downsample2(x))), h, alpha)
            for l in range(level - 1, 0, -1):
                h = self.block(l, h)
        h = leaky(self.final_conv(minibatch_stddev(h)))
        return self.score(leaky(self.final_dense(h.flatten(1)))).squeeze(1)


def progan_real(images, growth):
    x = images
    for _ in range(2, growth[0], -1):
        x = downsample2(x)
    if fading(growth):
        x = torch.lerp(upsample2(downsample2(x)), x, growth[1])
    return x


# ---------------------------------------------------------------------------- stylegan.cpp
class StyleConv(nn.Module):
    def __init__(self, w_dim, fan_in, out, upsample):
        super().__init__()
        self.upsample = upsample
        self.affine = EqLinear(w_dim, fan_in, 1.0, 1.0, 1.0)  # styles start at 1
        self.conv = EqConv2d(fan_in, out, 3, 1.0, with_bias=False)  # the bias comes after the noise
        self.noise_strength = nn.Parameter(torch.zeros(1))
        self.bias = nn.Parameter(torch.zeros(out))

    def forward(self, x, w, noise):
        style = self.affine(w)
        weight = self.conv.scaled_weight()
        demod = torch.rsqrt(torch.mm(style.pow(2), weight.pow(2).sum((2, 3)).t()) + 1e-8)
        h = x * style.unsqueeze(2).unsqueeze(3)
        if self.upsample:
            h = upsample2(h)
        h = F.conv2d(h, weight, None, 1, 1) * demod.unsqueeze(2).unsqueeze(3)
        h = h + noise * self.noise_strength
        return leaky(h + self.bias.view(1, -1, 1, 1)) * LEAKY_GAIN


class ToRgb(nn.Module):
    def __init__(self, w_dim, fan_in, image_channels):
        super().__init__()
        self.affine = EqLinear(w_dim, fan_in, 1.0, 1.0, 1.0)
        self.conv = EqConv2d(fan_in, image_channels, 1, 1.0)

    def forward(self, x, w):
        return self.conv(x * self.affine(w).unsqueeze(2).unsqueeze(3))


class StyleGenerator(nn.Module):
    LAYERS = 6

    def __init__(self, latent=64, width=32, size=28, image_channels=1, w_dim=64, mapping_depth=4, mixing_prob=0.9):
        super().__init__()
        self.size, self.mixing_prob, self.depth = size, mixing_prob, mapping_depth
        for i in range(mapping_depth):
            setattr(self, f"mapping{i}", EqLinear(latent if i == 0 else w_dim, w_dim, LEAKY_GAIN, MAPPING_LR_MUL))
        base = size // 4
        self.const_input = nn.Parameter(torch.randn(1, channels(width, 0), base, base))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        for layer in range(self.LAYERS):
            level = layer // 2
            out = channels(width, level)
            fan_in = out if layer == 0 else channels(width, (layer - 1) // 2)
            setattr(self, f"conv{layer}", StyleConv(w_dim, fan_in, out, layer % 2 == 0 and layer > 0))
            s = self.layer_size(layer)
            self.register_buffer(f"noise_const{layer}", torch.randn(1, 1, s, s))
            if layer % 2 == 1:
                setattr(self, f"to_rgb{level}", ToRgb(w_dim, out, image_channels))

    def layer_size(self, layer):
        return self.size >> (2 - layer // 2)

    def map(self, z):
        w = pixel_norm(z)
        for i in range(self.depth):
            w = leaky(getattr(self, f"mapping{i}")(w))
        return w

    def synthesize(self, ws):
        b = ws.shape[0]
        x = self.const_input.expand(b, -1, -1, -1)
        image = None
        for layer in range(self.LAYERS):
            s = self.layer_size(layer)
            n = torch.randn(b, 1, s, s) if self.training else getattr(self, f"noise_const{layer}")
            x = getattr(self, f"conv{layer}")(x, ws.select(1, layer), n)
            if layer % 2 == 1:
                rgb = getattr(self, f"to_rgb{layer // 2}")(x, ws.select(1, layer))
                image = rgb if image is None else upsample2(image) + rgb
        return image

    def forward(self, z):
        w = self.map(z)
        ws = w.unsqueeze(1).expand(-1, self.LAYERS, -1)
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(torch.lerp(w.detach().mean(0), self.w_avg, W_AVG_BETA))
            if self.mixing_prob > 0 and torch.rand(1).item() < self.mixing_prob:
                cutoff = int(torch.randint(1, self.LAYERS, (1,)).item())
                w2 = self.map(torch.randn(z.shape))
                ws = torch.cat([ws.narrow(1, 0, cutoff), w2.unsqueeze(1).expand(-1, self.LAYERS - cutoff, -1)], 1)
        return self.synthesize(ws)


# ---------------------------------------------------------------------------- gan_trainer.cpp
def build(model, a):
    """GanTrainer's constructor order: G, then D (both draw their initial weights)."""
    if model == "progan":
        return ProGanGenerator(a.latent, a.width), ProGanDiscriminator(a.width, growing=True)
    return (StyleGenerator(a.latent, a.width, w_dim=a.w_dim, mapping_depth=a.mapping_depth, mixing_prob=a.mixing_prob),
            ProGanDiscriminator(a.width, growing=False))


def all_finite(tensors):
    """finite_guard.cpp's all_finite: one sum per tensor, one read-back."""
    sums = [t.sum().to(torch.double) for t in tensors if t is not None and t.is_floating_point()]
    return not sums or bool(torch.stack(sums).isfinite().all().item())


class Guard:
    """TrainingGuard: gradients checked before each update, weights (G's and D's parameters and
    buffers) after it, a copy of them kept every 50 steps."""

    def __init__(self, modules):
        self.weights = [t for m in modules for t in list(m.parameters()) + list(m.buffers())]
        self.saved = []
        self.remember()

    def remember(self):
        with torch.no_grad():
            self.saved = [w.detach().clone() for w in self.weights]

    def before_update(self, params, loss, what):
        if not math.isfinite(loss) or not all_finite([p.grad for p in params]):
            raise FloatingPointError(f"{what} or a gradient became nan or inf")

    def after_update(self, step):
        if not all_finite(self.weights):
            raise FloatingPointError(f"the weights became nan or inf at step {step}")
        if step % GUARD_COPY_EVERY == 0:
            self.remember()


def grad_norm(module):
    total = 0.0
    for p in module.parameters():
        if p.grad is not None:
            total += p.grad.pow(2).sum().item()
    return math.sqrt(total)


class EpochOrder:
    """Trainer::next_in_order without short batches."""

    def __init__(self, count):
        self.count, self.order, self.cursor = count, None, 0

    def next(self, batch):
        if self.order is None or self.cursor + batch > self.count:
            self.order, self.cursor = torch.randperm(self.count), 0
        positions = self.order[self.cursor:self.cursor + batch]
        self.cursor += batch
        return positions


def count_params(module):
    return sum(p.numel() for p in module.parameters())


def checkpoint_shapes(path):
    """Tensor name -> shape from a safetensors header (8-byte little-endian length, then JSON)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return {name: list(entry["shape"]) for name, entry in header.items()}


def check_checkpoint(g, d, path):
    ours = {f"{prefix}.{name}": list(t.shape) for prefix, net in (("g", g), ("d", d))
            for name, t in list(net.named_parameters()) + list(net.named_buffers())}
    theirs = checkpoint_shapes(path)
    buffers = {f"g.{name}" for name, _ in g.named_buffers()} | {f"d.{name}" for name, _ in d.named_buffers()}
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    shape = sorted(n for n in set(ours) & set(theirs) if ours[n] != theirs[n])
    numel = lambda shapes, prefix: sum(math.prod(s) for n, s in shapes.items() if n.startswith(prefix) and n not in buffers)
    return {"checkpoint": path, "tensors": len(theirs), "matched": len(set(ours) & set(theirs)) - len(shape),
            "missing_in_python": missing, "only_in_python": extra, "shape_differs": shape,
            "params_cpp": {"g": numel(theirs, "g."), "d": numel(theirs, "d.")},
            "params_python": {"g": count_params(g), "d": count_params(d)},
            "buffers": sorted(buffers), "ok": not (missing or extra or shape)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=("stylegan", "progan"), default="stylegan")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="G's and D's Adam learning rate")
    p.add_argument("--stage-steps", type=int, default=1000, help="progan: steps at each resolution")
    p.add_argument("--fade-steps", type=int, default=1000, help="progan: steps a new resolution fades in")
    p.add_argument("--w-dim", type=int, default=64)
    p.add_argument("--mapping-depth", type=int, default=4)
    p.add_argument("--mixing-prob", type=float, default=0.9)
    p.add_argument("--count-params", action="store_true", help="print G's and D's parameter counts and exit")
    p.add_argument("--check-checkpoint", metavar="PATH",
                   help="compare the tensors of a genlab checkpoint of --model with these nets' and exit")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    # genlab's configure_compute_threads also sets OpenBLAS's own pool (torch's setting misses it).
    try:
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(a.threads)
    except (OSError, AttributeError):
        pass
    torch.manual_seed(a.seed)
    g, d = build(a.model, a)
    if a.count_params or a.check_checkpoint:
        if a.check_checkpoint:
            report = check_checkpoint(g, d, a.check_checkpoint)
            print(json.dumps({"model": a.model, **report}))
            sys.exit(0 if report["ok"] else 1)
        print(json.dumps({"model": a.model, "params": {"g": count_params(g), "d": count_params(d)}}))
        return

    images = torch.from_numpy(read_idx(f"{FASHION}/train-images-idx3-ubyte.gz").copy()).unsqueeze(1)
    torch.randn(64, a.latent)  # GanTrainer then draws its fixed grid's noise (unused here)
    opt_g = torch.optim.Adam(g.parameters(), lr=a.lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(d.parameters(), lr=a.lr, betas=(0.0, 0.99))
    guard = Guard([g, d])
    order = EpochOrder(images.shape[0])
    n, progan = a.batch, a.model == "progan"
    growth = (2, 1.0)
    s = {}

    def sync_growth(step):
        nonlocal growth
        if progan:
            growth = growth_at(step, a.stage_steps, a.fade_steps)
            g.growth = d.growth = growth

    def step_d(step):
        sync_growth(step)
        g.train()
        d.train()
        x = images.index_select(0, order.next(n)).float().div_(127.5).sub_(1.0)  # [-1, 1]
        if progan:
            x = progan_real(x, growth)
        with torch.no_grad():
            fake = g(torch.randn(n, a.latent))
        real_scores, fake_scores = d(x), d(fake)
        loss = F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()
        opt_d.zero_grad()  # zeroes the grads, as LibTorch 1.13's C++ zero_grad() (no set_to_none there)
        loss.backward()
        s["loss_d"] = loss.item()
        s["value"] = (-F.softplus(-real_scores).mean() - F.softplus(fake_scores).mean()).item()
        s["d_real"] = torch.sigmoid(real_scores).mean().item()
        s["d_fake"] = torch.sigmoid(fake_scores).mean().item()
        guard.before_update(d.parameters(), s["loss_d"], "the discriminator loss")
        opt_d.step()
        guard.after_update(step)  # the C++ passes step_ here, step_ + 1 for G
        s["grad_norm_d"] = grad_norm(d)

    def step_g(step):
        sync_growth(step)
        g.train()
        d.train()
        for p in d.parameters():  # as genlab: no gradients for D from G's loss
            p.requires_grad_(False)
        fake_scores = d(g(torch.randn(n, a.latent)))
        loss = F.softplus(-fake_scores).mean()
        opt_g.zero_grad()
        loss.backward()
        for p in d.parameters():
            p.requires_grad_(True)
        s["loss_g"] = loss.item()
        s["d_fake_g"] = torch.sigmoid(fake_scores).mean().item()
        guard.before_update(g.parameters(), s["loss_g"], "the generator loss")
        opt_g.step()
        guard.after_update(step + 1)
        s["grad_norm_g"] = grad_norm(g)

    t0 = time.perf_counter()
    for step in range(a.steps):
        step_d(step)
        step_g(step)
    seconds = time.perf_counter() - t0
    images_per_step = 2 * n  # real + generated through D and G, as genlab-cli's samples_per_s
    print(json.dumps({
        "impl": "python", "model": a.model, "threads": a.threads, "steps": a.steps, "seconds": seconds,
        "ms_per_step": 1000 * seconds / a.steps, "steps_per_s": a.steps / seconds,
        "images_per_s": a.steps * images_per_step / seconds, "resolution": 28 >> (2 - (growth_at(a.steps, a.stage_steps, a.fade_steps)[0] if progan else 2)),
        "params": {"g": count_params(g), "d": count_params(d)},
        "last": {k: s[k] for k in ("loss_d", "loss_g", "value", "d_real", "d_fake", "grad_norm_d", "grad_norm_g")}}))


if __name__ == "__main__":
    main()
