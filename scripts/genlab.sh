#!/usr/bin/env bash
# genlab's one entry point for a fresh Debian 12 machine:
#   bash scripts/genlab.sh run  [app options]   install the Debian packages, build, open the app
#   bash scripts/genlab.sh test                 install the Debian packages, build, run every test
#   bash scripts/genlab.sh sanitize             core, CLI and their tests under ASan + UBSan (CI runs it too)
#   bash scripts/genlab.sh deps | build         the steps on their own
# Everything comes from Debian's archive; nothing is downloaded at build or run time.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  libtorch-dev libopenblas0-pthread   # LibTorch runs 10-30x slower on the reference BLAS
  libgloo-dev   # the headers of c10d's Gloo process group (data-parallel training)
  libimgui-dev libglfw3-dev python3-glad libgl-dev
  libstb-dev zlib1g-dev libgif-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev
  dataset-fashion-mnist fonts-dejavu-core
  xvfb xauth xdotool   # xdotool: the GUI test drives a slider with real X mouse events
)

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "genlab: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
  cmake --build build -j"$(nproc)"
}

case "${1:-}" in
  deps) deps ;;
  build) shift; deps; build "$@" ;;
  run)
    shift; deps; build
    if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
      echo "genlab: no display; running under xvfb-run" >&2
      exec xvfb-run -a -s "-screen 0 1280x800x24" build/app/genlab "$@"
    fi
    exec build/app/genlab "$@" ;;
  test)
    deps; build
    cd build && ctest --output-on-failure -j"$(nproc)" ;;
  sanitize)
    deps
    # -g1: line tables for the reports' file:line, without the full debug info that makes each
    # torch translation unit ~20% slower to compile.
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
      -DGENLAB_GUI=OFF -DGENLAB_SANITIZE=address
    cmake --build build-asan -j"$(nproc)"
    # The tests that only check the numbers long training or sampling reach (a model learns, the
    # shipped models keep their figures) run in the normal build alone: under the sanitizers they
    # took minutes and exercise no code the other tests leave out.
    cd build-asan && ctest --output-on-failure -j"$(nproc)" \
      -E '^(Shipped\.|DiffusionTraining\.ATinyModelOverfits|SampleQuality\.AClassifierScores|VaeTraining\.LossFalls)' ;;
  *) sed -n '2,8p' "$0"; exit 2 ;;
esac
