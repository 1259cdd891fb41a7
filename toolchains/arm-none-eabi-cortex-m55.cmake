# Cortex-M55 (Armv8.1-M) with Helium (MVE, float) and its FPU (qemu mps3-an547).
# mote has no Helium kernels of its own: at -O3 GCC auto-vectorizes the scalar
# path with MVE (none at -Os), and qemu 7.2 executes those instructions, so
# the firmware test on mps3-an547 runs them.
#   cmake -S examples/cortex-m -B build-m55 -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-none-eabi-cortex-m55.cmake
set(MOTE_CORTEX_M_FLAGS "-mcpu=cortex-m55 -mfloat-abi=hard")
set(MOTE_QEMU_MACHINE mps3-an547 CACHE STRING "qemu-system-arm board that runs this CPU")
include(${CMAKE_CURRENT_LIST_DIR}/base/arm-none-eabi.cmake)
