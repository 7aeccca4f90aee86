"""The conv VAE of core/models/vae.cpp in Python PyTorch (Debian's python3-torch), trained the same
way (Adam, batch 128, dynamic binarisation, same epochs and threads). It writes a .safetensors file
with genlab's parameter names and metadata, so `genlab-cli eval` scores both models with one
evaluator. Prints one JSON line.

    /usr/bin/python3 bench/vae_reference.py --epochs 10 --out py.safetensors
"""
import argparse
import json
import struct
import time

import numpy as np
import torch
from torch import nn

from fashion_mnist import FASHION, read_idx


class Vae(nn.Module):
    def __init__(self, latent, arch):
        super().__init__()
        if arch == "conv":
            self.encoder = nn.Sequential(
                nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(),
                nn.Linear(64 * 7 * 7, 256), nn.ReLU())
            self.decoder = nn.Sequential(
                nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(64, 32, 3, padding=1), nn.ReLU(),
                nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(32, 1, 3, padding=1))
        else:
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU())
            self.decoder = nn.Sequential(nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                                         nn.Linear(512, 784), nn.Unflatten(1, (1, 28, 28)))
        self.head = nn.Linear(256, 2 * latent)

    def forward(self, x):
        mu, logvar = self.head(self.encoder(x)).chunk(2, 1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z), mu, logvar


def write_safetensors(path, state, metadata):
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        b = t.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"genlab": json.dumps(metadata)}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=float, default=10)
    p.add_argument("--latent", type=int, default=16)
    p.add_argument("--arch", default="conv")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train = torch.from_numpy(read_idx(f"{FASHION}/train-images-idx3-ubyte.gz").copy()).unsqueeze(1)
    model = Vae(a.latent, a.arch)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    n = train.shape[0]
    steps = int(np.ceil(a.epochs * np.ceil(n / a.batch)))
    perm, cursor = torch.randperm(n), 0
    t0 = time.perf_counter()
    for step in range(steps):
        if cursor >= n:
            perm, cursor = torch.randperm(n), 0
        idx = perm[cursor:cursor + a.batch]
        cursor += a.batch
        x = torch.bernoulli(train[idx].float() / 255.0)
        logits, mu, logvar = model(x)
        recon = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / x.shape[0]
        loss = recon + kl
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    config = {"kind": "vae", "arch": a.arch, "latent": a.latent, "beta": 1.0, "recon": "bernoulli", "binarize": True,
              "learning_rate": a.lr, "batch_size": a.batch, "seed": a.seed, "channels": 1, "height": 28, "width": 28}
    meta = {"format": "genlab-checkpoint-1", "model": "vae", "config": config, "dataset": "fashion-mnist",
            "step": steps, "epoch": steps * a.batch / n, "metrics": {"train_seconds": seconds}, "trained_by": "python"}
    write_safetensors(a.out, model.state_dict(), meta)
    print(json.dumps({"impl": "python", "torch": torch.__version__, "threads": a.threads, "steps": steps,
                      "seconds": seconds, "images_per_s": steps * a.batch / seconds, "last_loss": loss.item(),
                      "out": a.out}))


if __name__ == "__main__":
    main()
