// mote/platform.h - the whole porting seam: what mote needs from its host.
//
//   mote::platform::log("loss %f", x);          // a line to the console/UART
//   uint64_t t = mote::platform::now_us();       // monotonic microseconds
//   mote::platform::fatal("arena");              // never returns
//
// One implementation per environment:
// - platform/posix: stderr, clock_gettime, abort.
// - platform/baremetal (Cortex-M): its own printf subset (no newlib stdio, so
//   no heap), lines written by the board hooks below. The defaults write to
//   ARM semihosting, or to a CMSDK APB UART when MOTE_CONSOLE_UART is set to its
//   base address (qemu's mps2 boards: 0x40004000); a board overrides any hook
//   of mote/board.h by defining it.
#pragma once
#include <cstdarg>
#include <cstddef>
#include <cstdint>

namespace mote::platform {

void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_us();
[[noreturn]] void fatal(const char* what);

// snprintf-style formatting into buf (always terminated when n > 0); returns
// the length the whole output needs. Bare metal supports the subset
// %[-0][width][.prec][hh|h|l|ll|z](d|i|u|x|X|c|s|f|e|g|p|%).
int vformat(char* buf, std::size_t n, const char* fmt, va_list ap);

}  // namespace mote::platform
