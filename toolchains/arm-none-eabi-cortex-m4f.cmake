# Cortex-M4 with its single-precision FPU (STM32F4, nRF52, qemu mps2-an386).
#   cmake -S examples/cortex-m -B build-m4 -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-none-eabi-cortex-m4f.cmake
set(MOTE_CORTEX_M_FLAGS "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
set(MOTE_QEMU_MACHINE mps2-an386 CACHE STRING "qemu-system-arm board that runs this CPU")
include(${CMAKE_CURRENT_LIST_DIR}/base/arm-none-eabi.cmake)
