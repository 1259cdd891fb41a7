#!/usr/bin/env bash
# Linux ARM: cross-build aarch64 (Raspberry Pi 3/4/5, Jetson) and armv7-a NEON
# hard-float (Pi 2, Zero 2) with warnings as errors, and run the ctest suite of
# each under qemu-user (the toolchain files set CMAKE_CROSSCOMPILING_EMULATOR).
#
# What runs: every test of the core, kernel and C API lists (labels unit, and
# the kernel tests when they exist). Not here: the tools tests (I/O layer, CLI,
# Fashion-MNIST data), because they link zlib and Debian's cross toolchains
# ship no zlib for the target (multiarch zlib1g-dev:arm64 drags a second libc
# into a fresh machine); they run natively in 10-host.
#
# The kernel set that ran is printed per target ("kernels neon64" ...), and
# NEON is required as soon as src/kernels builds a NEON kernel set.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=$(nproc)
status=0
for target in aarch64-linux-gnu arm-linux-gnueabihf; do
  case $target in
    aarch64-linux-gnu) dir=build-aarch64 qemu=qemu-aarch64 ;;
    arm-linux-gnueabihf) dir=build-armhf qemu=qemu-arm ;;
  esac
  echo "--- $target: configure + build ($dir)"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE="toolchains/$target.cmake" -DCMAKE_BUILD_TYPE=Release \
    -DMOTE_WERROR=ON -DMOTE_BUILD_TOOLS=OFF -DMOTE_BUILD_BENCH=OFF >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "--- $target: ctest under $qemu"
  if ! ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600; then status=1; fi
  isa=$("$qemu" -L "/usr/$target" "$dir/tests/test_capi" 2>/dev/null | sed -n 's/^test_capi: kernels //p')
  echo "--- $target: kernels ${isa:-?} ran under $qemu"
  if grep -qi neon src/kernels/CMakeLists.txt; then
    if [[ "$isa" != neon* ]]; then
      echo "$target: expected the NEON kernels, got '${isa:-nothing}'"
      status=1
    fi
  else
    echo "--- $target: (no NEON kernel set in src/kernels yet: the scalar reference ran)"
  fi
done
exit $status
