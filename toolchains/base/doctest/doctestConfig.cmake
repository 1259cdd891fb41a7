# doctest for cross builds. doctest is header-only, so the build machine's copy
# serves every target; but Debian's own config exports /usr/include as the
# include directory, which would put the build machine's C library headers in
# front of the cross compiler's. This config exposes doctest's folder alone.
find_path(MOTE_DOCTEST_HEADER_DIR doctest/doctest.h PATHS /usr/include /usr/local/include NO_CMAKE_FIND_ROOT_PATH)
if(NOT MOTE_DOCTEST_HEADER_DIR)
  set(doctest_FOUND FALSE)
  return()
endif()
set(_mote_doctest_inc ${CMAKE_BINARY_DIR}/_deps/doctest-include)
file(MAKE_DIRECTORY ${_mote_doctest_inc})
if(NOT EXISTS ${_mote_doctest_inc}/doctest)
  file(CREATE_LINK ${MOTE_DOCTEST_HEADER_DIR}/doctest ${_mote_doctest_inc}/doctest SYMBOLIC)
endif()
if(NOT TARGET doctest::doctest)
  add_library(doctest::doctest INTERFACE IMPORTED)
  set_target_properties(doctest::doctest PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_mote_doctest_inc})
endif()
set(doctest_FOUND TRUE)
