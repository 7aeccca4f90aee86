"""The image-to-image models of core/translate/ in Python PyTorch (Debian's python3-torch), trained
the same way for a speed comparison with genlab-cli:
  - translate_nets.cpp: the U-Net G (3x3 stem, stride-2 4x4 convs down to 3x3 with widths w, 2w, 4w,
    4w, nearest upsampling + 3x3 conv back up with the encoder's features concatenated, instance norm
    with affine, tanh head) and the PatchGAN D (no normalisation, 7x7 logits at 28x28, StarGAN's domain head
    on the pooled features), width 32;
  - translate_trainer.cpp: Pix2Pix (D then G; BCE on (input, image) pairs, G: L_GAN + 100 L1),
    CycleGAN (G and F then D_A and D_B; LSGAN, cycle 10, identity 5, a history pool of 50 generated
    images per domain), StarGAN (D then G; LSGAN + CE on the domain head, reconstruction 10, one-hot
    domain planes beside the image); Adam(2e-4, 0.5, 0.999), batch 32, the same batch sampling
    (epoch order for Pix2Pix and StarGAN, random draws per domain for CycleGAN);
  - paired_tasks.cpp: Pix2Pix's inputs made from each target in the step (thresholded Sobel edges, ...).
Fashion-MNIST in [-1, 1]. Domains are class indices (7, 9: Sneaker, Ankle boot). Trains --steps steps
(one D and one G update each) and prints one JSON line with the time; --count-params prints the
parameter count of each network instead, named as in genlab's checkpoints (g, f, d, d_a).

    /usr/bin/python3 bench/translate_reference.py --model pix2pix --task edges --steps 200 --threads 1
    /usr/bin/python3 bench/translate_reference.py --model cyclegan --domains 7,9 --steps 200
    /usr/bin/python3 bench/translate_reference.py --model stargan --domains 5,7,9 --steps 200
    /usr/bin/python3 bench/translate_reference.py --count-params
"""
import argparse
import json
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from fashion_mnist import FASHION, read_idx

MODELS = ("pix2pix", "cyclegan", "stargan")
DEFAULT_DOMAINS = {"cyclegan": "7,9", "stargan": "5,7,9"}
LAMBDA_L1, LAMBDA_CYCLE, LAMBDA_IDENTITY, LAMBDA_CLS, LAMBDA_REC = 100.0, 10.0, 5.0, 1.0, 10.0
POOL_SIZE = 50


def levels_for(size):
    """Halvings from `size` while the result keeps at least 3 pixels, at most 4: 28 -> 14 -> 7 -> 3."""
    levels = 0
    while levels < 4 and (size >> (levels + 1)) >= 3:
        levels += 1
    return levels


class UNetGenerator(nn.Module):
    """Modules named as genlab's (stem, down0.0, up0.1, head, ...) so state_dict keys line up."""

    def __init__(self, in_channels, out_channels, width=32, size=28):
        super().__init__()
        self.levels = levels_for(size)
        ch = lambda level: width * (1 << min(level, 2))  # w, 2w, 4w, 4w, ...
        self.stem = nn.Conv2d(in_channels, width, 3, 1, 1)
        for l in range(self.levels):
            setattr(self, f"down{l}", nn.Sequential(
                nn.Conv2d(ch(l), ch(l + 1), 4, 2, 1), nn.InstanceNorm2d(ch(l + 1), affine=True), nn.LeakyReLU(0.2)))
        for l in range(self.levels):
            setattr(self, f"up{l}", nn.Sequential(
                nn.Conv2d(ch(l + 1) + ch(l), ch(l), 3, 1, 1), nn.InstanceNorm2d(ch(l), affine=True), nn.ReLU()))
        self.head = nn.Conv2d(width, out_channels, 3, 1, 1)

    def forward(self, x):
        encoded = [F.leaky_relu(self.stem(x), 0.2)]
        for l in range(self.levels):
            encoded.append(getattr(self, f"down{l}")(encoded[-1]))
        h = encoded[-1]
        for l in reversed(range(self.levels)):
            skip = encoded[l]
            h = F.interpolate(h, size=skip.shape[2:], mode="nearest")
            h = getattr(self, f"up{l}")(torch.cat([h, skip], 1))
        return torch.tanh(self.head(h))


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels, width=32, classes=0):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 3, 1, 1), nn.LeakyReLU(0.2))
        self.patch = nn.Conv2d(4 * width, 1, 1, 1, 0)
        self.classify = nn.Linear(4 * width, classes) if classes > 0 else None

    def forward(self, x):
        """(B x 1 x P x P patch logits, B x classes logits or None)."""
        h = self.features(x)
        return self.patch(h), (self.classify(h.mean((2, 3))) if self.classify is not None else None)


def with_domain_planes(images, domains, k):
    planes = F.one_hot(domains, k).to(images.dtype).view(images.shape[0], k, 1, 1)
    return torch.cat([images, planes.expand(-1, -1, images.shape[2], images.shape[3])], 1)


def sobel_edges(images):
    gray = images.mean(1, keepdim=True)
    kx = torch.tensor([-1.0, 0, 1, -2, 0, 2, -1, 0, 1]).view(1, 1, 3, 3).to(images.dtype)
    gx = F.conv2d(gray, kx, padding=1)
    gy = F.conv2d(gray, kx.transpose(2, 3), padding=1)
    magnitude = (gx.pow(2) + gy.pow(2)).sqrt()
    peak = magnitude.amax((1, 2, 3), keepdim=True).clamp_min(1e-3)
    return (magnitude / peak > 0.3).to(images.dtype).expand(-1, images.shape[1], -1, -1).contiguous()


def task_input(task, targets, factor=4, sigma=0.3):
    """paired_tasks.cpp's task_input: [0, 1] targets -> [0, 1] inputs."""
    if task == "edges":
        return sobel_edges(targets)
    if task == "superres":
        return F.interpolate(F.avg_pool2d(targets, factor), size=targets.shape[2:], mode="nearest").clamp(0, 1)
    if task == "inpaint":
        n, _, h, w = targets.shape
        lo = max(1, h // 3)
        hi = max(lo + 1, h // 2 + 1)
        side = torch.randint(lo, hi, (n,))
        y0 = (torch.rand(n) * (h - side + 1).float()).long()
        x0 = (torch.rand(n) * (w - side + 1).float()).long()
        ys, xs = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
        box = ((ys >= y0.view(n, 1, 1)) & (ys < (y0 + side).view(n, 1, 1)) & (xs >= x0.view(n, 1, 1)) &
               (xs < (x0 + side).view(n, 1, 1))).unsqueeze(1).to(targets.dtype)
        return targets * (1 - box) + 0.5 * box
    return (targets + sigma * torch.randn_like(targets)).clamp(0, 1)  # denoise


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def lsgan(scores, target):
    return (scores - target).pow(2).mean()


def l1(a, b):
    return (a - b).abs().mean()


def adam(*modules):
    return torch.optim.Adam([p for m in modules for p in m.parameters()], lr=2e-4, betas=(0.5, 0.999))


class EpochOrder:
    """Trainer::next_in_order without short batches: a new permutation when the next batch runs out."""

    def __init__(self, count):
        self.count, self.perm, self.cursor = count, None, 0

    def next(self, batch):
        if self.perm is None or self.cursor + batch > self.count:
            self.perm, self.cursor = torch.randperm(self.count), 0
        positions = self.perm[self.cursor:self.cursor + batch]
        self.cursor += batch
        return positions


def build(model, k, width):
    """The networks by checkpoint name: G (and F) first, then D (and D_A)."""
    if model == "pix2pix":
        return {"g": UNetGenerator(1, 1, width), "d": PatchDiscriminator(2, width)}
    if model == "cyclegan":
        return {"g": UNetGenerator(1, 1, width), "f": UNetGenerator(1, 1, width),
                "d": PatchDiscriminator(1, width), "d_a": PatchDiscriminator(1, width)}
    return {"g": UNetGenerator(1 + k, 1, width), "d": PatchDiscriminator(1, width, k)}


def count_params(module):
    return sum(p.numel() for p in module.parameters())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=MODELS)
    p.add_argument("--task", default="edges", choices=("edges", "superres", "inpaint", "denoise"))
    p.add_argument("--domains", help="class indices, e.g. 7,9 (default: 7,9 for cyclegan, 5,7,9 for stargan)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count-params", action="store_true",
                   help="print each network's parameter count (every model without --model) and exit")
    a = p.parse_args()
    domain_list = lambda model: [int(d) for d in (a.domains or DEFAULT_DOMAINS.get(model, "")).split(",") if d.strip()]

    if a.count_params:
        for model in [a.model] if a.model else MODELS:
            nets = build(model, len(domain_list(model)), a.width)
            counts = {name: count_params(net) for name, net in nets.items()}
            print(json.dumps({"model": model, "params": counts,
                              "g_total": sum(v for n, v in counts.items() if n in ("g", "f")),
                              "d_total": sum(v for n, v in counts.items() if n in ("d", "d_a"))}))
        return
    if not a.model:
        p.error("--model is required (pix2pix, cyclegan or stargan)")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    images = torch.from_numpy(read_idx(f"{FASHION}/train-images-idx3-ubyte.gz").copy()).unsqueeze(1)
    labels = torch.from_numpy(read_idx(f"{FASHION}/train-labels-idx1-ubyte.gz").astype(np.int64))
    domains = domain_list(a.model)
    k = len(domains)
    if a.model == "cyclegan" and k != 2:
        p.error("--domains: CycleGAN translates between two domains")
    if a.model == "stargan" and k < 2:
        p.error("--domains: StarGAN needs at least two domains")
    nets = build(a.model, k, a.width)
    g, d = nets["g"], nets["d"]
    opt_g = adam(*[nets[n] for n in ("g", "f") if n in nets])
    opt_d = adam(*[nets[n] for n in ("d", "d_a") if n in nets])
    for net in nets.values():
        net.train()
    signed = lambda rows: images[rows].float() / 255.0 * 2 - 1  # uint8 -> [0, 1] -> [-1, 1]
    domain_rows = [torch.nonzero(labels == c).flatten() for c in domains]
    pooled_rows = torch.sort(torch.cat(domain_rows)).values if domains else None
    domain_of_label = torch.full((10,), -1, dtype=torch.long)
    for i, c in enumerate(domains):
        domain_of_label[c] = i
    order = EpochOrder(images.shape[0] if a.model == "pix2pix" else (len(pooled_rows) if a.model == "stargan" else 0))
    pool_a, pool_b = [], []
    stats = {}

    def from_pool(generated, pool):
        out = []
        for i in range(generated.shape[0]):
            image = generated[i].detach().clone()
            if len(pool) < POOL_SIZE:
                pool.append(image)
                out.append(image)
            elif torch.rand(1).item() < 0.5:
                j = torch.randint(len(pool), (1,)).item()
                out.append(pool[j])
                pool[j] = image
            else:
                out.append(image)
        return torch.stack(out)

    def update(opt, loss):
        opt.zero_grad()
        total = loss()
        total.backward()
        value = total.item()
        opt.step()
        return value

    def step_pix2pix():
        target = signed(order.next(a.batch))
        x = task_input(a.task, (target + 1) * 0.5) * 2 - 1
        fake = g(x)

        def loss_d():
            real_logits = d(torch.cat([x, target], 1))[0]
            fake_logits = d(torch.cat([x, fake.detach()], 1))[0]
            stats["d_real"] = torch.sigmoid(real_logits).mean().item()
            stats["d_fake"] = torch.sigmoid(fake_logits).mean().item()
            return 0.5 * (bce(real_logits, 1.0) + bce(fake_logits, 0.0))

        def loss_g():
            adversarial = bce(d(torch.cat([x, fake], 1))[0], 1.0)
            dist = l1(fake, target)
            stats["adversarial"], stats["l1"] = adversarial.item(), dist.item()
            return adversarial + LAMBDA_L1 * dist

        stats["loss_d"] = update(opt_d, loss_d)
        stats["loss_g"] = update(opt_g, loss_g)

    def step_cyclegan():
        f, d_a = nets["f"], nets["d_a"]
        pick = lambda rows: rows[torch.randint(len(rows), (a.batch,))]
        x_a, x_b = signed(pick(domain_rows[0])), signed(pick(domain_rows[1]))
        fake_b, fake_a = g(x_a), f(x_b)

        def loss_g():
            adversarial = lsgan(d(fake_b)[0], 1.0) + lsgan(d_a(fake_a)[0], 1.0)
            cycle = l1(f(fake_b), x_a) + l1(g(fake_a), x_b)
            identity = l1(g(x_b), x_b) + l1(f(x_a), x_a)
            stats["adversarial"], stats["cycle"], stats["identity"] = adversarial.item(), cycle.item(), identity.item()
            return adversarial + LAMBDA_CYCLE * cycle + LAMBDA_IDENTITY * identity

        stats["loss_g"] = update(opt_g, loss_g)
        pooled_b, pooled_a = from_pool(fake_b, pool_b), from_pool(fake_a, pool_a)

        def loss_d():
            real_b, real_a = d(x_b)[0], d_a(x_a)[0]
            old_b, old_a = d(pooled_b)[0], d_a(pooled_a)[0]
            stats["d_real"] = 0.5 * (real_a.mean().item() + real_b.mean().item())
            stats["d_fake"] = 0.5 * (old_a.mean().item() + old_b.mean().item())
            return 0.5 * (lsgan(real_b, 1.0) + lsgan(old_b, 0.0)) + 0.5 * (lsgan(real_a, 1.0) + lsgan(old_a, 0.0))

        stats["loss_d"] = update(opt_d, loss_d)

    def step_stargan():
        rows = pooled_rows[order.next(a.batch)]
        x = signed(rows)
        source = domain_of_label[labels[rows]]
        target = torch.randint(k, (x.shape[0],))
        fake = g(with_domain_planes(x, target, k))

        def loss_d():
            real_patches, real_classes = d(x)
            generated = d(fake.detach())[0]
            cls = F.cross_entropy(real_classes, source)
            stats["d_real"], stats["d_fake"], stats["cls_real"] = real_patches.mean().item(), generated.mean().item(), cls.item()
            return lsgan(real_patches, 1.0) + lsgan(generated, 0.0) + LAMBDA_CLS * cls

        def loss_g():
            patches, classes = d(fake)
            adversarial = lsgan(patches, 1.0)
            cls = F.cross_entropy(classes, target)
            rec = l1(g(with_domain_planes(fake, source, k)), x)
            stats["adversarial"], stats["cls_fake"], stats["rec"] = adversarial.item(), cls.item(), rec.item()
            return adversarial + LAMBDA_CLS * cls + LAMBDA_REC * rec

        stats["loss_d"] = update(opt_d, loss_d)
        stats["loss_g"] = update(opt_g, loss_g)

    step = {"pix2pix": step_pix2pix, "cyclegan": step_cyclegan, "stargan": step_stargan}[a.model]
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    seconds = time.perf_counter() - t0
    batch_images = (2 if a.model == "cyclegan" else 1) * a.batch
    print(json.dumps({"impl": "python", "model": a.model, "threads": a.threads, "steps": a.steps, "seconds": seconds,
                      "steps_per_s": a.steps / seconds, "images_per_s": a.steps * batch_images / seconds,
                      "last": stats}))


if __name__ == "__main__":
    main()
