"""The conditional DCGAN of core/models/gan.cpp in Python PyTorch (Debian's python3-torch): same
layers, non-saturating loss, Adam(2e-4, 0.5, 0.999), batch 64, one D step per G step, [-1, 1] data.
Trains --steps generator steps and prints one JSON line with the time.

    /usr/bin/python3 bench/gan_reference.py --steps 500 --threads 1
"""
import argparse
import json
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from fashion_mnist import FASHION, read_idx


class Generator(nn.Module):
    def __init__(self, latent=64, w=64, classes=10):
        super().__init__()
        self.embed = nn.Embedding(classes, 16)
        self.net = nn.Sequential(
            nn.Linear(latent + 16, 2 * w * 49), nn.Unflatten(1, (2 * w, 7, 7)), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * w, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(w, 1, 3, padding=1), nn.Tanh())

    def forward(self, z, y):
        return self.net(torch.cat([z, self.embed(y)], 1))


class Discriminator(nn.Module):
    def __init__(self, w=64, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(),
            nn.Linear(2 * w * 49, 256), nn.LeakyReLU(0.2))
        self.head = nn.Linear(256, 1)
        self.project = nn.Embedding(classes, 256)

    def forward(self, x, y):
        h = self.features(x)
        return self.head(h).squeeze(1) + (self.project(y) * h).sum(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    images = torch.from_numpy(read_idx(f"{FASHION}/train-images-idx3-ubyte.gz").copy()).unsqueeze(1)
    labels = torch.from_numpy(read_idx(f"{FASHION}/train-labels-idx1-ubyte.gz").astype(np.int64))
    g, d = Generator(), Discriminator()
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    n = images.shape[0]
    perm, cursor = torch.randperm(n), 0
    t0 = time.perf_counter()
    for _ in range(a.steps):
        if cursor + a.batch > n:
            perm, cursor = torch.randperm(n), 0
        idx = perm[cursor:cursor + a.batch]
        cursor += a.batch
        x = images[idx].float() / 127.5 - 1
        y = labels[idx]
        with torch.no_grad():
            fake = g(torch.randn(a.batch, 64), y)
        loss_d = F.softplus(-d(x, y)).mean() + F.softplus(d(fake, y)).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        yg = torch.randint(10, (a.batch,))
        loss_g = F.softplus(-d(g(torch.randn(a.batch, 64), yg), yg)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    seconds = time.perf_counter() - t0
    print(json.dumps({"impl": "python", "threads": a.threads, "steps": a.steps, "seconds": seconds,
                      "steps_per_s": a.steps / seconds, "loss_d": loss_d.item(), "loss_g": loss_g.item()}))


if __name__ == "__main__":
    main()
