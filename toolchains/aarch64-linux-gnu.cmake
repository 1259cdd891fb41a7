# 64-bit ARM Linux: Raspberry Pi 3/4/5 (64-bit OS), Jetson, Graviton.
# NEON (ASIMD) is part of armv8-a, so the NEON kernels need no extra flag.
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
set(MOTE_CROSS_TRIPLE aarch64-linux-gnu)
set(MOTE_CROSS_PROCESSOR aarch64)
set(MOTE_CROSS_QEMU qemu-aarch64)
set(MOTE_CROSS_FLAGS "-march=armv8-a")
include(${CMAKE_CURRENT_LIST_DIR}/base/linux-cross.cmake)
