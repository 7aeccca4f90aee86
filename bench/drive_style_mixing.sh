#!/bin/sh
# Clicks the StyleGAN mixing grid's coarse / middle / fine radio buttons in turn with real X input,
# PAUSE seconds apart, ROUNDS times; prints the app's frame stats (style_mix_redraw_ms: from the
# frame a click changed the request to the frame that draws its grid) at exit, and writes SHOT.
# The buttons' positions are those of the 1280x800 window it opens. Run it inside an X server:
#   xvfb-run -a -s "-screen 0 1400x900x24" bench/drive_style_mixing.sh APP STYLEGAN.safetensors PAUSE ROUNDS SHOT.png
set -eu
app=$1 ckpt=$2 pause=$3 rounds=$4 shot=$5
run=$(awk -v r="$rounds" -v p="$pause" 'BEGIN { printf "%d", 8 + 3 * r * p + 3 }')
"$app" --tab gan --load "$ckpt" --gan-view style-mixing --frame-stats --autosave-minutes 0 --run-seconds "$run" --screenshot "$shot" --width 1280 --height 800 &
pid=$!
wid=$(xdotool search --sync --name '^genlab$' | head -n 1)
sleep 8
i=0
while [ "$i" -lt "$rounds" ]; do
  i=$(( i + 1 ))
  for y in 420 449 391; do
    xdotool mousemove --window "$wid" 347 "$y" click 1
    sleep "$pause"
  done
done
wait "$pid"
