#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz (clang, ASan + UBSan, no torch) and runs each for
# SECONDS (default 60), one after another: bash fuzz/run.sh [SECONDS [TARGET...]], TARGET one of
# idx safetensors png_text sampling_params prompt (default all). New inputs are kept in build-fuzz/corpus/
# <target> (the seeds in fuzz/corpus/<target> are read, never written); a crash, leak, timeout or
# out-of-memory input lands in build-fuzz/findings/<target>/ (emptied at each run). Exits 1 on a
# finding.
set -euo pipefail
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
targets=${*:-idx safetensors png_text sampling_params prompt}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DGENLAB_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

status=0
printf '%-16s %10s %8s %6s %7s %16s %9s\n' target execs exec/s cov ft corpus findings
for target in $targets; do
  case $target in
    idx | safetensors) max_len=65536 ;;
    png_text) max_len=16384 ;;
    sampling_params) max_len=4096 ;;
    prompt) max_len=1024 ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
  corpus=$build/corpus/$target findings=$build/findings/$target log=$build/logs/$target.log
  rm -rf "$findings"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  dict=()
  case $target in
    safetensors) dict=(-dict="$root/fuzz/safetensors.dict") ;;
    png_text | sampling_params) dict=(-dict="$root/fuzz/sampling_params.dict") ;;
    prompt) dict=(-dict="$root/fuzz/prompt.dict") ;;
  esac
  "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" "$corpus" "$root/fuzz/corpus/$target" \
    >"$log" 2>&1 && rc=0 || rc=$?
  # The last status line reads "#N DONE cov: C ft: F corp: U/Bb ..."; the final stats follow it.
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
  field() { sed -nE "s/.*$1: ([^ ]+).*/\1/p" <<<"$last"; }
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")
  # A timeout that its input does not repeat alone was the machine stalling the process (on a
  # shared, loaded machine): kept as stall-*, not counted.
  for unit in "$findings"/timeout-*; do
    [ -e "$unit" ] || continue
    "$build/fuzz/fuzz_$target" -runs=10 -timeout=10 "$unit" >/dev/null 2>&1 && mv "$unit" "$findings/stall-${unit##*/timeout-}"
  done
  found=$(find "$findings" -type f ! -name 'stall-*' | wc -l)
  printf '%-16s %10s %8s %6s %7s %16s %9s\n' "$target" "${execs:-?}" "${rate:-?}" "$(field cov)" "$(field ft)" \
    "$(field corp)" "$found"
  find "$findings" -type f -name 'stall-*' | sed 's/^/  timeout not repeated alone (load): /'
  [ "$found" -eq 0 ] || { status=1; find "$findings" -type f ! -name 'stall-*' | sed 's/^/  /'; echo "  log: $log"; }
  if [ "$rc" -ne 0 ] && [ -z "$(ls -A "$findings")" ]; then status=1; echo "  exited with $rc, no input kept: $log"; fi
done
exit $status
