#!/usr/bin/env bash
# Installs what is missing, builds embcl, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build
cmake --build build -j"$(nproc)"
./build/embcl train
