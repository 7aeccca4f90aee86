#!/bin/sh
# Edits a VQ-VAE's code map with real X input: opens CKPT on the code map of test image 0, clicks
# cell (row 1, col 1) above the shoe, then code 13 (a bright one) in the palette below, and writes SHOT once the decode has changed.
# Positions are those of the 1280x800 window it opens. Run it inside an X server:
#   xvfb-run -a -s "-screen 0 1400x900x24" tests/drive_vq_edit.sh APP VQVAE.safetensors SHOT.png
set -eu
app=$1 ckpt=$2 shot=$3
"$app" --tab vae --load "$ckpt" --vae-view vq-codemap --autosave-minutes 0 --run-seconds 16 --screenshot "$shot" --width 1280 --height 800 &
pid=$!
wid=$(xdotool search --sync --name '^genlab$' | head -n 1)
sleep 8
xdotool mousemove --window "$wid" 530 207 click 1
sleep 1
xdotool mousemove --window "$wid" 1100 464 click 1
sleep 1
xdotool mousemove --window "$wid" 900 700
wait "$pid"
