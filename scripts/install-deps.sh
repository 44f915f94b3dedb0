#!/usr/bin/env bash
# Installs what embcl needs on Debian 12, skipping packages already there.
# Usage: scripts/install-deps.sh [--torch]   (--torch adds python3-torch for
# the reference-data scripts and the side-by-side benchmarks)
set -euo pipefail
# libopenmpi-dev and openmpi-bin: training across machines (EMBCL_MPI, tests labelled mpi)
pkgs=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libclblast-dev libcriterion-dev
      libopenmpi-dev openmpi-bin)
if [ "${1:-}" = "--torch" ]; then
  # OpenBLAS: without it Debian's torch runs on the reference BLAS (~1 GFLOP/s)
  pkgs+=(python3-torch python3-numpy libopenblas0-pthread)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
