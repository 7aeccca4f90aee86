#!/usr/bin/env bash
# Conditional DCGAN training speed: genlab (C++, the compact layout) and Python PyTorch
# (bench/gan_reference.py, the same layers, loss, optimiser, batch and threads), alternating `runs` times in one run.
#   bash bench/gan_side_by_side.sh [build-dir] [steps] [threads] [runs]
set -euo pipefail
build=${1:-build}
steps=${2:-300}
threads=${3:-1}
runs=${4:-3}
out=$(mktemp -d)
source "$(dirname "$0")/python_torch.sh"
for ((i = 1; i <= runs; i++)); do
  "$build/cli/genlab-cli" --threads "$threads" train --model gan --cond --layout compact --real-label 1 --g-ema 0 \
    --steps "$steps" --seed "$i" --out "$out/gan.safetensors" 2>/dev/null | tee -a "$out/cpp.jsonl"
  /usr/bin/python3 bench/gan_reference.py --steps "$steps" --threads "$threads" --seed "$i" | tee -a "$out/py.jsonl"
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
d = sys.argv[1]
cpp = [json.loads(l)["seconds"] / json.loads(l)["steps"] for l in open(f"{d}/cpp.jsonl")]
py = [json.loads(l)["seconds"] / json.loads(l)["steps"] for l in open(f"{d}/py.jsonl")]
print(json.dumps({"cpp_ms_per_step": 1000 * statistics.median(cpp), "python_ms_per_step": 1000 * statistics.median(py),
                  "speedup_cpp_over_python": statistics.median(py) / statistics.median(cpp)}))
PY
