// Lighter workloads for tests that run under an instruction-set emulator.
//
// MOTE_TEST_LIGHT=1 is set by ctest on every test of a cross build that runs
// under qemu-user (tests/emulator.cmake; stage 20 exports it too), where
// floating point is 50-100x slower than on the build machine. A data-heavy
// test then picks a smaller workload of the same kind (fewer images, epochs,
// steps, kills) and keeps every check it makes; it never skips. Without the
// variable (the host stage, a plain run) the full workload runs:
//   const int rows = test::light() ? 600 : 2000;
#pragma once
#include <cstdlib>

namespace mote::test {

inline bool light() { return std::getenv("MOTE_TEST_LIGHT") != nullptr; }

}  // namespace mote::test
