#!/bin/sh
# Runs genlab on the VAE sliders and drags the first slider with real X mouse events (xdotool), one
# move every PAUSE seconds, as a person's hand would; prints the app's frame stats (JSON) at exit.
# Run it inside an X server (xvfb-run).
#   drive_vae_slider.sh APP CHECKPOINT X0 Y0 X1 Y1 PAUSE MOVES
set -eu
app=$1 ckpt=$2 x0=$3 y0=$4 x1=$5 y1=$6 pause=$7 moves=$8
settle=6  # seconds for the start-up jobs (machine probe, data set, checkpoint) to finish
run=$(awk -v m="$moves" -v p="$pause" -v s="$settle" 'BEGIN { printf "%d", s + m * p + 4 }')
"$app" --tab vae --vae-view sliders --frame-stats --autosave-minutes 0 --load "$ckpt" --run-seconds "$run" &
pid=$!
wid=$(xdotool search --sync --name '^genlab$' | head -n 1)
sleep "$settle"
y=$(( (y0 + y1) / 2 ))
x=$(( x0 + 10 ))
step=$(( (x1 - x0 - 20) / moves ))  # across the slider's frame, 10 px in from each end
xdotool mousemove --window "$wid" "$x" "$y" mousedown 1
i=0
while [ "$i" -lt "$moves" ]; do
  i=$(( i + 1 ))
  sleep "$pause"
  xdotool mousemove --window "$wid" $(( x + i * step )) "$y"
done
xdotool mouseup 1
wait "$pid"
