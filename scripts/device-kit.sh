#!/usr/bin/env bash
# Packs what a bare GPU machine needs to build and check fhist, for scripts/gpu-check.sh --kit: the Debian packages
# of the build dependencies that such a machine (PyTorch, CMake, ninja, nvcc; no network) lacks, unpacked there
# into a private prefix, never into /, and Fashion-MNIST. Run it here (Debian 12 with apt), then carry .device-kit
# (git-ignored, about 35 MB) and run `scripts/gpu-check.sh OUT --kit .device-kit` there.
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.device-kit
rm -rf "$kit"
mkdir -p "$kit/debs"
# Headers (CLI11, nlohmann-json, fmt, GoogleTest, SQLite, zlib) and the shared libraries they link, so nothing
# depends on what the other machine happens to have.
(cd "$kit/debs" && apt-get download libcli11-dev nlohmann-json3-dev libfmt-dev libfmt9 libgtest-dev libgmock-dev \
  googletest libsqlite3-dev libsqlite3-0 zlib1g-dev zlib1g)
cp -r /usr/share/datasets/fashion-mnist "$kit/fashion-mnist"
du -sh "$kit"
