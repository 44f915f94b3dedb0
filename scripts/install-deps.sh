#!/usr/bin/env bash
# Installs what embcl needs on Debian 12, skipping packages already there.
# Usage: scripts/install-deps.sh [--torch] [--torch-pypi]
#   --torch       adds Debian's python3-torch (1.13) for the reference-data
#                 scripts and the side-by-side benchmarks (baseline torch-1.13)
#   --torch-pypi  makes a virtual environment with PyTorch 2.x and FBGEMM
#                 (fbgemm-gpu-cpu) from PyPI for bench/compare's torch-2.x and
#                 fbgemm baselines, at $EMBCL_TORCH_VENV (default
#                 /opt/embcl-torch). It leaves /usr/bin/python3 and its
#                 packages alone. The library and the tests never need it.
set -euo pipefail
torch=0
torch_pypi=0
for a in "$@"; do
  case "$a" in
    --torch) torch=1 ;;
    --torch-pypi) torch_pypi=1 ;;
    *) echo "usage: $0 [--torch] [--torch-pypi]" >&2; exit 2 ;;
  esac
done
# libopenmpi-dev and openmpi-bin: training across machines (EMBCL_MPI, tests labelled mpi)
pkgs=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libclblast-dev libcriterion-dev
      libopenmpi-dev openmpi-bin)
if [ "$torch" = 1 ]; then
  # OpenBLAS: without it Debian's torch runs on the reference BLAS (~1 GFLOP/s)
  pkgs+=(python3-torch python3-numpy libopenblas0-pthread)
fi
if [ "$torch_pypi" = 1 ]; then
  pkgs+=(python3-venv)
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
if [ "$torch_pypi" = 1 ]; then
  # FBGEMM release 1.N is built against PyTorch 2.(N+5): change both together.
  # PyPI's Linux torch wheel is its CUDA build: it pulls the CUDA libraries
  # (~5 GB in all) and does not import without them, even on a CPU-only
  # machine (--no-deps fails with "libcufile.so.0: cannot open").
  torch_version="${EMBCL_TORCH_PYPI_VERSION:-2.14.1}"
  fbgemm_version="${EMBCL_FBGEMM_PYPI_VERSION:-1.9.0}"
  venv="${EMBCL_TORCH_VENV:-/opt/embcl-torch}"
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
  if ! "$venv/bin/python" -c "import torch, fbgemm_gpu, sys; sys.exit(not (torch.__version__.startswith('$torch_version') and fbgemm_gpu.__version__ == '$fbgemm_version'))" 2>/dev/null; then
    "$venv/bin/pip" install -q "torch==$torch_version" "fbgemm-gpu-cpu==$fbgemm_version" numpy
  fi
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" -c \
    "import torch, fbgemm_gpu; print('torch', torch.__version__, 'fbgemm_gpu', fbgemm_gpu.__version__, 'in $venv')"
fi
