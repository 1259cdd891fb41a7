# Cross builds whose tests run under an emulator (CMAKE_CROSSCOMPILING_EMULATOR,
# e.g. qemu-aarch64 from toolchains/aarch64-linux-gnu.cmake): a test that
# starts a cross-built program itself (test_checkpoint starts the mote tool,
# MOTE_EXE) cannot exec it directly, since the build machine runs no ARM
# binaries without binfmt_misc. Such a test starts a small script instead that
# execs the program under the emulator; signals sent to the script's pid reach
# the emulated program (qemu-user forwards them), so SIGINT/SIGTERM/SIGKILL
# tests keep their meaning.
#
# Every test of such a build also gets MOTE_TEST_LIGHT=1: data-heavy tests
# then run a smaller workload of the same kind (tests/emulation.h), whether
# ctest runs from stage 20 or by hand.
if(NOT CMAKE_CROSSCOMPILING OR NOT CMAKE_CROSSCOMPILING_EMULATOR)
  return()
endif()
#
# The slow tests under qemu start first (ctest -j schedules by COST), so that
# the longest one overlaps the others instead of running alone at the end.
# Seconds of CPU measured under qemu-aarch64 (qemu-arm is within 20%):
set(_mote_emulated_cost test_checkpoint=250 test_simd_math=85 test_real_data=25 test_gemm=27
                        test_gemm_training=20 test_cli=18 test_no_heap=15)
get_property(_mote_tests DIRECTORY PROPERTY TESTS)
foreach(t ${_mote_tests})
  set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT MOTE_TEST_LIGHT=1)
endforeach()
foreach(tc ${_mote_emulated_cost})
  string(REPLACE "=" ";" tc "${tc}")
  list(GET tc 0 t)
  list(GET tc 1 c)
  if(TEST ${t})
    set_tests_properties(${t} PROPERTIES COST ${c})
  endif()
endforeach()
if(NOT TARGET mote)
  return()
endif()
list(JOIN CMAKE_CROSSCOMPILING_EMULATOR " " _mote_emulator)
set(_mote_launcher ${CMAKE_CURRENT_BINARY_DIR}/mote-emulated)
file(GENERATE OUTPUT ${_mote_launcher}
     CONTENT "#!/bin/sh\n# The cross-built mote tool under ${_mote_emulator} (tests/emulator.cmake).\nexec ${_mote_emulator} \"$<TARGET_FILE:mote>\" \"$@\"\n"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
foreach(t test_checkpoint)
  if(TARGET ${t})
    get_target_property(_defs ${t} COMPILE_DEFINITIONS)
    list(FILTER _defs EXCLUDE REGEX "^MOTE_EXE=")
    list(APPEND _defs "MOTE_EXE=\"${_mote_launcher}\"")
    set_target_properties(${t} PROPERTIES COMPILE_DEFINITIONS "${_defs}")
  endif()
endforeach()
