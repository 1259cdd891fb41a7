// Bare-metal platform: placeholder until the ARM issue adds semihosting/UART.
#include <cstdarg>
#include <cstdio>

#include "mote/platform.h"

namespace mote::platform {

void log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vprintf(fmt, ap);
  va_end(ap);
  std::putchar('\n');
}

uint64_t now_us() { return 0; }

void fatal(const char* what) {
  std::printf("mote: fatal: %s\n", what);
  for (;;) {
  }
}

}  // namespace mote::platform
