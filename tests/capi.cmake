# Issue 4: the C API from C, and the bare-metal printf the firmware uses.
# (The Cortex-M firmware test lives in examples/cortex-m: it needs the
# arm-none-eabi build, see scripts/stages/25-cortex-m.sh.)

# A C99 program over the C API, built by the C compiler (strict C99, no
# extensions); test_capi_header.c includes mote/mote.h alone.
add_executable(test_capi test_capi.c test_capi_header.c)
set_target_properties(test_capi PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
                                           LINKER_LANGUAGE CXX)
target_compile_options(test_capi PRIVATE -pedantic-errors)
target_link_libraries(test_capi PRIVATE mote_capi mote_warnings m)
add_test(NAME test_capi COMMAND test_capi)
set_tests_properties(test_capi PROPERTIES LABELS unit)

mote_add_test(test_capi_format SOURCES test_capi_format.cpp ${PROJECT_SOURCE_DIR}/platform/baremetal/format.cpp
              LABELS unit)

if(MOTE_BUILD_TOOLS)
  # mote export --c-header (the firmware's weights), in process.
  mote_add_test(test_capi_export LIBS mote_cli LABELS "unit;tools")
endif()
