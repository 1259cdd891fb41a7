#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "mote/platform.h"

namespace mote::platform {

void log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

uint64_t now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

void fatal(const char* what) {
  std::fprintf(stderr, "mote: fatal: %s\n", what);
  std::abort();
}

int vformat(char* buf, std::size_t n, const char* fmt, va_list ap) { return std::vsnprintf(buf, n, fmt, ap); }

}  // namespace mote::platform
