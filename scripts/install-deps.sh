#!/usr/bin/env bash
# Installs the Debian 12 packages fhist needs (with --fuzz: what `make fuzz` adds). Non-interactive and idempotent: packages already present are skipped,
# so a second run costs only the dpkg query.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev            # LibTorch 1.13 (CPU)
  libopenblas0-openmp     # replaces the reference BLAS LibTorch links by default: ~8x faster matmuls
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libsqlite3-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist   # /usr/share/datasets/fashion-mnist
  python3 python3-numpy   # end-to-end tests: JSON checks, NumPy interop of the .npy layout
  libstb-dev              # stb_image: image folders (--data folder:DIR); the HTML report's test reads its screenshot
  libcsv-dev              # CSV tables (--data csv:FILE)
  python3-sklearn python3-pil  # end-to-end tests on real data nobody here wrote (sklearn's digits, breast cancer)
  python3-torch           # examples/python: a plain PyTorch script as the objective (fhist search --command)
  python3-dev pybind11-dev     # the Python package fhist (build/python)
  python3-pip python3-setuptools python3-wheel  # pip install --no-build-isolation ./python, offline
  libopenmpi-dev openmpi-bin   # the MPI executor (fhist search --executor mpi under mpirun)
)
# Best effort: the HTML report's end-to-end test renders the page in headless Chromium and is skipped, saying why,
# where Chromium cannot be installed.
OPTIONAL=(chromium)
# npm fetches the charting library fhist report --html inlines (web/package-lock.json pins it). A node from
# elsewhere (e.g. NodeSource) brings its own npm, which Debian's npm package would conflict with.
if ! command -v npm > /dev/null 2>&1; then PACKAGES+=(npm); fi

# `make fuzz` only: clang and its libFuzzer / sanitizer runtimes.
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES=(clang libclang-rt-14-dev)
  OPTIONAL=()
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
optional=()
for p in "${OPTIONAL[@]}"; do installed "$p" || optional+=("$p"); done

# The report's charting library: npm ci when web/node_modules is missing or older than the lock file.
install_web() {
  local root lock stamp
  root=$(cd "$(dirname "$0")/.." && pwd)
  lock="$root/web/package-lock.json"
  stamp="$root/web/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$lock" ]; then return 0; fi
  echo "install-deps: npm ci in web/ (vega, vega-lite, vega-embed for fhist report --html)"
  (cd "$root/web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
}

if [ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  [ "${1:-}" = "--fuzz" ] || install_web
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]} ${optional[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
[ ${#missing[@]} -eq 0 ] || $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ ${#optional[@]} -gt 0 ] && ! $SUDO apt-get install -y -q --no-install-recommends "${optional[@]}"; then
  echo "install-deps: could not install ${optional[*]}: the HTML report's browser test will be skipped" >&2
fi
[ "${1:-}" = "--fuzz" ] || install_web
