# Shared base of the Cortex-M toolchain files: GNU Arm Embedded (Debian's
# gcc-arm-none-eabi + libnewlib-arm-none-eabi), no OS.
#
# The including file sets MOTE_CORTEX_M_FLAGS (CPU, FPU, float ABI). Every
# target is freestanding firmware: sections per function for --gc-sections,
# no exceptions/RTTI, no thread-safe statics or atexit (nothing to guard on
# one core before main), newlib-nano for the few libc pieces mote uses
# (memcpy, memset, expf/expm1f/sqrtf); no syscall stubs are linked, so any
# heap or stdio use fails to link instead of shipping.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # no startup code for test programs

set(_mote_m_common "${MOTE_CORTEX_M_FLAGS} -mthumb -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${_mote_m_common}")
set(CMAKE_CXX_FLAGS_INIT "${_mote_m_common} -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit")
set(CMAKE_ASM_FLAGS_INIT "${_mote_m_common}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs -nostartfiles -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Firmware builds of mote: no tools, no doctest suite, no GEMM packing scratch.
set(MOTE_BAREMETAL ON CACHE BOOL "")
set(MOTE_BUILD_TOOLS OFF CACHE BOOL "")
set(MOTE_BUILD_TESTS OFF CACHE BOOL "")
