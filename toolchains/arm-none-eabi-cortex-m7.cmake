# Cortex-M7 with its double-precision FPU (STM32F7/H7, i.MX RT, qemu mps2-an500).
#   cmake -S examples/cortex-m -B build-m7 -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-none-eabi-cortex-m7.cmake
set(MOTE_CORTEX_M_FLAGS "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard")
set(MOTE_QEMU_MACHINE mps2-an500 CACHE STRING "qemu-system-arm board that runs this CPU")
include(${CMAKE_CURRENT_LIST_DIR}/base/arm-none-eabi.cmake)
