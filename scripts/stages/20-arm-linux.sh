#!/usr/bin/env bash
# Linux ARM: cross-build aarch64 (Raspberry Pi 3/4/5, Jetson) and armv7-a NEON
# hard-float (Pi 2, Zero 2) with warnings as errors, the mote tool included,
# and run the whole ctest suite of each under qemu-user (the toolchain files
# set CMAKE_CROSSCOMPILING_EMULATOR): core, kernel, C API and tools tests, the
# Fashion-MNIST data tests included (they read /usr/share/datasets/fashion-mnist
# on the build machine, which qemu-user sees).
#
# The target's zlib comes from scripts/cross-sysroot (Debian's zlib1g-dev of
# the target, unpacked into build-deps/, not installed; the host's apt state is
# left as it was).
#
# Fails when a test fails, when the tools tests were not built, or when the
# kernel set that ran is not NEON (neon64 on aarch64, neon on armv7); prints
# the test count and the time of each target.
# MOTE_ARM_TARGETS="arm-linux-gnueabihf" limits the targets.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=$(nproc)
stage_start=$(date +%s)
unset MOTE_ISA  # the dispatcher must pick NEON by itself
status=0

targets=${MOTE_ARM_TARGETS:-aarch64-linux-gnu arm-linux-gnueabihf}
# shellcheck disable=SC2086  # a list of words
scripts/cross-sysroot $targets

summary=()
for target in $targets; do
  t0=$(date +%s)
  case $target in
    aarch64-linux-gnu) dir=build-aarch64 qemu=qemu-aarch64 want=neon64 ;;
    arm-linux-gnueabihf) dir=build-armhf qemu=qemu-arm want=neon ;;
  esac
  echo "--- $target: configure + build ($dir)"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE="toolchains/$target.cmake" -DCMAKE_BUILD_TYPE=Release \
    -DMOTE_WERROR=ON -DMOTE_BUILD_TOOLS=ON -DMOTE_BUILD_BENCH=OFF >/dev/null
  if ! cmake --build "$dir" -j "$jobs"; then
    echo "$target: build failed"
    status=1
    summary+=("$target: BUILD FAILED")
    continue
  fi
  t_built=$(date +%s)
  total=$(ctest --test-dir "$dir" -N | sed -n 's/^Total Tests: //p')
  tools=$(ctest --test-dir "$dir" -N -L tools | sed -n 's/^Total Tests: //p')
  if [ "${tools:-0}" -eq 0 ]; then
    echo "$target: no tools tests were built (is the target's zlib missing?)"
    status=1
  fi
  echo "--- $target: ctest under $qemu ($total tests, $tools of them tools tests)"
  result=passed
  if ! ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 900; then
    status=1
    result=FAILED
  fi
  isa=$("$qemu" -L "/usr/$target" "$dir/tests/test_capi" 2>/dev/null | sed -n 's/^test_capi: kernels //p' || true)
  echo "--- $target: kernels ${isa:-?} ran under $qemu"
  if [ "$isa" != "$want" ]; then
    echo "$target: expected the NEON kernels ($want), got '${isa:-nothing}'"
    status=1
    result="$result, kernels '${isa:-?}' instead of $want"
  fi
  t1=$(date +%s)
  summary+=("$target: $total tests ($tools tools) $result under $qemu, kernels ${isa:-?}; build $((t_built - t0)) s, tests $((t1 - t_built)) s")
done
echo "--- 20-arm-linux summary"
for line in "${summary[@]}"; do echo "  $line"; done
echo "  stage time $(( $(date +%s) - stage_start )) s"
exit $status
