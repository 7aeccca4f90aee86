#!/usr/bin/env bash
# The conv VAE trained by genlab (C++) and by Python PyTorch (Debian's python3-torch, the same
# architecture, optimiser, batch, data and thread count), one after the other in one run, then both
# checkpoints scored by the same evaluator (`genlab-cli eval`: test -ELBO and IWAE in nats on
# dynamically binarised Fashion-MNIST). Prints one JSON line per step and a summary with ratios.
#   bash bench/vae_side_by_side.sh [build-dir] [epochs] [threads] [out-dir]
set -euo pipefail
build=${1:-build}
epochs=${2:-10}
threads=${3:-1}
out=${4:-bench/out}
mkdir -p "$out"
source "$(dirname "$0")/python_torch.sh"
cli="$build/cli/genlab-cli"
"$cli" --threads "$threads" train --model vae --arch conv --latent 16 --epochs "$epochs" --seed 1 \
  --out "$out/vae_cpp.safetensors" 2>/dev/null | tee "$out/train_cpp.json"
/usr/bin/python3 bench/vae_reference.py --epochs "$epochs" --threads "$threads" --seed 1 \
  --out "$out/vae_py.safetensors" | tee "$out/train_py.json"
"$cli" --threads "$threads" eval --ckpt "$out/vae_cpp.safetensors" --json 2>/dev/null | tee "$out/eval_cpp.json"
"$cli" --threads "$threads" eval --ckpt "$out/vae_py.safetensors" --json 2>/dev/null | tee "$out/eval_py.json"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
load = lambda n: json.load(open(f"{d}/{n}.json"))
tc, tp, ec, ep = load("train_cpp"), load("train_py"), load("eval_cpp"), load("eval_py")
print(json.dumps({
    "epochs": tc["epochs"], "threads": tp["threads"],
    "cpp": {"seconds": tc["seconds"], "images_per_s": tc["images_per_s"], "neg_elbo": ec["neg_elbo_nats"],
            "neg_iwae": ec["neg_iwae_nats"], "recon_bce_gray": ec["recon_bce_gray"]},
    "python": {"seconds": tp["seconds"], "images_per_s": tp["images_per_s"], "neg_elbo": ep["neg_elbo_nats"],
               "neg_iwae": ep["neg_iwae_nats"], "recon_bce_gray": ep["recon_bce_gray"]},
    "speedup_cpp_over_python": tp["seconds"] / tc["seconds"],
}))
PY
