# 32-bit ARM Linux, armv7-a with NEON and hard float: Raspberry Pi 2, Pi Zero 2
# and Pi 3/4 on a 32-bit OS, Cortex-A7/A9/A15 boards.
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake
set(MOTE_CROSS_TRIPLE arm-linux-gnueabihf)
set(MOTE_CROSS_PROCESSOR armv7-a)
set(MOTE_CROSS_QEMU qemu-arm)
# 64-bit file offsets (_FILE_OFFSET_BITS=64) come from the top-level
# CMakeLists.txt, for every hosted 32-bit build, native ones included.
set(MOTE_CROSS_FLAGS "-march=armv7-a -mfpu=neon -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/base/linux-cross.cmake)
