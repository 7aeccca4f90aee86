#!/bin/sh
# Types into the Diffusion tab's Prompt view with real X input: adds " wide" to the prompt and takes it
# away again, 8 times, waiting for each run to finish; the app's --frame-stats line (printed at exit)
# then holds prompt_change_to_step_ms: from the last keystroke of each edit to that run's first and
# last step on screen. Needs an X display (xvfb-run -a -s "-screen 0 1400x900x24" sh tests/drive_prompt.sh ...).
#   sh tests/drive_prompt.sh build/app/genlab assets/models/ldm-fashion.safetensors shot.png
set -eu
app=$1 ckpt=$2 shot=$3
"$app" --tab diffusion --load "$ckpt" --autosave-minutes 0 --run-seconds 75 --frame-stats --screenshot "$shot" \
  --width 1280 --height 800 &
pid=$!
wid=$(xdotool search --sync --name '^genlab$' | head -n 1)
sleep 8
xdotool mousemove --window "$wid" 250 206 click 1  # the prompt box
sleep 0.3
xdotool key --window "$wid" End
for i in 1 2 3 4 5 6 7 8; do
  xdotool type --window "$wid" --delay 120 " wide"
  sleep 2.5
  xdotool key --window "$wid" --delay 60 BackSpace BackSpace BackSpace BackSpace BackSpace
  sleep 2.5
done
xdotool mousemove --window "$wid" 1000 740
wait "$pid"
