#!/usr/bin/env bash
# Soak test: trains with a random batch shape every step for MINUTES
# (default 30), sampling host RSS and the device pool, then replays the
# first steps with the same seed. Prints the samples and a JSON summary;
# fails if memory grew after warm-up or the replay's losses differ.
#   scripts/soak.sh [MINUTES] [SEED]      (EMBCL_BUILD_DIR: default build)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
seed=${2:-1}
build=${EMBCL_BUILD_DIR:-build}
if [ ! -f "$build/libembcl.so" ]; then
  cmake -S . -B "$build" -DEMBCL_WERROR=ON >/dev/null
  cmake --build "$build" -j2 --target embcl
fi
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Iinclude tests/reliability/soak.c \
  -L"$build" -lembcl -Wl,-rpath,"$PWD/$build" -lm -o "$build/soak"
secs=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
exec "$build/soak" "$secs" "$seed"
