#!/usr/bin/env bash
# Trains the models shipped in assets/models with genlab-cli, one after the other on one thread,
# and keeps each run's JSON result, wall time and the commit beside it (the provenance records in
# assets/models/*.json are written from these).
#   bash scripts/train_shipped.sh [build-dir] [out-dir] [model ...]
# models: classifier vae-conv16 ae-conv16 vae-conv2 cgan ddpm ddpm-student pix2pix-edges pix2pix-superres
# cyclegan-shoes stargan-footwear progan stylegan vqvae-fashion vqprior-fashion vaegan-fashion klae-fashion
# ldm-fashion (default:
# the first six). ddpm resumes the shipped one; ddpm-student distils the shipped one (ship it as
# ddpm-fashion-cond-student.safetensors, beside its teacher); vqprior-fashion models the codes of vqvae-fashion in out-dir,
# ldm-fashion trains on klae-fashion in out-dir.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-ship}
shift 2 || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(classifier vae-conv16 ae-conv16 vae-conv2 cgan ddpm)
mkdir -p "$out"
cli="$build/cli/genlab-cli --threads 1"
commit=$(git rev-parse --short HEAD)
for m in "${models[@]}"; do
  case $m in
    classifier) args="train --model classifier --epochs 10 --seed 1" ;;
    vae-conv16) args="train --model vae --arch conv --latent 16 --epochs 10 --seed 1" ;;
    ae-conv16) args="train --model ae --arch conv --latent 16 --epochs 10 --seed 1" ;;
    vae-conv2) args="train --model vae --arch conv --latent 2 --epochs 10 --seed 1" ;;
    cgan) args="train --model gan --cond --layout compact --real-label 1 --g-ema 0 --epochs 8 --seed 1" ;;  # the shipped file predates the deep layout
    ddpm) args="train --model ddpm --cond --epochs 12 --seed 1 --resume assets/models/ddpm-fashion-cond.safetensors" ;;
    ddpm-student) args="train --model ddpm --teacher assets/models/ddpm-fashion-cond.safetensors --student-steps 5 --trajectories 16000 --steps 5000 --seed 1" ;;
    pix2pix-edges) args="train --model pix2pix --task edges --epochs 3 --seed 1" ;;
    pix2pix-superres) args="train --model pix2pix --task superres --factor 4 --epochs 3 --seed 1" ;;
    cyclegan-shoes) args="train --model cyclegan --domains Sneaker,Ankle_boot --lambda-identity 0.5 --epochs 5 --seed 1" ;;
    stargan-footwear) args="train --model stargan --domains Sandal,Sneaker,Ankle_boot --epochs 5 --seed 1" ;;
    progan) args="train --model progan --stage-steps 1500 --fade-steps 1500 --steps 8500 --seed 1" ;;
    stylegan) args="train --model stylegan --steps 8000 --seed 1" ;;
    vqvae-fashion) args="train --model vqvae --codes 64 --epochs 10 --seed 1" ;;
    vqprior-fashion) args="train --model vqprior --vqvae $out/vqvae-fashion.safetensors --steps 3500 --seed 1" ;;
    vaegan-fashion) args="train --model vaegan --latent 16 --adv-weight 5 --steps 2500 --seed 1" ;;
    klae-fashion) args="train --model klae --steps 3000 --seed 1" ;;
    ldm-fashion) args="train --model ldm --autoencoder $out/klae-fashion.safetensors --steps 6000 --seed 1" ;;
    *) echo "train_shipped.sh: unknown model '$m'" >&2; exit 2 ;;
  esac
  start=$(date +%s)
  $cli $args --out "$out/$m.safetensors" > "$out/$m.result.json" 2> "$out/$m.log"
  end=$(date +%s)
  printf '{"model":"%s","command":"genlab-cli --threads 1 %s --out %s.safetensors","commit":"%s","wall_seconds":%d}\n' \
    "$m" "$args" "$m" "$commit" $((end - start)) > "$out/$m.run.json"
  echo "$m: $((end - start)) s"
done
