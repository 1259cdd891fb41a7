# Cortex-M55 (Armv8.1-M) with Helium (MVE, float) and its FPU (qemu mps3-an547).
# mote has no Helium kernels yet: the compiler may auto-vectorize with MVE,
# the scalar reference path is what is written.
#   cmake -S examples/cortex-m -B build-m55 -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-none-eabi-cortex-m55.cmake
set(MOTE_CORTEX_M_FLAGS "-mcpu=cortex-m55 -mfloat-abi=hard")
set(MOTE_QEMU_MACHINE mps3-an547 CACHE STRING "qemu-system-arm board that runs this CPU")
include(${CMAKE_CURRENT_LIST_DIR}/base/arm-none-eabi.cmake)
