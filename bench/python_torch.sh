# Sourced by the side-by-side benchmarks: makes sure Debian's python3-torch (the Python reference)
# is installed; it is not a build or test dependency, so scripts/genlab.sh leaves it out.
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends python3-torch python3-numpy
fi
