#!/bin/sh
# Drives the Compare tab with real X input: clicks a point of the cGAN's truncation curve on the
# FID chart (its sample row below switches to that point), then rests the mouse on the VQ prior's
# usual point, so the screenshot at exit shows that point's tooltip with its samples. Needs an X
# display and the shipped models measured into the cache at 500 samples a point
# (genlab-cli compare; GENLAB_CACHE_DIR as it was then):
#   xvfb-run -a -s "-screen 0 1400x900x24" sh tests/drive_compare.sh build/app/genlab shot.png CLICK_X CLICK_Y HOVER_X HOVER_Y
set -eu
app=$1 shot=$2
"$app" --tab compare --autosave-minutes 0 --run-seconds 40 --screenshot "$shot" --width 1280 --height 800 &
pid=$!
wid=$(xdotool search --sync --name '^genlab$' | head -n 1)
sleep 25  # start-up, then the cached rows of every shipped model
xdotool mousemove --window "$wid" "$3" "$4"
sleep 0.3
xdotool mousedown 1
sleep 0.1
xdotool mouseup 1
sleep 0.5
xdotool mousemove --window "$wid" "$5" "$6"
wait "$pid"
