// The bare-metal printf subset (platform/baremetal/format.cpp) against the C
// library's snprintf, on the host: the firmware prints its losses with it.
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include <doctest/doctest.h>

#include "../platform/baremetal/format.h"

namespace {

struct Both {
  char mine[128];
  char libc[128];
  int n_mine;
  int n_libc;
};

Both format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
Both format(const char* fmt, ...) {
  Both b{};
  va_list a1, a2;
  va_start(a1, fmt);
  va_copy(a2, a1);
  b.n_mine = mote::platform::mini_vformat(b.mine, sizeof b.mine, fmt, a1);
  b.n_libc = std::vsnprintf(b.libc, sizeof b.libc, fmt, a2);
  va_end(a2);
  va_end(a1);
  return b;
}

#define SAME(...)                               \
  do {                                          \
    const Both b = format(__VA_ARGS__);         \
    CHECK(std::string(b.mine) == b.libc);       \
    CHECK(b.n_mine == b.n_libc);                \
  } while (0)

}  // namespace

#include <string>

TEST_CASE("integers, strings and chars as printf prints them") {
  SAME("plain text");
  SAME("%d %i %d", 0, -17, 2147483647);
  SAME("%d", -2147483647 - 1);
  SAME("%u %x %X", 4000000000u, 0xbeefu, 0xbeefu);
  SAME("%ld %lu %lld %llu", -5L, 7UL, -9000000000LL, 18000000000000000000ULL);
  SAME("%zu", static_cast<std::size_t>(123456));
  SAME("[%5d] [%-5d] [%05d] [%.3d]", 42, 42, 42, 7);
  SAME("[%s] [%8s] [%-8s] [%.2s]", "abc", "abc", "abc", "abc");
  SAME("%c%c %%", 'o', 'k');
}

TEST_CASE("floats: %f, %e, %g over magnitudes and precisions") {
  const double values[] = {0.0, 1.0, -1.0, 0.625, 0.28143, 0.000123, 3.14159265, 123456.789, 1e-9, 99.9999999, 0.05};
  for (double v : values) {
    CAPTURE(v);
    SAME("%f", v);
    SAME("%.4f", v);
    SAME("%.0f", v);
    SAME("%10.3f|%-10.3f|%010.3f", v, v, v);
    SAME("%e", v);
    SAME("%.2e", v);
    SAME("%g", v);
  }
  SAME("%f %f", 1.0 / 0.0, -1.0 / 0.0);
}

TEST_CASE("truncation keeps the terminator and reports the full length") {
  char buf[8];
  va_list none{};
  (void)none;
  const Both b = format("%s", "0123456789");
  CHECK(b.n_mine == 10);
  std::memset(buf, 'x', sizeof buf);
  auto f = [&](const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int n = mote::platform::mini_vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return n;
  };
  CHECK(f("%s", "0123456789") == 10);
  CHECK(std::string(buf) == "0123456");
}
