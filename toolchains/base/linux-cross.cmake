# Shared base of the Linux ARM toolchain files (Debian's cross compilers).
#
# The including file sets MOTE_CROSS_TRIPLE (e.g. aarch64-linux-gnu),
# MOTE_CROSS_PROCESSOR, MOTE_CROSS_QEMU (qemu-user binary) and, optionally,
# MOTE_CROSS_FLAGS (ISA flags for C and C++). The target's libraries live in
# /usr/<triple> (package libc6-dev-<arch>-cross); cross-built executables run
# under qemu-user with that directory as their root for the dynamic loader, so
# `ctest` runs the whole suite on the build machine.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${MOTE_CROSS_PROCESSOR})

set(CMAKE_C_COMPILER ${MOTE_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${MOTE_CROSS_TRIPLE}-g++)
set(CMAKE_C_FLAGS_INIT "${MOTE_CROSS_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${MOTE_CROSS_FLAGS}")

# Libraries, headers and packages of the target only; programs from the build
# machine. doctest (header-only) comes through a config that exposes its
# folder alone (base/doctest/doctestConfig.cmake).
set(CMAKE_FIND_ROOT_PATH /usr/${MOTE_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(doctest_DIR ${CMAKE_CURRENT_LIST_DIR}/doctest)

# The target's zlib, for the mote tool and its tests (MOTE_BUILD_TOOLS): Debian
# ships none for the cross toolchains, so scripts/cross-sysroot unpacks the
# target's zlib1g-dev .deb (not installed) into build-deps/sysroot-<triple>,
# and the static libz.a there is linked. MOTE_CROSS_SYSROOT points elsewhere.
# Without it the tools default to OFF (the core, kernel and C API tests build).
if(NOT MOTE_CROSS_SYSROOT)
  get_filename_component(MOTE_CROSS_SYSROOT ${CMAKE_CURRENT_LIST_DIR}/../../build-deps/sysroot-${MOTE_CROSS_TRIPLE} ABSOLUTE)
endif()
if(EXISTS ${MOTE_CROSS_SYSROOT}/usr/include/zlib.h AND EXISTS ${MOTE_CROSS_SYSROOT}/usr/lib/${MOTE_CROSS_TRIPLE}/libz.a)
  set(ZLIB_INCLUDE_DIR ${MOTE_CROSS_SYSROOT}/usr/include CACHE PATH "target zlib headers (scripts/cross-sysroot)")
  set(ZLIB_LIBRARY ${MOTE_CROSS_SYSROOT}/usr/lib/${MOTE_CROSS_TRIPLE}/libz.a CACHE FILEPATH "target zlib, static")
elseif(NOT ZLIB_LIBRARY)
  set(MOTE_BUILD_TOOLS OFF CACHE BOOL "no target zlib: run scripts/cross-sysroot, or set ZLIB_INCLUDE_DIR/ZLIB_LIBRARY")
endif()

find_program(MOTE_QEMU_USER ${MOTE_CROSS_QEMU})
if(MOTE_QEMU_USER)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MOTE_QEMU_USER} -L /usr/${MOTE_CROSS_TRIPLE})
endif()
