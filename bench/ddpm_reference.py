"""The class-conditional DDPM of core/diffusion (unet.cpp, diffusion_trainer.cpp) in Python PyTorch
(Debian's python3-torch): the same U-Net with UNetConfig's defaults, layer for layer and with
genlab's parameter names, and the same train_step (batch 64 drawn with replacement, t uniform in
1..T, linear betas 1e-4..0.02 with T = 1000, labels dropped to the null class with p = 0.1, eps MSE,
Adam 1e-3, EMA 0.999 every step, no gradient clipping). Trains --steps steps and prints one JSON
line shaped like `genlab-cli train --model ddpm`'s, with the training-loop time only.

    /usr/bin/python3 bench/ddpm_reference.py --steps 100 --threads 1
"""
import argparse
import ctypes
import json
import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from fashion_mnist import FASHION, read_idx


def group_norm(channels):  # the largest group count up to 8 that divides `channels`
    groups = 8
    while channels % groups:
        groups -= 1
    return nn.GroupNorm(groups, channels)


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride, 1)


def timestep_embedding(t, dim):  # [sin | cos] of t * 10000^(-i / half), i < half
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float) / half)
    args = t.float().unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([torch.sin(args), torch.cos(args)], 1)


class ResBlock(nn.Module):  # registration order as in C++: norm1, conv1, embed, norm2, conv2, skip
    def __init__(self, cin, cout, time_dim):
        super().__init__()
        self.norm1 = group_norm(cin)
        self.conv1 = conv3x3(cin, cout)
        self.embed = nn.Linear(time_dim, cout)
        self.norm2 = group_norm(cout)
        self.conv2 = conv3x3(cout, cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.embed(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class UNet(nn.Module):  # UNetConfig defaults: channels 1, 28x28, base 32, mid 64, 10 classes, time_dim 128
    def __init__(self, channels=1, base=32, mid=64, classes=10, td=128):
        super().__init__()
        self.time_dim, self.classes = td, classes
        self.time_in = nn.Linear(td, td)
        self.time_out = nn.Linear(td, td)
        self.class_embedding = nn.Embedding(classes + 1, td)  # index `classes` is the null class
        self.in_conv = conv3x3(channels, base)
        self.enc1 = ResBlock(base, base, td)
        self.down1 = conv3x3(base, mid, 2)  # strided conv down: 28 -> 14
        self.enc2 = ResBlock(mid, mid, td)
        self.down2 = conv3x3(mid, mid, 2)  # 14 -> 7
        self.middle = ResBlock(mid, mid, td)
        self.up2 = conv3x3(mid, mid)  # applied after a nearest 2x upsample (no ConvTranspose2d)
        self.dec2 = ResBlock(2 * mid, mid, td)
        self.up1 = conv3x3(mid, base)
        self.dec1 = ResBlock(2 * base, base, td)
        self.out_norm = group_norm(base)
        self.out_conv = conv3x3(base, channels)
        with torch.no_grad():  # zero output layer: the untrained net predicts eps = 0
            self.out_conv.weight.zero_()
            self.out_conv.bias.zero_()

    def forward(self, x, t, labels):
        emb = self.time_out(F.silu(self.time_in(timestep_embedding(t, self.time_dim))))
        emb = emb + self.class_embedding(labels)
        h = self.in_conv(x)
        skip1 = self.enc1(h, emb)
        skip2 = self.enc2(self.down1(skip1), emb)
        h = self.middle(self.down2(skip2), emb)
        h = self.dec2(torch.cat([self.up2(F.interpolate(h, scale_factor=2.0, mode="nearest")), skip2], 1), emb)
        h = self.dec1(torch.cat([self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest")), skip1], 1), emb)
        return self.out_conv(F.silu(self.out_norm(h)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    # genlab's configure_compute_threads also sets OpenBLAS's own pool (torch's setting misses it).
    try:
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(a.threads)
    except (OSError, AttributeError):
        pass
    images = torch.from_numpy(read_idx(f"{FASHION}/train-images-idx3-ubyte.gz").copy()).unsqueeze(1)
    labels_all = torch.from_numpy(read_idx(f"{FASHION}/train-labels-idx1-ubyte.gz").astype(np.int64))
    T, n, classes, dropout, decay, buckets = 1000, a.batch, 10, 0.1, 0.999, 10
    beta = 1e-4 + (0.02 - 1e-4) * np.arange(T) / (T - 1)  # schedule.cpp: linear, in double, index t - 1
    alpha_bar = torch.from_numpy(np.cumprod(1 - beta)).float()
    # The DiffusionTrainer constructor: seed, then net and EMA built in turn (both draw initial
    # weights), the EMA overwritten with the net's weights, Adam with default betas/eps.
    torch.manual_seed(a.seed)
    net, ema = UNet(), UNet()
    ema.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net_params, ema_params = list(net.parameters()), list(ema.parameters())
    bucket_sum, bucket_count = [0.0] * buckets, [0.0] * buckets
    smooth = 0.0
    t0 = time.perf_counter()
    for step in range(a.steps):  # DiffusionTrainer::train_step, the same random draws in the same order
        net.train()
        idx = torch.randint(images.shape[0], (n,))
        x0 = images.index_select(0, idx).float().div_(127.5).sub_(1.0)  # [-1, 1]
        t = torch.randint(1, T + 1, (n,))  # 1..T
        eps = torch.randn_like(x0)
        ab = alpha_bar.index_select(0, t - 1).view(n, 1, 1, 1)
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        y = labels_all.index_select(0, idx)
        drop = (torch.rand(n) < dropout).logical_or(y < 0)
        y = torch.where(drop, torch.full_like(y, classes), y)
        per_sample = (net(x_t, t - 1, y) - eps).pow(2).flatten(1).mean(1)
        loss = per_sample.mean()
        opt.zero_grad()  # zeroes the grads, as LibTorch 1.13's C++ zero_grad() (no set_to_none there)
        loss.backward()
        opt.step()
        with torch.no_grad():  # EMA parameter by parameter, as the C++ loop (no buffers to copy)
            for e, w in zip(ema_params, net_params):
                e.mul_(decay).add_(w, alpha=1 - decay)
        for ti, li in zip(t.tolist(), per_sample.detach().tolist()):  # decayed loss per t-bucket
            b = min(buckets - 1, (ti - 1) * buckets // T)
            bucket_sum[b] = 0.99 * bucket_sum[b] + li
            bucket_count[b] = 0.99 * bucket_count[b] + 1
        value = loss.item()
        smooth = value if step == 0 else 0.98 * smooth + 0.02 * value  # diffusion_run.cpp's smoothing
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "impl": "python", "model": "ddpm", "conditional": True, "threads": a.threads, "steps": a.steps,
        "seconds": seconds, "images_per_s": a.steps * n / seconds,
        "parameters": sum(q.numel() for q in net_params),
        "metrics": {"loss": smooth, "loss_per_t_bucket": [s / c if c else None for s, c in zip(bucket_sum, bucket_count)]}}))


if __name__ == "__main__":
    main()
