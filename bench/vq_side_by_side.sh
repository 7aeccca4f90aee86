#!/usr/bin/env bash
# VQ-VAE and VAE-GAN training speed: genlab (C++) and Python PyTorch (bench/vq_reference.py, the same
# layers, parameter names and shapes, ops, losses, optimisers, batch 128, per-step .item()s, codebook
# EMA and dead-code restarts, NaN guard, random draws and threads), alternating `runs` times per model
# in one run (which side goes first flips every run), with genlab's defaults on both sides (VQ-VAE:
# K 64, D 16, beta 0.25, EMA 0.99, restarts after 50 steps; VAE-GAN: conv, latent 16, loss weights
# 1/1/1, D Adam 2e-4 (0.5, 0.999)).
# Before timing, the first C++ checkpoint of each model is checked against the Python nets (every
# tensor's name and shape; the script stops on a difference). Prints that check and each run's JSON
# line, then one line per model with the medians of ms/step and images/s, the ratio python/cpp and
# each run's last figures on both sides (same seed: they should agree).
# Then the prior over the codes (genlab-cli's default architecture, which the Python side reads back
# from the checkpoint; 10 classes on Fashion-MNIST), trained one step on the last VQ-VAE (sampling
# time does not depend on how trained it is), sampled for 49 positions at batch 1 and 64. genlab-cli
# has no in-process figure for it, so its side is the wall time of `genlab-cli sample --n N --out
# x.npy` (process start, loading both checkpoints, sampling, decoding, writing) less that of
# `genlab-cli sample --help` (process start only): at batch 1 that is mostly loading, not sampling.
# The Python side times sample() and the decode in-process on genlab's loaded weights and checks that
# its 64 images equal genlab-cli's. `repeats` timings each, medians.
#   bash bench/vq_side_by_side.sh [build-dir] [vq-steps] [vaegan-steps] [threads] [runs] [repeats]
set -euo pipefail
build=${1:-build}
vq_steps=${2:-100}
vaegan_steps=${3:-50}
threads=${4:-1}
runs=${5:-3}
repeats=${6:-3}
here=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck source=bench/python_torch.sh
source "$here/python_torch.sh"
cli="$build/cli/genlab-cli"
py=(/usr/bin/python3 "$here/vq_reference.py" --threads "$threads")
declare -A steps=([vqvae]=$vq_steps [vaegan]=$vaegan_steps)
run_cpp() {  # model, seed
  "$cli" --threads "$threads" train --model "$1" --steps "${steps[$1]}" --seed "$2" \
    --out "$out/$1.safetensors" 2>"$out/$1.cpp.$2.log" | tee -a "$out/$1.cpp.jsonl"
}
run_py() {
  "${py[@]}" --model "$1" --steps "${steps[$1]}" --seed "$2" | tee -a "$out/$1.py.jsonl"
}
for model in vqvae vaegan; do
  for ((i = 1; i <= runs; i++)); do
    # The order alternates (C++ first in odd runs, Python first in even ones): on a shared machine
    # the load drifts, and a fixed order would hand one side the quieter half of every pair.
    if ((i % 2 == 1)); then
      run_cpp "$model" "$i"
      if ((i == 1)); then
        "${py[@]}" --model "$model" --check-checkpoint "$out/$model.safetensors"
      fi
      run_py "$model" "$i"
    else
      run_py "$model" "$i"
      run_cpp "$model" "$i"
    fi
  done
done

"$cli" --threads "$threads" train --model vqprior --vqvae "$out/vqvae.safetensors" --steps 1 \
  --out "$out/prior.safetensors" 2>/dev/null >/dev/null
"${py[@]}" --model prior --check-checkpoint "$out/prior.safetensors"
timed() {  # label, then the command: prints its wall time and appends "label seconds" to prior.cpp.times
  local label=$1 t0 t1 seconds
  shift
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
  echo "$label $seconds" >>"$out/prior.cpp.times"
  echo "{\"impl\": \"cpp\", \"what\": \"$label\", \"wall_seconds\": $seconds, \"command\": \"${*//\"/}\"}"
}
for ((i = 1; i <= repeats; i++)); do
  timed start "$cli" sample --help
  for n in 1 64; do
    timed "n$n" "$cli" --threads "$threads" sample --ckpt "$out/prior.safetensors" --n "$n" --seed 1 --out "$out/s$n.npy"
  done
done
"${py[@]}" --model prior --prior-ckpt "$out/prior.safetensors" --vqvae-ckpt "$out/vqvae.safetensors" --seed 1 \
  --sample-batches 1,64 --repeats "$repeats" --compare "$out/s64.npy" | tee "$out/prior.py.json"

/usr/bin/python3 - "$out" "$threads" "$runs" <<'PY'
import json, re, statistics, sys
d, threads, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
load = lambda name: [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
ms = lambda rs: statistics.median(1000 * r["seconds"] / r["steps"] for r in rs)
ips = lambda rs: statistics.median(r["images_per_s"] for r in rs)

def cpp_vq_last(i):  # genlab-cli's last log line: recon, commit, perplexity, used codes, restarted
    line = [l for l in open(f"{d}/vqvae.cpp.{i}.log") if l.startswith("step ")][-1]
    m = re.search(r"recon ([\d.]+)\s+commit ([\d.]+)\s+perplexity ([\d.]+)\s+codes used (\d+)/\d+\s+restarted (\d+)", line)
    return dict(zip(("recon", "commit", "perplexity", "used", "restarted"), map(float, m.groups()))) if m else line.strip()

for model in ("vqvae", "vaegan"):
    cpp, py = load(f"{model}.cpp"), load(f"{model}.py")
    if model == "vqvae":
        cpp_last = [cpp_vq_last(i) for i in range(1, runs + 1)]
        py_last = [{k: round(r["last"][k], 3) for k in ("recon", "commit", "perplexity", "used", "restarted")} for r in py]
    else:
        cpp_last = [{k: round(r["train_last"][k], 3) for k in ("recon", "kl", "total")} for r in cpp]
        py_last = [{k: round(r["last"][k], 3) for k in ("recon", "kl", "total")} for r in py]
    print(json.dumps({"model": model, "steps": cpp[0]["steps"], "threads": threads, "runs": len(cpp),
                      "cpp_ms_per_step": ms(cpp), "python_ms_per_step": ms(py),
                      "cpp_images_per_s": ips(cpp), "python_images_per_s": ips(py),
                      "speedup_cpp_over_python": ms(py) / ms(cpp),
                      "cpp_ms_per_step_runs": [1000 * r["seconds"] / r["steps"] for r in cpp],
                      "python_ms_per_step_runs": [1000 * r["seconds"] / r["steps"] for r in py],
                      "cpp_last": cpp_last, "python_last": py_last}))

walls = {}
for line in open(f"{d}/prior.cpp.times"):
    label, seconds = line.split()
    walls.setdefault(label, []).append(float(seconds))
wall = {k: 1000 * statistics.median(v) for k, v in walls.items()}
py = json.load(open(f"{d}/prior.py.json"))
summary = {"model": "prior", "positions": 49, "threads": threads, "repeats": len(walls["start"]),
           "cpp_process_start_ms": wall["start"], "compare_ok": py.get("compare", {}).get("ok")}
for n in ("1", "64"):
    p = py["batches"][n]
    cpp_ms = wall[f"n{n}"] - wall["start"]  # loading + sampling + decoding + writing the .npy
    summary[f"batch{n}"] = {"cpp_wall_ms": wall[f"n{n}"], "cpp_wall_less_start_ms": cpp_ms,
                            "python_sample_ms": p["sample_ms"], "python_decode_ms": p["decode_ms"],
                            "python_ms_per_position": p["ms_per_position"],
                            "ratio_python_sample_and_decode_over_cpp_less_start": (p["sample_ms"] + p["decode_ms"]) / cpp_ms}
print(json.dumps(summary))
PY
