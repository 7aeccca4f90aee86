#!/usr/bin/env bash
# ProGAN and StyleGAN training speed: genlab (C++) and Python PyTorch (bench/stylegan_reference.py,
# the same layers, parameter names and shapes, ops, "ns" loss, Adam(1e-3, 0, 0.99), batch 64,
# per-step monitoring and NaN guard, random draws and threads), alternating `runs` times per model in
# one run. ProGAN runs with --stage-steps 1 --fade-steps 1 on both sides: 7x7, the fade to 14x14,
# 14x14, the fade to 28x28, then 28x28 from step 4 on, so both time the same short growth and then
# the full resolution (nothing excluded on either side). StyleGAN runs with genlab's defaults but
# without R1 (--r1 0), which the Python copy leaves out.
# Before timing, the first C++ checkpoint of each model is checked against the Python nets (every
# tensor's name and shape; the script stops on a difference). Prints that check and each run's JSON
# line, then one line per model with the medians of ms/step and images/s (real + generated images
# through D and G: genlab-cli's samples_per_s) and the ratio python/cpp.
#   bash bench/stylegan_side_by_side.sh [build-dir] [steps] [threads] [runs]
set -euo pipefail
build=${1:-build}
steps=${2:-100}
threads=${3:-1}
runs=${4:-3}
here=$(dirname "$0")
out=$(mktemp -d)
source "$here/python_torch.sh"
declare -A args=([progan]="--stage-steps 1 --fade-steps 1" [stylegan]="")
declare -A cpp_only=([progan]="" [stylegan]="--r1 0")
for model in progan stylegan; do
  for ((i = 1; i <= runs; i++)); do
    # shellcheck disable=SC2086  # the options are words
    "$build/cli/genlab-cli" --threads "$threads" train --model "$model" ${args[$model]} ${cpp_only[$model]} --steps "$steps" \
      --seed "$i" --out "$out/$model.safetensors" 2>/dev/null | tee -a "$out/$model.cpp.jsonl"
    if ((i == 1)); then
      /usr/bin/python3 "$here/stylegan_reference.py" --model "$model" --check-checkpoint "$out/$model.safetensors"
    fi
    # shellcheck disable=SC2086
    /usr/bin/python3 "$here/stylegan_reference.py" --model "$model" ${args[$model]} --steps "$steps" \
      --threads "$threads" --seed "$i" | tee -a "$out/$model.py.jsonl"
  done
done
/usr/bin/python3 - "$out" "$threads" <<'PY'
import json, statistics, sys
d, threads = sys.argv[1], int(sys.argv[2])
load = lambda name: [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
ms = lambda runs: statistics.median(1000 * r["seconds"] / r["steps"] for r in runs)
ips = lambda runs, key: statistics.median(r[key] for r in runs)
for model in ("progan", "stylegan"):
    cpp, py = load(f"{model}.cpp"), load(f"{model}.py")
    print(json.dumps({"model": model, "steps": cpp[0]["steps"], "threads": threads, "runs": len(cpp),
                      "resolution": cpp[0]["resolution"],
                      "cpp_ms_per_step": ms(cpp), "python_ms_per_step": ms(py),
                      "cpp_images_per_s": ips(cpp, "samples_per_s"), "python_images_per_s": ips(py, "images_per_s"),
                      "speedup_cpp_over_python": ms(py) / ms(cpp),
                      "cpp_loss_g": [r["last"]["loss_g"] for r in cpp], "python_loss_g": [r["last"]["loss_g"] for r in py]}))
PY
rm -rf "$out"
