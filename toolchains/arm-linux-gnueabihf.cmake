# 32-bit ARM Linux, armv7-a with NEON and hard float: Raspberry Pi 2, Pi Zero 2
# and Pi 3/4 on a 32-bit OS, Cortex-A7/A9/A15 boards.
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake
set(MOTE_CROSS_TRIPLE arm-linux-gnueabihf)
set(MOTE_CROSS_PROCESSOR armv7-a)
set(MOTE_CROSS_QEMU qemu-arm)
# _FILE_OFFSET_BITS=64: 64-bit off_t/ino_t and readdir64. Without it, readdir
# and stat of a 32-bit program fail with EOVERFLOW on a filesystem that hands
# out 64-bit directory offsets or inode numbers: under qemu-arm on a 64-bit
# host (ext4), and for files over 2 GiB anywhere.
set(MOTE_CROSS_FLAGS "-march=armv7-a -mfpu=neon -mfloat-abi=hard -D_FILE_OFFSET_BITS=64")
include(${CMAKE_CURRENT_LIST_DIR}/base/linux-cross.cmake)
