#!/usr/bin/env bash
# Frame times of the Data tab at 1280x800 under Xvfb, idle and with a dummy CPU job on the worker,
# alternating runs so both see the same machine. Prints one JSON line per run.
#   bash bench/frame_times.sh [build-dir] [runs] [frames]
set -euo pipefail
build=${1:-build}
runs=${2:-3}
frames=${3:-600}
for ((i = 1; i <= runs; i++)); do
  for load in idle cpu-load; do
    extra=()
    [ "$load" = cpu-load ] && extra=(--cpu-load 0)
    printf '{"run":%d,"worker":"%s","stats":' "$i" "$load"
    xvfb-run -a -s "-screen 0 1280x800x24" "$build/app/genlab" --frames "$frames" --tab data \
      --frame-stats "${extra[@]}" | tr -d '\n'
    echo "}"
  done
done
