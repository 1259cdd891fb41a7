// mote/platform.h - the whole porting seam: what mote needs from its host.
//
//   mote::platform::log("loss %f", x);          // a line to the console/UART
//   uint64_t t = mote::platform::now_us();       // monotonic microseconds
//   mote::platform::fatal("arena");              // never returns
//
// One implementation per environment: platform/posix (Linux, macOS) and
// platform/baremetal (Cortex-M: semihosting or UART).
#pragma once
#include <cstdint>

namespace mote::platform {

void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_us();
[[noreturn]] void fatal(const char* what);

}  // namespace mote::platform
