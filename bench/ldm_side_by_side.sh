#!/usr/bin/env bash
# Latent text-to-image diffusion speed, genlab (C++) against Python PyTorch (bench/ldm_reference.py:
# the same layers, parameter names and shapes, ops, batch and threads), with the pixel U-Net beside it.
#  1. ldm training (LdmTrainer::train_once, batch 64), `runs` times a side, alternating (which side
#     goes first flips every run), on the first `subset` Fashion-MNIST training images (written to a
#     temp folder as IDX files that both sides read). genlab's first step encodes every image of the
#     pool once (0.7-1.2 ms an image on one thread here: the full pool of 51.5 k would add 35-60 s to
#     every run, on both sides); the step itself does not depend on the pool's size.
#     Steady state, genlab: its stderr lines are stamped as they arrive, and ms/step = (time of the
#     last "step k/N" line - time of the first) / (k_last - k_first). The first line comes after
#     step 1 (or a later step), so the encoding falls outside; between the two lines there is only
#     the CLI's loss curve and its log line every 2 s. Its one-off first step(s) = the run's own
#     "seconds" less that span; the encoding = that less k_first steady steps.
#     Python: each step timed, steps 2..N summed; the encoding timed apart.
#  2. One guided DDIM step of the latent model (w = 3: the prompt "a dark sneaker" and the empty
#     negative as one batch of 2B through the text encoder and the latent U-Net), and 3. of the
#     pixel U-Net (labels 0..9 in turn and the null class as 2B), at batch 1 and 64.
#     genlab: the wall time of `genlab-cli sample --steps S` less that of `--steps 1`, / (S - 1):
#     process start, loading, the first step's warm-up, the decode and the .npy cancel.
#     Python: the sampling loop in-process after a one-step warm-up, / S.
#     Both sample the same checkpoints: the last ldm run's and a one-step ddpm's, each with its EMA
#     replaced by its net + N(0, 0.05) noise (ldm_reference.py --scramble: an early EMA is nearly
#     the initial weights, whose zeroed output layers would hide most of each net from the check
#     below; speed does not depend on the weights). Python checks that its final images equal
#     genlab-cli's .npy for the same checkpoint, prompt, steps and seed.
#     The autoencoder's decode of a batch: Python in-process; genlab has no in-process figure, so
#     its side is the extra wall time per step of `sample --gif` at batch 64 (each step decoded,
#     laid out as a grid and written as a GIF frame: an upper bound; a 242 x 242 GIF frame costs
#     2-4 ms with libgif here).
# Before timing, the first checkpoints (ldm, klae, ddpm) are checked against the Python nets (every
# tensor's name and shape; the script stops on a difference). Prints each run's JSON line, a JSON
# summary line and a markdown table of medians; "genlab speed-up" is Python's time / genlab's (its
# images/s / Python's for throughput): above 1, genlab is faster.
#   bash bench/ldm_side_by_side.sh [build-dir] [ldm-steps] [threads] [runs] [repeats] [subset] [samples]
# samples: MODEL:BATCH:STEPS entries, default ldm:1:200,ldm:64:10,ddpm:1:50,ddpm:64:4 (enough steps
# that S - 1 of them outweigh the noise in a process's wall time). Defaults take ~5 minutes on the
# 2-core machine with 1 thread.
set -euo pipefail
build=${1:-build}
ldm_steps=${2:-30}
threads=${3:-1}
runs=${4:-3}
repeats=${5:-3}
subset=${6:-4000}
samples=${7:-ldm:1:200,ldm:64:10,ddpm:1:50,ddpm:64:4}
gif_steps=10
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck source=bench/python_torch.sh
source "$here/python_torch.sh"
# A copy: the build folder may be rebuilt while this runs.
cp "$build/cli/genlab-cli" "$out/genlab-cli"
cli="$out/genlab-cli"
py=(/usr/bin/python3 "$here/ldm_reference.py" --threads "$threads")
((ldm_steps >= 3)) || { echo "ldm-steps must be at least 3" >&2; exit 2; }

# The first `subset` training images (and 1000 test images) as Fashion-MNIST IDX files.
/usr/bin/python3 - "$here" "$out/data" "$subset" <<'PY'
import gzip, os, struct, sys
sys.path.insert(0, sys.argv[1])
from fashion_mnist import FASHION, read_idx
folder, n_train = sys.argv[2], int(sys.argv[3])
os.makedirs(folder)
for split, n in (("train", n_train), ("t10k", 1000)):
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        a = read_idx(f"{FASHION}/{split}-{kind}.gz")[:n]
        with gzip.open(f"{folder}/{split}-{kind}.gz", "wb", compresslevel=1) as f:
            f.write(struct.pack(">BBBB", 0, 0, 8, a.ndim) + struct.pack(">" + "I" * a.ndim, *a.shape) + a.tobytes())
PY
data="fashion-mnist:$out/data"
quiet() {  # the command with its output to /dev/null; its errors shown, and fatal
  "$@" >/dev/null 2>"$out/quiet.err" || { cat "$out/quiet.err" >&2; return 1; }
}
# The first stage (5 steps: the decode's cost does not depend on how trained it is) and a pixel DDPM.
quiet "$cli" --threads "$threads" train --model klae --dataset "$data" --steps 5 --out "$out/klae.safetensors"
quiet "$cli" --threads "$threads" train --model ddpm --cond --dataset "$data" --steps 1 --out "$out/ddpm.safetensors"

stamp() {  # each line prefixed with the time it arrived (bash's clock, no fork per line)
  local line
  while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
}
run_cpp_train() {  # seed
  local log="$out/ldm.cpp.$1.log"
  "$cli" --threads "$threads" train --model ldm --dataset "$data" --autoencoder "$out/klae.safetensors" \
    --steps "$ldm_steps" --seed "$1" --checkpoint-every 1000000 --out "$out/ldm.safetensors" \
    2>&1 >"$out/ldm.cpp.$1.json" | stamp >"$log"
  /usr/bin/python3 - "$log" "$out/ldm.cpp.$1.json" "$1" "$threads" <<'PY' | tee -a "$out/ldm.cpp.jsonl"
import json, re, sys
log, result, seed, threads = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4])
lines = [(float(l.split()[0]), int(m.group(1))) for l in open(log) if (m := re.search(r" step (\d+)/\d+ ", l))]
if len(lines) < 2 or lines[-1][1] == lines[0][1]:
    sys.exit(f"{log}: fewer than two 'step' lines after the first step: give more steps")
(t1, k1), (t2, k2) = lines[0], lines[-1]
ms = 1000 * (t2 - t1) / (k2 - k1)
first = result["seconds"] - (t2 - t1)  # steps 1..k1, the one-off encoding in step 1
print(json.dumps({"impl": "cpp", "model": "ldm", "seed": seed, "threads": threads, "batch": 64,
                  "steps": result["steps"], "timed_steps": k2 - k1, "ms_per_step": ms, "images_per_s": 64000 / ms,
                  "first_steps": k1, "first_steps_s": first, "encode_s": first - k1 * ms / 1000,
                  "pool_images": result["training_images"], "scale_factor": result["scale_factor"],
                  "loss_smoothed": result["metrics"]["loss"]}))
PY
}
run_py_train() {  # seed
  "${py[@]}" --train --steps "$ldm_steps" --seed "$1" --data "$out/data" --ldm-ckpt "$out/ldm.safetensors" \
    --autoencoder "$out/klae.safetensors" | tee -a "$out/ldm.py.jsonl"
}
for ((i = 1; i <= runs; i++)); do
  # The order alternates (C++ first in odd runs, Python first in even ones): on a shared machine
  # the load drifts, and a fixed order would hand one side the quieter half of every pair.
  if ((i % 2 == 1)); then
    run_cpp_train "$i"
    if ((i == 1)); then
      for ckpt in ldm klae ddpm; do "${py[@]}" --check-checkpoint "$out/$ckpt.safetensors"; done
    fi
    run_py_train "$i"
  else
    run_py_train "$i"
    run_cpp_train "$i"
  fi
done

"${py[@]}" --scramble "$out/ldm.safetensors" "$out/ldm_s.safetensors"
"${py[@]}" --scramble "$out/ddpm.safetensors" "$out/ddpm_s.safetensors"
mkdir -p "$out/npy"
walltime() {  # the command's wall seconds (quiet)
  local t0=$EPOCHREALTIME
  quiet "$@"
  /usr/bin/python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.4f}')" "$t0" "$EPOCHREALTIME"
}
sample_cpp() {  # model batch steps [extra options...]
  local model=$1 n=$2 s=$3
  shift 3
  local args=(--ckpt "$out/${model}_s.safetensors" --n "$n" --seed 1)
  [ "$model" = ldm ] && args+=(--prompt "a dark sneaker")
  walltime "$cli" --threads "$threads" sample "${args[@]}" --steps "$s" --out "$out/npy/${model}_b${n}_s${s}.npy" "$@"
}
run_cpp_sample() {  # repeat
  local entry model n s wall_s wall_1 wall_gif ms
  for entry in ${samples//,/ }; do
    IFS=: read -r model n s <<<"$entry"
    wall_s=$(sample_cpp "$model" "$n" "$s")
    wall_1=$(sample_cpp "$model" "$n" 1)
    ms=$(awk -v a="$wall_s" -v b="$wall_1" -v s="$s" 'BEGIN { printf "%.3f", 1000 * (a - b) / (s - 1) }')
    echo "{\"impl\": \"cpp\", \"what\": \"sample\", \"repeat\": $1, \"model\": \"$model\", \"batch\": $n," \
      "\"steps\": $s, \"wall_s\": $wall_s, \"wall_1step_s\": $wall_1, \"ms_per_step\": $ms}" |
      tee -a "$out/sample.cpp.jsonl"
  done
  wall_s=$(sample_cpp ldm 64 "$gif_steps")
  wall_gif=$(sample_cpp ldm 64 "$gif_steps" --gif "$out/x.gif")
  ms=$(awk -v a="$wall_gif" -v b="$wall_s" -v s="$gif_steps" 'BEGIN { printf "%.3f", 1000 * (a - b) / s }')
  echo "{\"impl\": \"cpp\", \"what\": \"decode\", \"repeat\": $1, \"batch\": 64, \"steps\": $gif_steps," \
    "\"wall_s\": $wall_s, \"wall_gif_s\": $wall_gif, \"ms_per_frame\": $ms}" | tee -a "$out/sample.cpp.jsonl"
}
run_py_sample() {
  "${py[@]}" --sample "$samples" --ldm-ckpt "$out/ldm_s.safetensors" --ddpm-ckpt "$out/ddpm_s.safetensors" \
    --decode-batches 1,64 --compare "$out/npy" | tee -a "$out/sample.py.jsonl"
}
for ((i = 1; i <= repeats; i++)); do
  if ((i % 2 == 1)); then
    run_cpp_sample "$i"
    run_py_sample
  else
    run_py_sample
    run_cpp_sample "$i"
  fi
done

/usr/bin/python3 - "$out" "$threads" "$subset" <<'PY'
import json, statistics, sys
d, threads, subset = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
load = lambda name: [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
med = statistics.median
cpp_t, py_t, cpp_s, py_s = load("ldm.cpp"), load("ldm.py"), load("sample.cpp"), load("sample.py")
rows = []  # (what, genlab, python, higher is better)
rows.append(("ldm train step, batch 64 (ms)", med(r["ms_per_step"] for r in cpp_t),
             med(r["ms_per_step"] for r in py_t), False))
rows.append(("ldm train images/s", med(r["images_per_s"] for r in cpp_t), med(r["images_per_s"] for r in py_t), True))
rows.append((f"ldm one-off encode of the pool, {cpp_t[0]['pool_images']} images (s)", med(r["encode_s"] for r in cpp_t),
             med(r["encode_seconds"] for r in py_t), False))
step = {}
for model, label in (("ldm", "latent U-Net + text encoder"), ("ddpm", "pixel U-Net")):
    for n in sorted({r["batch"] for r in cpp_s if r.get("model") == model}):
        c = med(r["ms_per_step"] for r in cpp_s if r.get("model") == model and r["batch"] == n)
        p = med(r["runs"][f"{model}_b{n}"]["ms_per_step"] for r in py_s)
        step[model, n] = (c, p)
        rows.append((f"{label}: guided DDIM step, batch {n} ({2 * n} through the nets) (ms)", c, p, False))
        if model == "ldm":
            rows.append((f"of which the text encoder, batch {n} (ms; Python only)", None,
                         med(r["runs"][f"ldm_b{n}"]["text_encoder_ms"] for r in py_s), False))
dec_c = med(r["ms_per_frame"] for r in cpp_s if r["what"] == "decode")
dec_p = {int(n): med(r["decode"][n]["ms"] for r in py_s) for n in py_s[0]["decode"]}
rows.append(("klae decode, batch 64 (ms; genlab: `--gif` cost per frame, an upper bound)", dec_c, dec_p.get(64), False))
rows.append(("klae decode, batch 1 (ms)", None, dec_p.get(1), False))
if ("ldm", 64) in step and ("ddpm", 64) in step and 64 in dec_p:
    rows.append(("50 guided DDIM steps, batch 64, latent + one decode (s)", (50 * step["ldm", 64][0] + dec_c) / 1000,
                 (50 * step["ldm", 64][1] + dec_p[64]) / 1000, False))
    rows.append(("50 guided DDIM steps, batch 64, pixel (s)", 50 * step["ddpm", 64][0] / 1000,
                 50 * step["ddpm", 64][1] / 1000, False))
speedup = lambda c, p, higher: (c / p if higher else p / c) if c and p else None
compare = [v.get("compare", {}) for r in py_s for v in r["runs"].values()]
summary = {"threads": threads, "subset": subset, "train_runs": len(cpp_t), "sample_repeats": len(py_s),
           "rows": [{"what": w, "cpp": c, "python": p, "cpp_speedup": speedup(c, p, h)} for w, c, p, h in rows],
           "samples_equal": all(c.get("ok") for c in compare) if compare else None,
           "max_abs_diff": max((c.get("max_abs_diff") or 0) for c in compare) if compare else None,
           "python_mean_tokens_per_caption": med(r["mean_tokens_per_caption"] for r in py_t),
           "cpp_train_ms_per_step_runs": [r["ms_per_step"] for r in cpp_t],
           "python_train_ms_per_step_runs": [r["ms_per_step"] for r in py_t]}
print(json.dumps(summary))
fmt = lambda v: "—" if v is None else f"{v:.3g}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"
print(f"\n{threads} thread(s); ldm trained on the first {subset} training images; medians of {len(cpp_t)} "
      f"training runs and {len(py_s)} sampling repeats a side\n")
print("| | genlab (C++) | Python | genlab speed-up |")
print("|---|---:|---:|---:|")
for w, c, p, h in rows:
    print(f"| {w} | {fmt(c)} | {fmt(p)} | {fmt(speedup(c, p, h))} |")
print()
for n in sorted({n for m, n in step if m == "ldm"} & {n for m, n in step if m == "ddpm"}):
    print(f"pixel / latent cost of a guided step at batch {n}: genlab {step['ddpm', n][0] / step['ldm', n][0]:.1f}x, "
          f"Python {step['ddpm', n][1] / step['ldm', n][1]:.1f}x")
print(f"Python's samples equal genlab-cli's: {summary['samples_equal']} (max |diff| {summary['max_abs_diff']:.2g})")
PY
