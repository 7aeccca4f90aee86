#!/usr/bin/env bash
# Class-conditional DDPM training speed: genlab (C++) and Python PyTorch (bench/ddpm_reference.py, the
# same U-Net, train step, random draws, batch and threads), alternating `runs` times in one run.
# Prints each run's JSON line, then medians of ms/step and images/s and the ratio.
#   bash bench/ddpm_side_by_side.sh [build-dir] [steps] [threads] [runs]
set -euo pipefail
build=${1:-build}
steps=${2:-100}
threads=${3:-1}
runs=${4:-3}
out=$(mktemp -d)
source "$(dirname "$0")/python_torch.sh"
for ((i = 1; i <= runs; i++)); do
  "$build/cli/genlab-cli" --threads "$threads" train --model ddpm --cond --steps "$steps" --seed "$i" \
    --out "$out/ddpm.safetensors" 2>/dev/null | tee -a "$out/cpp.jsonl"
  /usr/bin/python3 bench/ddpm_reference.py --steps "$steps" --threads "$threads" --seed "$i" | tee -a "$out/py.jsonl"
done
/usr/bin/python3 - "$out" "$threads" <<'PY'
import json, statistics, sys
d, threads = sys.argv[1], int(sys.argv[2])
load = lambda name: [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
cpp, py = load("cpp"), load("py")
ms = lambda runs: statistics.median(1000 * r["seconds"] / r["steps"] for r in runs)
ips = lambda runs: statistics.median(r["images_per_s"] for r in runs)
print(json.dumps({"steps": cpp[0]["steps"], "threads": threads, "runs": len(cpp),
                  "cpp_ms_per_step": ms(cpp), "python_ms_per_step": ms(py),
                  "cpp_images_per_s": ips(cpp), "python_images_per_s": ips(py),
                  "speedup_cpp_over_python": ms(py) / ms(cpp),
                  "cpp_loss": [r["metrics"]["loss"] for r in cpp], "python_loss": [r["metrics"]["loss"] for r in py]}))
PY
rm -rf "$out"
