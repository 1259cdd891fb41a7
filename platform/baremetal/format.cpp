// vformat for bare metal: the printf subset mote and its firmware print with,
// on a caller buffer. newlib's printf is not used because its float conversion
// allocates (dtoa's Balloc), and firmware must never touch the heap.
#include <cstdarg>
#include <cstddef>
#include <cstdint>

#include "format.h"

namespace mote::platform {

namespace {

struct Out {
  char* buf;
  std::size_t cap;
  std::size_t len = 0;
  void put(char c) {
    if (len + 1 < cap) buf[len] = c;
    ++len;
  }
  void repeat(char c, int count) {
    for (int i = 0; i < count; ++i) put(c);
  }
};

struct Conv {
  bool left = false, zero = false;
  int width = 0;
  int prec = -1;
};

// Emits `body` (len chars) with an optional sign, padded to the width.
void emit(Out& o, const Conv& c, char sign, const char* body, int len) {
  const int total = len + (sign ? 1 : 0);
  const int pad = c.width > total ? c.width - total : 0;
  if (!c.left && !c.zero) o.repeat(' ', pad);
  if (sign) o.put(sign);
  if (!c.left && c.zero) o.repeat('0', pad);
  for (int i = 0; i < len; ++i) o.put(body[i]);
  if (c.left) o.repeat(' ', pad);
}

int utoa(char* end, uint64_t v, unsigned base, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  int n = 0;
  do {
    *--end = digits[v % base];
    v /= base;
    ++n;
  } while (v != 0);
  return n;
}

void integer(Out& o, Conv c, bool negative, uint64_t mag, unsigned base, bool upper) {
  char tmp[24];
  int n = utoa(tmp + sizeof tmp, mag, base, upper);
  char* start = tmp + sizeof tmp - n;
  if (c.prec >= 0) {
    c.zero = false;
    while (n < c.prec && start > tmp) { *--start = '0'; ++n; }
  }
  emit(o, c, negative ? '-' : 0, start, n);
}

constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

// Fixed notation of a finite v >= 0 with prec (<= 9) decimals into p; returns length.
int fixed(char* p, double v, int prec) {
  const double scale = kPow10[prec];
  const uint64_t r = static_cast<uint64_t>(v * scale + 0.5);
  const uint64_t ip = r / static_cast<uint64_t>(scale);
  uint64_t fp = r % static_cast<uint64_t>(scale);
  char tmp[24];
  const int n = utoa(tmp + sizeof tmp, ip, 10, false);
  int len = 0;
  for (int i = 0; i < n; ++i) p[len++] = tmp[sizeof tmp - n + i];
  if (prec > 0) {
    p[len++] = '.';
    for (int i = prec - 1; i >= 0; --i) {
      p[len + i] = static_cast<char>('0' + fp % 10);
      fp /= 10;
    }
    len += prec;
  }
  return len;
}

// Scientific notation of a finite v > 0; returns length.
int scientific(char* p, double v, int prec) {
  int e = 0;
  if (v != 0.0) {
    while (v >= 10.0) { v /= 10.0; ++e; }
    while (v < 1.0) { v *= 10.0; --e; }
    if (v + 0.5 / kPow10[prec] >= 10.0) { v /= 10.0; ++e; }
  }
  int len = fixed(p, v, prec);
  p[len++] = 'e';
  p[len++] = e < 0 ? '-' : '+';
  const int ae = e < 0 ? -e : e;
  if (ae >= 100) p[len++] = static_cast<char>('0' + ae / 100);
  p[len++] = static_cast<char>('0' + ae / 10 % 10);
  p[len++] = static_cast<char>('0' + ae % 10);
  return len;
}

int strip_zeros(char* p, int len) {
  int dot = -1, exp = len;
  for (int i = 0; i < len; ++i) {
    if (p[i] == '.') dot = i;
    if (p[i] == 'e') exp = i;
  }
  if (dot < 0) return len;
  int end = exp;
  while (end > dot + 1 && p[end - 1] == '0') --end;
  if (end == dot + 1) end = dot;
  int n = end;
  for (int i = exp; i < len; ++i) p[n++] = p[i];
  return n;
}

void floating(Out& o, Conv c, double v, char kind) {
  const bool neg = v < 0.0 || (v == 0.0 && 1.0 / v < 0.0);
  const double a = neg ? -v : v;
  char body[64];
  int len;
  if (a != a) {
    c.zero = false;
    emit(o, c, 0, "nan", 3);
    return;
  }
  if (a > 1.7976931348623157e308) {
    c.zero = false;
    emit(o, c, neg ? '-' : 0, "inf", 3);
    return;
  }
  int prec = c.prec < 0 ? 6 : c.prec;
  if (prec > 9) prec = 9;
  if (kind == 'g') {
    if (prec == 0) prec = 1;
    int e = 0;
    for (double t = a; t >= 10.0; t /= 10.0) ++e;
    if (a != 0.0)
      for (double t = a; t < 1.0; t *= 10.0) --e;
    if (e < -4 || e >= prec) {
      len = strip_zeros(body, scientific(body, a, prec - 1));
    } else {
      len = strip_zeros(body, fixed(body, a, prec - 1 - e));
    }
  } else if (kind == 'e' || a >= 1e18) {
    len = scientific(body, a, prec);
  } else {
    len = fixed(body, a, prec);
  }
  emit(o, c, neg ? '-' : 0, body, len);
}

}  // namespace

int mini_vformat(char* buf, std::size_t n, const char* fmt, va_list ap) {
  Out o{buf, n};
  for (const char* f = fmt; *f; ++f) {
    if (*f != '%') {
      o.put(*f);
      continue;
    }
    ++f;
    Conv c;
    for (;; ++f) {
      if (*f == '-') c.left = true;
      else if (*f == '0') c.zero = true;
      else if (*f == '+' || *f == ' ' || *f == '#') continue;
      else break;
    }
    if (*f == '*') { c.width = va_arg(ap, int); ++f; }
    while (*f >= '0' && *f <= '9') c.width = c.width * 10 + (*f++ - '0');
    if (*f == '.') {
      ++f;
      c.prec = 0;
      if (*f == '*') { c.prec = va_arg(ap, int); ++f; }
      while (*f >= '0' && *f <= '9') c.prec = c.prec * 10 + (*f++ - '0');
    }
    if (c.left) c.zero = false;
    int size = 0;  // 0 int, 1 long, 2 long long, 3 size_t
    if (*f == 'h') { ++f; if (*f == 'h') ++f; }
    else if (*f == 'l') { ++f; size = 1; if (*f == 'l') { ++f; size = 2; } }
    else if (*f == 'z') { ++f; size = 3; }
    switch (*f) {
      case 'd':
      case 'i': {
        int64_t v = size == 0 ? va_arg(ap, int) : size == 1 ? va_arg(ap, long) : size == 2 ? va_arg(ap, long long)
                                                                          : static_cast<int64_t>(va_arg(ap, std::size_t));
        integer(o, c, v < 0, v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v), 10, false);
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        uint64_t v = size == 0 ? va_arg(ap, unsigned) : size == 1 ? va_arg(ap, unsigned long)
                     : size == 2 ? va_arg(ap, unsigned long long) : va_arg(ap, std::size_t);
        integer(o, c, false, v, *f == 'u' ? 10 : 16, *f == 'X');
        break;
      }
      case 'p': {
        const auto v = reinterpret_cast<uintptr_t>(va_arg(ap, void*));
        o.put('0');
        o.put('x');
        integer(o, c, false, v, 16, false);
        break;
      }
      case 'c': {
        const char ch = static_cast<char>(va_arg(ap, int));
        emit(o, c, 0, &ch, 1);
        break;
      }
      case 's': {
        const char* s = va_arg(ap, const char*);
        if (!s) s = "(null)";
        int len = 0;
        while (s[len] && (c.prec < 0 || len < c.prec)) ++len;
        c.zero = false;
        emit(o, c, 0, s, len);
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        floating(o, c, va_arg(ap, double), static_cast<char>(*f | 0x20));
        break;
      case '%': o.put('%'); break;
      case '\0': --f; break;  // a lone '%' at the end
      default: o.put('%'); o.put(*f); break;
    }
  }
  if (n > 0) buf[o.len < n ? o.len : n - 1] = '\0';
  return static_cast<int>(o.len);
}

}  // namespace mote::platform
