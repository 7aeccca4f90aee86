#!/bin/sh
# Draws on the Diffusion tab's Edit canvas with real X input: clears it, sketches a bag (a box and
# a handle) with mouse drags, waits for the SDEdit run, then loads test image 2, switches to
# Inpaint and paints a hole over it; the app's screenshot at exit shows that last run. Needs an X
# display (xvfb-run -a -s "-screen 0 1400x900x24" sh tests/drive_edit.sh ...).
#   sh tests/drive_edit.sh build/app/genlab sketch.png hole.png
set -eu
app=$1 sketch_shot=$2 hole_shot=$3
drag() {  # x0 y0 x1 y1 ...: one stroke through the points, left button
  xdotool mousemove --window "$wid" "$1" "$2" mousedown 1
  shift 2
  while [ $# -ge 2 ]; do
    xdotool mousemove --window "$wid" "$1" "$2"
    sleep 0.05
    shift 2
  done
  xdotool mouseup 1
}
click() {  # x y: pressed for a tenth of a second, as a hand does
  xdotool mousemove --window "$wid" "$1" "$2" mousedown 1
  sleep 0.1
  xdotool mouseup 1
  sleep 0.4
}
# The canvas spans (17, 98) .. (240, 321) at 1280 x 800: 8 screen pixels per image pixel.
"$app" --tab diffusion --diffusion view=edit --autosave-minutes 0 --run-seconds 30 --screenshot "$sketch_shot" \
  --width 1280 --height 800 &
pid=$!
wid=$(xdotool search --sync --name '^genlab$' | head -n 1)
sleep 14  # start-up: the data set and the shipped models load first
click 403 338  # Clear
drag 60 170 200 170 200 290 60 290 60 170      # the bag's body
drag 90 170 90 120 170 120 170 170             # its handle
drag 80 230 180 230 80 250 180 250 80 270 180 270  # fill
wait "$pid"

"$app" --tab diffusion --diffusion view=edit --autosave-minutes 0 --run-seconds 30 --screenshot "$hole_shot" \
  --width 1280 --height 800 &
pid=$!
wid=$(xdotool search --sync --name '^genlab$' | head -n 1)
sleep 14  # start-up: the data set and the shipped models load first
click 224 423  # Inpaint
click 74 367   # From test image (#0)
drag 70 180 190 180 190 200 70 200 70 220 190 220 190 240 70 240  # a band across its middle
wait "$pid"
