// Smaller workloads for tests that run under an instruction-set emulator.
//
// ctest sets MOTE_TEST_EMULATED=1 on every test of a cross build that runs
// under qemu-user (tests/emulator.cmake), where floating point is 50-100x
// slower than on the build machine. A data-heavy test then picks a smaller
// workload of the same kind (fewer images, epochs or steps) and keeps every
// check it makes; it never skips. Outside ctest, or natively, the full
// workload runs:
//   const int rows = test::emulated() ? 600 : 2000;
#pragma once
#include <cstdlib>

namespace mote::test {

inline bool emulated() {
  const char* e = std::getenv("MOTE_TEST_EMULATED");
  return e != nullptr && e[0] != '\0' && !(e[0] == '0' && e[1] == '\0');
}

}  // namespace mote::test
