#!/bin/sh
# Moves the Diffusion tab's CFG scale with real X input: a click on the slider at one of four places
# every PAUSE seconds, CLICKS times, as a person trying guidance scales would; the app's --frame-stats
# line (printed at exit) then holds diffusion_change_to_step_ms: from each change to that run's
# first and last step on screen. Needs an X display:
#   xvfb-run -a -s "-screen 0 1400x900x24" sh tests/drive_diffusion_cfg.sh build/app/genlab X0 X1 Y PAUSE CLICKS [app options]
# X0..X1, Y: the slider's frame in the 1280x800 window (a screenshot shows it).
set -eu
app=$1 x0=$2 x1=$3 y=$4 pause=$5 clicks=$6
shift 6
settle=14  # seconds for the start-up jobs (machine probe, data set, shipped model) to finish
run=$(awk -v c="$clicks" -v p="$pause" -v s="$settle" 'BEGIN { printf "%d", s + c * p + 3 }')
"$app" --tab diffusion --frame-stats --autosave-minutes 0 --width 1280 --height 800 --run-seconds "$run" "$@" &
pid=$!
wid=$(xdotool search --sync --name '^genlab$' | head -n 1)
sleep "$settle"
i=0
while [ "$i" -lt "$clicks" ]; do
  # w at about 1/8, 3/8, 5/8 and 2/8 of the slider's 0..20 range, in turn
  case $(( i % 4 )) in 0) f=2 ;; 1) f=6 ;; 2) f=10 ;; *) f=4 ;; esac
  xdotool mousemove --window "$wid" $(( x0 + (x1 - x0) * f / 16 )) "$y" click 1
  i=$(( i + 1 ))
  sleep "$pause"
done
xdotool mousemove --window "$wid" 1000 760
wait "$pid"
