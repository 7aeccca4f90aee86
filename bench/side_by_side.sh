#!/usr/bin/env bash
# genlab (C++) against the same models in Python PyTorch (Debian's python3-torch; same layers,
# optimiser, batch and thread count), every model in one run: the VAE, the conditional GAN and the
# class-conditional DDPM, each script alternating C++ and Python; prints a table of the ratios.
#   bash bench/side_by_side.sh [build-dir] [threads]      (about 25 minutes on one thread)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
threads=${2:-1}
out=$(mktemp -d)
bash bench/vae_side_by_side.sh "$build" 2 "$threads" "$out/vae" | tail -1 > "$out/vae.json"
bash bench/gan_side_by_side.sh "$build" 300 "$threads" 3 | tail -1 > "$out/gan.json"
bash bench/ddpm_side_by_side.sh "$build" 100 "$threads" 3 | tail -1 > "$out/ddpm.json"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
vae, gan, ddpm = (json.load(open(f"{d}/{n}.json")) for n in ("vae", "gan", "ddpm"))
rows = [
    ("conv VAE, 2 epochs (images/s)", vae["cpp"]["images_per_s"], vae["python"]["images_per_s"], vae["speedup_cpp_over_python"]),
    ("cGAN, ms/step (median of 3)", gan["cpp_ms_per_step"], gan["python_ms_per_step"], gan["speedup_cpp_over_python"]),
    ("DDPM U-Net, ms/step (median of 3)", ddpm["cpp_ms_per_step"], ddpm["python_ms_per_step"], ddpm["speedup_cpp_over_python"]),
]
print(f"{'model':36} {'genlab':>10} {'python':>10} {'C++ speed-up':>13}")
for name, cpp, py, ratio in rows:
    print(f"{name:36} {cpp:10.1f} {py:10.1f} {ratio:12.2f}x")
print(json.dumps({"vae": vae, "gan": gan, "ddpm": ddpm}))
PY
rm -rf "$out"
