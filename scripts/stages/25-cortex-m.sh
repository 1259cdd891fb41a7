#!/usr/bin/env bash
# Cortex-M firmware: trains the tied autoencoder briefly on the host, exports it
# as a C header (mote export --c-header), takes a few Fashion-MNIST test images
# as const float arrays (examples/cortex-m/tools/make_samples), builds the four
# firmware images (inference only, fine-tune biases / last layer / all) for a
# Cortex-M4F (qemu mps2-an386), a Cortex-M7 (mps2-an500) and a Cortex-M55
# (mps3-an547), runs each under qemu-system-arm via ctest (after-fine-tuning
# loss below before, stack not used up, the link maps name no heap function),
# and prints the size table. The linker scripts cap each image's RAM (8 KiB
# inference, 16 KiB biases, 1 MiB the others), so the link proves the fit.
#
# The host tool: build/src/mote when 10-host built it, else a tools-only build
# in build-fw/host (MOTE_HOST_TOOL overrides). MOTE_FW_CPUS="m4f" limits the CPUs.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
jobs=$(nproc)
stage_start=$(date +%s)
work=$root/build-fw
data=${MOTE_DATA_DIR:-/usr/share/datasets/fashion-mnist}
mkdir -p "$work"

mote=${MOTE_HOST_TOOL:-$root/build/src/mote}
if [ ! -x "$mote" ]; then
  echo "--- host tool: building mote in $work/host"
  cmake -S . -B "$work/host" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOTE_WERROR=ON -DMOTE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$work/host" -j "$jobs" --target mote
  mote=$work/host/src/mote
fi

echo "--- weights: tied, 1 epoch on 5000 images, exported as a C header"
"$mote" train --model tied --epochs 1 --limit 5000 --data "$data" --save "$work/tied.mote"
"$mote" export --load "$work/tied.mote" --c-header "$work/tied_model.h" --name tied
cc -std=c99 -O2 -Wall -Wextra -Werror examples/cortex-m/tools/make_samples.c -lz -o "$work/make_samples"
"$work/make_samples" "$data" 8 "$work/samples.h"  # class 8: bags

status=0
for cpu in ${MOTE_FW_CPUS:-m4f m7 m55}; do
  dir=build-$cpu
  echo "--- Cortex-${cpu^^}: firmware build ($dir)"
  cmake -S examples/cortex-m -B "$dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/arm-none-eabi-cortex-$cpu.cmake" \
    -DMOTE_WERROR=ON -DMOTE_FW_MODEL_HEADER="$work/tied_model.h" -DMOTE_FW_SAMPLES_HEADER="$work/samples.h" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "--- Cortex-${cpu^^}: ctest under qemu-system-arm"
  if ! ctest --test-dir "$dir" --output-on-failure -j "$jobs"; then status=1; fi
  ctest --test-dir "$dir" -R '_(mps2|mps3)' -V 2>/dev/null | grep -E "firmware .* reconstruction loss|stack used" || true
  echo "--- Cortex-${cpu^^}: sizes (bytes)"
  examples/cortex-m/size_report.sh "$dir"
done
echo "--- 25-cortex-m: stage time $(( $(date +%s) - stage_start )) s"
exit $status
