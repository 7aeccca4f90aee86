"""genlab's VQ-VAE, VAE-GAN and the prior over VQ-VAE codes (core/vae/vqvae.cpp, vq_trainer.cpp,
vae.cpp, vae_trainer.cpp, vq_prior.cpp) in Python PyTorch (Debian's python3-torch), for a speed
comparison with `genlab-cli train --model vqvae|vaegan` and `genlab-cli sample` of a vqprior:
  - the same layers, parameter and buffer names and shapes (state_dict keys are the checkpoint's
    names; the VAE-GAN's carry "vae." and "discriminator."), the same ops in the same order;
  - --model vqvae: VqTrainer::train_step with VqConfig's defaults (K 64, D 16, commitment 0.25, EMA
    codebook with decay 0.99, restarts after 50 unused steps, Adam 1e-3 over every parameter but the
    codebook, batch 128 of gray images in [0, 1] in a shuffled epoch order): nearest code by argmin
    of |e|^2 - 2 z.e, straight-through, BCE with logits summed / batch + 0.25 * commitment (the
    codebook term is built but not in the loss); per step the .item()s of recon, commit and total,
    the batch's bincount, perplexity and used codes; after Adam's step the usage average, last_used,
    the EMA update (Laplace-smoothed counts) and dead-code restarts (drawn from the run's stream);
  - --model vaegan: VaeTrainer::train_step for kind VAEGAN (the conv VAE with latent 16, batch 128,
    dynamic binarisation, the reparameterisation noise and the prior's z drawn for the whole batch):
    the decoder's images of cat(z.detach(), z_prior), then D's step (Adam 2e-4, betas (0.5, 0.999),
    BCE real (the gray images, not their binarised samples) / fake, .item()s of its loss and mean sigmoids), then the VAE's step with D's weights
    frozen (pixel BCE + beta KL + D-feature reconstruction + adversarial BCE, weights 1/1/1/1;
    Adam 1e-3; .item()s of feature, adversarial, recon, kl and total);
  - both: the NaN guard (finite_guard.cpp: the loss and every gradient checked before each update
    through per-tensor sums, every parameter and buffer after it, and a copy of them every 50 steps);
  - --model prior: CodePriorImpl (a causal transformer over the 7x7 code grid in raster order, the
    class as its first token; its width, layers, heads and classes read from the checkpoint's config
    when one is given, else VqPriorConfig's defaults of today: width 64, 4 layers, 4 heads, and 10
    classes as genlab-cli trains it on Fashion-MNIST) sampled as vq_prior_samples() does: position
    by position, without a KV cache (the whole prefix through the net for each position), multinomial
    draws from a generator seeded seed * 7919, labels 0..9 in turn, then the VQ-VAE decodes the codes. Times the sampling
    and the decoding at each --sample-batches size (median of --repeats) inside this process.
    With --prior-ckpt/--vqvae-ckpt it loads genlab's weights; with --compare NPY it also checks that
    its images equal those `genlab-cli sample --n N --out NPY` wrote for the same checkpoints and seed.
Not included (genlab-cli's, all negligible or outside its timer too): its log line every 2 s and the
curve it records after each step; loading the data and building the nets (outside both timers); the
test figures and checkpoint genlab-cli writes after its timer stops.
Random numbers: torch.manual_seed(--seed) starts torch's default CPU generator as genlab seeds its
trainer's stream, and everything is drawn in genlab's order (initial weights, each step's epoch
permutation, binarisation, noise, restart picks), so with the same seed the run follows
genlab-cli's (same libtorch): the last figures agree to the digits genlab-cli logs (checked with
seeds 1-3 at 100 VQ-VAE steps, restarts included, and 50 VAE-GAN steps). The initial weights follow genlab's GCC
build, which builds the layers of each nn::Sequential(...) right to left (see sequential() below).

Prints one JSON line (the training-loop time, or the sampling times). --count-params prints the
parameter counts; --check-checkpoint PATH compares every tensor of a genlab checkpoint of --model
with this script's (name and shape) and exits 1 on a difference.

    /usr/bin/python3 bench/vq_reference.py --model vqvae --steps 100 --threads 1
    /usr/bin/python3 bench/vq_reference.py --model vaegan --steps 50 --threads 1
    /usr/bin/python3 bench/vq_reference.py --model vqvae --check-checkpoint vq.safetensors
    /usr/bin/python3 bench/vq_reference.py --model prior --prior-ckpt p.safetensors --vqvae-ckpt vq.safetensors \
        --sample-batches 1,64 --compare s64.npy
"""
import argparse
import ctypes
import json
import math
import statistics
import struct
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

from fashion_mnist import FASHION, read_idx

GUARD_COPY_EVERY = 50  # TrainingGuard's copy_every


def f32(value):
    """A C++ float config value as the double genlab hands to torch (1e-3f is 0.0010000000474974513)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


# ---------------------------------------------------------------------------- vqvae.cpp
def upsample():
    return nn.Upsample(scale_factor=2.0, mode="nearest")


def sequential(*layers):
    """nn::Sequential(a, b, c) as genlab's GCC build makes it: the arguments are evaluated (the layers
    built, their initial weights drawn) right to left, so the last layer draws first. The C++ leaves
    that order unspecified; a Clang build of genlab (left to right) would start from other weights."""
    built = [make() for make in reversed(layers)]
    return nn.Sequential(*reversed(built))


class VqVae(nn.Module):
    def __init__(self, codes=64, code_dim=16, channels=1):
        super().__init__()
        self.codes, self.code_dim = codes, code_dim
        self.encoder = sequential(
            lambda: nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU, lambda: nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU,
            lambda: nn.Conv2d(64, 64, 3, padding=1), nn.ReLU, lambda: nn.Conv2d(64, code_dim, 1))
        self.decoder = sequential(
            lambda: nn.Conv2d(code_dim, 64, 3, padding=1), nn.ReLU, lambda: nn.Conv2d(64, 64, 3, padding=1), nn.ReLU,
            upsample, lambda: nn.Conv2d(64, 32, 3, padding=1), nn.ReLU, upsample,
            lambda: nn.Conv2d(32, channels, 3, padding=1))
        bound = 1.0 / codes
        self.codebook = nn.Parameter(torch.empty(codes, code_dim).uniform_(-bound, bound))
        self.register_buffer("ema_count", torch.ones(codes))
        self.register_buffer("ema_sum", self.codebook.detach().clone())
        self.register_buffer("last_used", torch.zeros(codes))
        self.register_buffer("usage", torch.full((codes,), 1.0 / codes))

    def lookup(self, indices):
        return F.embedding(indices, self.codebook).permute(0, 3, 1, 2)

    def quantize(self, z_e):
        b, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        with torch.no_grad():
            distance = self.codebook.pow(2).sum(1).unsqueeze(0) - 2 * flat.matmul(self.codebook.t())
            indices = distance.argmin(1).view(b, h, w)
        e = self.lookup(indices)
        commit = (z_e - e.detach()).pow(2).sum((1, 2, 3)).mean()
        codebook_term = (z_e.detach() - e).pow(2).sum((1, 2, 3)).mean()
        z_q = z_e + (e - z_e).detach()
        return z_q, indices, commit, codebook_term

    def forward(self, x):
        z_e = self.encoder(x)
        z_q, indices, commit, codebook_term = self.quantize(z_e)
        return self.decoder(z_q), z_e, indices, commit, codebook_term

    def decode_codes(self, indices):
        return torch.sigmoid(self.decoder(self.lookup(indices)))


def code_counts(indices, codes):
    return torch.bincount(indices.reshape(-1), minlength=codes).float()


def perplexity(counts):
    p = counts.double() / counts.sum().clamp_min(1).double()
    return math.exp(-(p * (p + 1e-12).log()).sum().item())


# ---------------------------------------------------------------------------- vae.cpp (conv VAE-GAN)
class Vae(nn.Module):
    def __init__(self, latent=16, channels=1, size=28):
        super().__init__()
        s = size // 4
        self.encoder = sequential(
            lambda: nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU, lambda: nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU, nn.Flatten,
            lambda: nn.Linear(64 * s * s, 256), nn.ReLU)
        self.decoder = sequential(
            lambda: nn.Linear(latent, 256), nn.ReLU, lambda: nn.Linear(256, 64 * s * s), nn.ReLU,
            lambda: nn.Unflatten(1, (64, s, s)), upsample, lambda: nn.Conv2d(64, 32, 3, padding=1), nn.ReLU, upsample,
            lambda: nn.Conv2d(32, channels, 3, padding=1))
        self.head = nn.Linear(256, 2 * latent)

    def forward(self, x, eps):
        mu, logvar = self.head(self.encoder(x)).chunk(2, 1)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decoder(z), mu, logvar, z


class VaeGanDiscriminator(nn.Module):
    def __init__(self, channels=1, size=28):
        super().__init__()
        s = size // 4
        lrelu = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        self.features = sequential(lambda: nn.Conv2d(channels, 32, 4, 2, 1), lrelu,
                                   lambda: nn.Conv2d(32, 64, 4, 2, 1), lrelu)
        self.head = sequential(lambda: nn.Conv2d(64, 64, 3, padding=1), lrelu, nn.Flatten,
                               lambda: nn.Linear(64 * s * s, 1))

    def forward(self, x):
        return self.head(self.features(x)).squeeze(1)


class VaeGan(nn.Module):
    """Only a container for the checkpoint's names: "vae." and "discriminator."."""

    def __init__(self, latent=16):
        super().__init__()
        self.vae = Vae(latent)  # VaeTrainer builds the VAE first, then D (both draw their weights)
        self.discriminator = VaeGanDiscriminator()


# ---------------------------------------------------------------------------- vq_prior.cpp
class CausalBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.up = nn.Linear(width, 4 * width)
        self.down = nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, width = x.shape
        head = width // self.heads
        qkv = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, head).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q.matmul(k.transpose(-2, -1)) / math.sqrt(head)
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(future, -math.inf)
        attended = torch.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(b, t, width)
        h = x + self.proj(attended)
        return h + self.down(F.gelu(self.up(self.norm2(h))))


class CodePrior(nn.Module):
    def __init__(self, codes=64, positions=49, classes=10, width=128, layers=4, heads=4):
        super().__init__()
        self.codes, self.n_positions, self.classes = codes, positions, classes
        self.code_embedding = nn.Embedding(codes, width)
        self.class_embedding = nn.Embedding(classes + 1, width)
        self.positions = nn.Parameter(torch.randn(positions, width) * 0.02)
        self.blocks = nn.ModuleList([CausalBlock(width, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, codes)

    def start_tokens(self, labels):
        ids = labels.long()
        if self.classes == 0:
            ids = torch.zeros_like(ids)
        else:
            ids = torch.where(ids < 0, torch.full_like(ids, self.classes), ids)
        return self.class_embedding(ids).unsqueeze(1)

    def forward(self, codes, labels):
        t = codes.shape[1]
        x = self.start_tokens(labels)
        if t > 1:
            x = torch.cat([x, self.code_embedding(codes[:, :t - 1])], 1)
        x = x + self.positions[:t].unsqueeze(0)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    @torch.no_grad()
    def sample(self, labels, generator, temperature=1.0):
        b = labels.shape[0]
        codes = torch.full((b, self.n_positions), -1, dtype=torch.long)
        for i in range(self.n_positions):
            prefix = codes[:, :i + 1].clamp_min(0)  # no KV cache: the whole prefix again
            logits = self(prefix, labels).select(1, i)
            probs = torch.softmax(logits / temperature, -1)  # shape_logits with top_k 0
            codes[:, i].copy_(torch.multinomial(probs, 1, False, generator=generator).squeeze(1))
        return codes


# ---------------------------------------------------------------------------- finite_guard.cpp, trainer.cpp
def all_finite(tensors):
    """finite_guard.cpp's all_finite: one sum per tensor, one read-back."""
    sums = [t.sum().to(torch.double) for t in tensors if t is not None and t.is_floating_point()]
    return not sums or bool(torch.stack(sums).isfinite().all().item())


class Guard:
    """TrainingGuard over the checkpointed modules: gradients of the updated parameters checked before
    each update, every parameter and buffer after it, a copy kept every 50 steps (only the first
    update to reach a step: VAE-GAN's VAE update reaches the step D's already did)."""

    def __init__(self, modules):
        self.weights = [t for m in modules for t in list(m.parameters()) + list(m.buffers())]
        self.saved, self.good_step = [], 0
        self.remember(0)

    def remember(self, step):
        with torch.no_grad():
            self.saved = [w.detach().clone() for w in self.weights]
        self.good_step = step

    def before_update(self, params, loss, what):
        if not math.isfinite(loss) or not all_finite([p.grad for p in params]):
            raise FloatingPointError(f"{what} or a gradient became nan or inf")

    def after_update(self, step):
        if not all_finite(self.weights):
            raise FloatingPointError(f"the weights became nan or inf at step {step}")
        if step % GUARD_COPY_EVERY == 0 and step != self.good_step:
            self.remember(step)


class EpochOrder:
    """Trainer::next_in_order with keep_short (the last batch of an epoch is short)."""

    def __init__(self, count):
        self.count, self.order, self.cursor = count, None, 0

    def next(self, batch):
        if self.order is None or self.cursor + 1 > self.count:
            self.order, self.cursor = torch.randperm(self.count), 0
        end = min(self.cursor + batch, self.count)
        positions = self.order[self.cursor:end]
        self.cursor = end
        return positions


def count_params(module):
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------- checkpoints
def safetensors_header(path):
    """The header of a safetensors file (8-byte little-endian length, then JSON) and its data offset."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header, 8 + n


def read_safetensors(path):
    """Name -> float32 tensor (genlab writes F32; a packed F16 file is read as F16 and widened)."""
    header, start = safetensors_header(path)
    with open(path, "rb") as f:
        data = f.read()
    dtypes = {"F32": torch.float32, "F16": torch.float16}
    out = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        blob = bytearray(data[start + begin:start + end])
        t = torch.frombuffer(blob, dtype=dtypes[entry["dtype"]]) if blob else torch.empty(0, dtype=dtypes[entry["dtype"]])
        out[name] = t.reshape(entry["shape"]).float()
    return out


def check_checkpoint(net, path):
    ours = {name: list(t.shape) for name, t in list(net.named_parameters()) + list(net.named_buffers())}
    theirs = {name: list(entry["shape"]) for name, entry in safetensors_header(path)[0].items()}
    buffers = {name for name, _ in net.named_buffers()}
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    shape = sorted(n for n in set(ours) & set(theirs) if ours[n] != theirs[n])
    return {"checkpoint": path, "tensors": len(theirs), "matched": len(set(ours) & set(theirs)) - len(shape),
            "missing_in_python": missing, "only_in_python": extra, "shape_differs": shape,
            "params_cpp": sum(math.prod(s) for n, s in theirs.items() if n not in buffers),
            "params_python": count_params(net), "buffers": sorted(buffers), "ok": not (missing or extra or shape)}


# ---------------------------------------------------------------------------- training
def train_vqvae(a, images):
    torch.manual_seed(a.seed)
    model = VqVae(a.codes, a.code_dim)  # VqTrainer's constructor draws the weights, then the codebook
    params = [p for name, p in model.named_parameters() if name != "codebook"]  # EMA mode
    opt = torch.optim.Adam(params, lr=f32(a.lr))
    guard = Guard([model])
    order = EpochOrder(images.shape[0])
    commitment, decay, eps, k = f32(0.25), f32(0.99), 1e-5, a.codes
    s = {"restarted": 0}

    def update_codebook(z_e, indices, c, step):
        model.usage.mul_(0.98).add_(c / c.sum().clamp_min(1), alpha=0.02)
        model.last_used.masked_fill_(c > 0, float(step + 1))
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, a.code_dim)
        sums = torch.zeros(k, a.code_dim).index_add_(0, indices.reshape(-1), flat)
        model.ema_count.mul_(decay).add_(c, alpha=1 - decay)
        model.ema_sum.mul_(decay).add_(sums, alpha=1 - decay)
        n = model.ema_count.sum().item()
        smoothed = (model.ema_count + eps) / (n + k * eps) * n
        model.codebook.data.copy_(model.ema_sum / smoothed.unsqueeze(1))

    def restart_dead_codes(z_e, step):
        dead = ((float(step + 1) - model.last_used) > float(a.restart_after)).nonzero().squeeze(1)
        count = dead.shape[0]
        if count == 0:
            return 0
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, a.code_dim)
        picks = torch.randint(flat.shape[0], (count,))
        vectors = flat.index_select(0, picks) + 0.01 * torch.randn(count, a.code_dim)
        model.codebook.data.index_copy_(0, dead, vectors)
        model.ema_sum.index_copy_(0, dead, vectors)
        model.ema_count.index_fill_(0, dead, 1.0)
        model.last_used.index_fill_(0, dead, float(step + 1))
        return count

    def step_vq(step):
        model.train()
        x = images.index_select(0, order.next(a.batch)).float().div_(255.0)
        logits, z_e, indices, commit, _codebook_term = model(x)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        total = recon + commitment * commit
        opt.zero_grad()
        total.backward()
        counts = code_counts(indices, k)
        s["recon"], s["commit"], s["total"] = recon.item(), commit.item(), total.item()
        s["perplexity"] = perplexity(counts)
        s["used"] = int((counts > 0).sum().item())
        guard.before_update(model.parameters(), s["total"], "the loss")
        opt.step()
        with torch.no_grad():
            update_codebook(z_e.detach(), indices, counts, step)
            s["restarted"] += restart_dead_codes(z_e.detach(), step)
        guard.after_update(step + 1)

    t0 = time.perf_counter()
    for step in range(a.steps):
        step_vq(step)
    return time.perf_counter() - t0, {"vqvae": count_params(model)}, s


def train_vaegan(a, images):
    torch.manual_seed(a.seed)
    net = VaeGan(a.latent)
    vae, disc = net.vae, net.discriminator
    opt = torch.optim.Adam(vae.parameters(), lr=f32(a.lr))
    opt_d = torch.optim.Adam(disc.parameters(), lr=f32(a.lr_d), betas=(0.5, 0.999))
    guard = Guard([vae, disc])
    order = EpochOrder(images.shape[0])
    beta, pixel_w, feature_w, adversarial_w = 1.0, 1.0, 1.0, 1.0
    s = {}

    def discriminator_step(x, decoded, step):
        disc.train()
        real_logits, fake_logits = disc(x), disc(decoded)
        loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) +
                F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        opt_d.zero_grad()
        loss.backward()
        s["d_loss"] = loss.item()
        s["d_real"] = torch.sigmoid(real_logits).mean().item()
        s["d_fake"] = torch.sigmoid(fake_logits).mean().item()
        guard.before_update(disc.parameters(), s["d_loss"], "the discriminator loss")
        opt_d.step()
        guard.after_update(step + 1)

    def step_vaegan(step):
        vae.train()
        idx = order.next(a.batch)
        n = idx.shape[0]
        gray = images.index_select(0, idx).float().div_(255.0)
        x = (torch.rand(n, 1, 28, 28) < gray).float()  # dynamic binarisation
        logits, mu, logvar, z = vae(x, torch.randn(n, a.latent))
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
        kl_terms = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
        kl_terms.mean(0)  # vae_loss's kl_per_dim (computed there, unused here)
        kl = kl_terms.sum() / n
        recon + beta * kl  # vae_loss's total, replaced by the VAE-GAN's below
        z_prior = torch.randn(n, a.latent)
        decoded = torch.sigmoid(vae.decoder(torch.cat([z.detach(), z_prior])))
        discriminator_step(gray, decoded.detach(), step)  # D's real images are the gray ones
        for p in disc.parameters():  # Frozen: G's loss moves the VAE, not D
            p.requires_grad_(False)
        feature = 0.5 * (disc.features(gray).detach() - disc.features(torch.sigmoid(logits))).pow(2).sum() / n
        adversarial = F.binary_cross_entropy_with_logits(disc(decoded), torch.ones(2 * n))
        total = pixel_w * recon + beta * kl + feature_w * feature + adversarial_w * adversarial
        s["feature"], s["adversarial"] = feature.item(), adversarial.item()
        for p in disc.parameters():  # the C++ Frozen's scope ends here, before backward
            p.requires_grad_(True)
        opt.zero_grad()
        total.backward()
        s["recon"], s["kl"], s["total"] = recon.item(), kl.item(), total.item()
        guard.before_update(vae.parameters(), s["total"], "the loss")
        opt.step()
        guard.after_update(step + 1)

    t0 = time.perf_counter()
    for step in range(a.steps):
        step_vaegan(step)
    return time.perf_counter() - t0, {"vae": count_params(vae), "discriminator": count_params(disc)}, s


# ---------------------------------------------------------------------------- prior sampling
def checkpoint_config(path):
    """The "config" of a genlab checkpoint's metadata (a JSON string under "genlab")."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n)).get("__metadata__", {})
    return json.loads(meta.get("genlab", "{}")).get("config", {})


def prior_settings(a):
    """The prior's architecture: options given, else the checkpoint's config, else VqPriorConfig's defaults."""
    path = a.prior_ckpt or a.check_checkpoint
    config = checkpoint_config(path) if path else {}
    for name, key, default in (("classes", "classes", 10), ("prior_width", "width", 64), ("prior_layers", "layers", 4),
                               ("prior_heads", "heads", 4), ("codes", "codes", a.codes)):
        if getattr(a, name) is None or (name == "codes" and key in config):
            setattr(a, name, config.get(key, default))
    a.grid = (config.get("grid_h", 7), config.get("grid_w", 7))


def build_prior(a):
    return CodePrior(a.codes, a.grid[0] * a.grid[1], a.classes, a.prior_width, a.prior_layers, a.prior_heads)


def time_prior(a):
    torch.manual_seed(a.seed)
    prior = build_prior(a)
    vq = VqVae(a.codes, a.code_dim)
    loaded = []
    for net, path in ((prior, a.prior_ckpt), (vq, a.vqvae_ckpt)):
        if path:
            net.load_state_dict(read_safetensors(path))
            loaded.append(path)
    prior.eval()
    vq.eval()

    def draw(count, first=0):  # vq_prior_samples: one batch of up to 250 from `first`
        generator = torch.Generator().manual_seed(a.seed * 7919 + first)
        labels = torch.arange(first, first + count) % a.classes if a.classes > 0 else torch.full((count,), -1)
        t0 = time.perf_counter()
        codes = prior.sample(labels, generator)
        t1 = time.perf_counter()
        with torch.no_grad():
            images = vq.decode_codes(codes.view(count, a.grid[0], a.grid[1]))
        return images, t1 - t0, time.perf_counter() - t1

    positions = prior.n_positions
    draw(1)  # warm-up (first-call allocations), as genlab-cli's timing includes none either way
    result, images = {}, {}
    for b in a.sample_batches:
        runs = [draw(b) for _ in range(a.repeats)]
        images[b] = runs[-1][0]
        sample_s = statistics.median(r[1] for r in runs)
        decode_s = statistics.median(r[2] for r in runs)
        result[str(b)] = {"sample_ms": 1000 * sample_s, "ms_per_position": 1000 * sample_s / positions,
                          "decode_ms": 1000 * decode_s, "samples_per_s": b / (sample_s + decode_s)}
    out = {"impl": "python", "model": "prior", "threads": a.threads, "repeats": a.repeats, "loaded": loaded,
           "positions": positions, "width": a.prior_width, "layers": a.prior_layers, "heads": a.prior_heads,
           "classes": a.classes,
           "params": {"prior": count_params(prior), "vqvae": count_params(vq)}, "batches": result}
    if a.compare:
        import numpy as np  # only here: the .npy genlab-cli wrote
        theirs = torch.from_numpy(np.load(a.compare).astype("float32"))
        n = theirs.shape[0]
        ours = images[n] if n in images else draw(n)[0]
        same = list(ours.shape) == list(theirs.shape)
        diff = (ours - theirs).abs().max().item() if same else None
        out["compare"] = {"npy": a.compare, "n": theirs.shape[0], "same_shape": same, "max_abs_diff": diff,
                          "ok": same and diff < 1e-3}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=("vqvae", "vaegan", "prior"), default="vqvae")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (the VQ-VAE's, the VAE's)")
    p.add_argument("--lr-d", type=float, default=2e-4, help="vaegan: D's Adam learning rate")
    p.add_argument("--latent", type=int, default=16, help="vaegan")
    p.add_argument("--codes", type=int, default=64, help="vqvae, prior: K")
    p.add_argument("--code-dim", type=int, default=16, help="vqvae, prior: D")
    p.add_argument("--restart-after", type=int, default=50, help="vqvae: steps unused before a code is restarted")
    p.add_argument("--classes", type=int, help="prior: 0 unconditional (default: the checkpoint's, else 10)")
    p.add_argument("--prior-width", type=int, help="prior (default: the checkpoint's, else 64)")
    p.add_argument("--prior-layers", type=int, help="prior (default: the checkpoint's, else 4)")
    p.add_argument("--prior-heads", type=int, help="prior (default: the checkpoint's, else 4)")
    p.add_argument("--prior-ckpt", help="prior: genlab's prior checkpoint to load")
    p.add_argument("--vqvae-ckpt", help="prior: genlab's VQ-VAE checkpoint to load (the decoder)")
    p.add_argument("--sample-batches", default="1,64", help="prior: batch sizes to time, comma-separated")
    p.add_argument("--repeats", type=int, default=3, help="prior: timings per batch size (median)")
    p.add_argument("--compare", metavar="NPY", help="prior: genlab-cli sample's .npy for the same checkpoints and seed")
    p.add_argument("--count-params", action="store_true", help="print the parameter counts and exit")
    p.add_argument("--check-checkpoint", metavar="PATH",
                   help="compare the tensors of a genlab checkpoint of --model with these nets' and exit")
    a = p.parse_args()
    a.sample_batches = [int(b) for b in a.sample_batches.split(",")]
    if a.model == "prior":
        prior_settings(a)

    torch.set_num_threads(a.threads)
    # genlab's configure_compute_threads also sets OpenBLAS's own pool (torch's setting misses it).
    try:
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(a.threads)
    except (OSError, AttributeError):
        pass

    if a.count_params or a.check_checkpoint:
        torch.manual_seed(a.seed)
        net = {"vqvae": lambda: VqVae(a.codes, a.code_dim), "vaegan": lambda: VaeGan(a.latent),
               "prior": lambda: build_prior(a)}[a.model]()
        if a.check_checkpoint:
            report = check_checkpoint(net, a.check_checkpoint)
            print(json.dumps({"model": a.model, **report}))
            sys.exit(0 if report["ok"] else 1)
        print(json.dumps({"model": a.model, "params": count_params(net)}))
        return
    if a.model == "prior":
        print(json.dumps(time_prior(a)))
        return

    images = torch.from_numpy(read_idx(f"{FASHION}/train-images-idx3-ubyte.gz").copy()).unsqueeze(1)
    seconds, params, last = (train_vqvae if a.model == "vqvae" else train_vaegan)(a, images)
    print(json.dumps({
        "impl": "python", "torch": torch.__version__, "model": a.model, "threads": a.threads, "steps": a.steps,
        "seconds": seconds, "ms_per_step": 1000 * seconds / a.steps, "steps_per_s": a.steps / seconds,
        "images_per_s": a.steps * a.batch / seconds, "params": params, "last": last}))


if __name__ == "__main__":
    main()
