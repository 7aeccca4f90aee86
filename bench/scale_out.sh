#!/usr/bin/env bash
# Data-parallel scaling on this machine, every family in one run: images/s of 1 process x 1 thread,
# 1 process x 2 threads and 2 ranks x 1 thread (genlab-cli train --nproc 2, Gloo on loopback), the
# all-reduce time and payload per step, and the efficiency of the 2 ranks against each 1-process
# figure. The three set-ups alternate, REPEATS times each; medians are reported.
#   bash bench/scale_out.sh [build-dir] [repeats]      (about 6 minutes with 3 repeats)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
repeats=${2:-3}
cli="$build/cli/genlab-cli"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# family: the options of its run (a few seconds each on one thread)
declare -A runs=(
  [vae]="--model vae --batch 128 --steps 60"
  [gan]="--model gan --batch 64 --steps 40"
  [ddpm]="--model ddpm --batch 64 --steps 12"
)
for family in vae gan ddpm; do
  for ((r = 0; r < repeats; r++)); do
    for setup in 1x1 1x2 2x1; do
      case $setup in
        1x1) args="--threads 1 train" ;;
        1x2) args="--threads 2 train" ;;
        2x1) args="--threads 1 train --nproc 2" ;;
      esac
      # shellcheck disable=SC2086
      "$cli" $args ${runs[$family]} --out "$out/$family.safetensors" >"$out/$family.$setup.$r.json" 2>"$out/$family.$setup.$r.err"
    done
  done
done

python3 - "$out" "$repeats" <<'PY'
import json, re, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
rows, result = [], {}
for family in ("vae", "gan", "ddpm"):
    figures = {}
    for setup in ("1x1", "1x2", "2x1"):
        rates, ms, mb = [], [], []
        for r in range(repeats):
            summary = json.loads(open(f"{out}/{family}.{setup}.{r}.json").read().splitlines()[0])
            rates.append(summary.get("images_per_s", summary.get("samples_per_s")))
            line = re.search(r"all-reduce ([0-9.]+) ms a step \(([0-9]+)% of the step\), ([0-9.]+) MB a step",
                             open(f"{out}/{family}.{setup}.{r}.err").read())
            if line:
                ms.append(float(line.group(1)))
                mb.append(float(line.group(3)))
        figures[setup] = {"images_per_s": statistics.median(rates)}
        if ms:
            figures[setup]["allreduce_ms_per_step"] = statistics.median(ms)
            figures[setup]["allreduce_mb_per_step"] = statistics.median(mb)
    two = figures["2x1"]["images_per_s"]
    figures["efficiency_vs_1x1"] = two / (2 * figures["1x1"]["images_per_s"])
    figures["ratio_vs_1x2"] = two / figures["1x2"]["images_per_s"]
    result[family] = figures
    rows.append((family, figures["1x1"]["images_per_s"], figures["1x2"]["images_per_s"], two,
                 figures["2x1"]["allreduce_ms_per_step"], figures["2x1"]["allreduce_mb_per_step"],
                 figures["efficiency_vs_1x1"], figures["ratio_vs_1x2"]))
print(f"{'family':7} {'1x1 img/s':>10} {'1x2 img/s':>10} {'2x1 img/s':>10} {'AR ms/step':>11} {'AR MB/step':>11} "
      f"{'2x1 / (2 * 1x1)':>16} {'2x1 / 1x2':>10}")
for f, a, b, c, ms, mb, eff, ratio in rows:
    print(f"{f:7} {a:10.0f} {b:10.0f} {c:10.0f} {ms:11.2f} {mb:11.2f} {eff:16.2f} {ratio:10.2f}")
print(json.dumps(result))
PY
