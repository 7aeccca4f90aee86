#!/usr/bin/env bash
# Image-to-image training speed: genlab (C++) and Python PyTorch (bench/translate_reference.py, the
# same U-Net G, PatchGAN D, losses, optimisers, batch and threads) for Pix2Pix edges -> image,
# CycleGAN Sneaker <-> Ankle boot and StarGAN Sandal, Sneaker, Ankle boot, alternating `runs` times
# per model in one run. Prints each run's JSON line, then one line per model with the medians of
# ms/step and images/s and the ratio python/cpp.
#   bash bench/translate_side_by_side.sh [build-dir] [steps] [threads] [runs]
set -euo pipefail
build=${1:-build}
steps=${2:-100}
threads=${3:-1}
runs=${4:-3}
here=$(dirname "$0")
out=$(mktemp -d)
source "$here/python_torch.sh"
declare -A cpp_args=([pix2pix]="--task edges" [cyclegan]="--domains Sneaker,Ankle_boot"
                     [stargan]="--domains Sandal,Sneaker,Ankle_boot")
declare -A py_args=([pix2pix]="--task edges" [cyclegan]="--domains 7,9" [stargan]="--domains 5,7,9")
for model in pix2pix cyclegan stargan; do
  for ((i = 1; i <= runs; i++)); do
    # shellcheck disable=SC2086  # the options are words
    "$build/cli/genlab-cli" --threads "$threads" train --model "$model" ${cpp_args[$model]} --steps "$steps" \
      --seed "$i" --out "$out/$model.safetensors" 2>/dev/null | tee -a "$out/$model.cpp.jsonl"
    # shellcheck disable=SC2086
    /usr/bin/python3 "$here/translate_reference.py" --model "$model" ${py_args[$model]} --steps "$steps" \
      --threads "$threads" --seed "$i" | tee -a "$out/$model.py.jsonl"
  done
done
/usr/bin/python3 - "$out" "$threads" <<'PY'
import json, statistics, sys
d, threads = sys.argv[1], int(sys.argv[2])
load = lambda name: [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
ms = lambda runs: statistics.median(1000 * r["seconds"] / r["steps"] for r in runs)
ips = lambda runs: statistics.median(r["images_per_s"] for r in runs)
for model in ("pix2pix", "cyclegan", "stargan"):
    cpp, py = load(f"{model}.cpp"), load(f"{model}.py")
    print(json.dumps({"model": model, "steps": cpp[0]["steps"], "threads": threads, "runs": len(cpp),
                      "cpp_ms_per_step": ms(cpp), "python_ms_per_step": ms(py),
                      "cpp_images_per_s": ips(cpp), "python_images_per_s": ips(py),
                      "speedup_cpp_over_python": ms(py) / ms(cpp),
                      "cpp_loss_g": [r["last"]["loss_g"] for r in cpp], "python_loss_g": [r["last"]["loss_g"] for r in py]}))
PY
rm -rf "$out"
