#include "cli/args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mote::cli {

bool Args::parse(const char* command, int argc, char** argv, const FlagSpec* flags, int nflags) {
  command_ = command;
  for (int i = 0; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--", 2) != 0) {
      std::fprintf(stderr, "mote %s: unexpected argument '%s' (see 'mote %s --help')\n", command, a, command);
      return false;
    }
    const char* name = a + 2;
    const FlagSpec* f = nullptr;
    for (int k = 0; k < nflags; ++k)
      if (std::strcmp(flags[k].name, name) == 0) f = &flags[k];
    if (!f) {
      std::fprintf(stderr, "mote %s: unknown option '%s' (see 'mote %s --help')\n", command, a, command);
      return false;
    }
    if (n_ >= kMax) {
      std::fprintf(stderr, "mote %s: too many options\n", command);
      return false;
    }
    const char* value = "";
    if (f->takes_value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mote %s: option '%s' needs a value\n", command, a);
        return false;
      }
      value = argv[++i];
    }
    names_[n_] = f->name;
    values_[n_] = value;
    ++n_;
  }
  return true;
}

bool Args::has(const char* name) const {
  for (int i = 0; i < n_; ++i)
    if (std::strcmp(names_[i], name) == 0) return true;
  return false;
}

const char* Args::str(const char* name, const char* fallback) const {
  const char* v = fallback;
  for (int i = 0; i < n_; ++i)
    if (std::strcmp(names_[i], name) == 0) v = values_[i];  // the last one wins
  return v;
}

bool Args::integer(const char* name, int64_t lo, int64_t hi, int64_t* out) const {
  if (!has(name)) return true;
  const char* v = str(name, "");
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi) {
    std::fprintf(stderr, "mote %s: --%s: expected an integer in [%lld, %lld], got '%s'\n", command_, name,
                 static_cast<long long>(lo), static_cast<long long>(hi), v);
    return false;
  }
  *out = x;
  return true;
}

bool Args::real(const char* name, double lo, double hi, double* out) const {
  if (!has(name)) return true;
  const char* v = str(name, "");
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  if (errno != 0 || end == v || *end != '\0' || !std::isfinite(x) || x < lo || x > hi) {
    std::fprintf(stderr, "mote %s: --%s: expected a number in [%g, %g], got '%s'\n", command_, name, lo, hi, v);
    return false;
  }
  *out = x;
  return true;
}

void print_usage(const char* command, const char* synopsis, const FlagSpec* flags, int nflags) {
  std::printf("usage: mote %s %s\n\noptions:\n", command, synopsis);
  for (int i = 0; i < nflags; ++i)
    std::printf("  --%-22s %s\n", flags[i].name, flags[i].help);
}

}  // namespace mote::cli
