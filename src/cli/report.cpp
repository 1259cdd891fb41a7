#include "cli/report.h"

#include <cmath>
#include <cstdio>

#include "io/model_file.h"

namespace mote::cli {

namespace {
std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}
}  // namespace

void Report::key(const char* k) {
  body_ += first_ ? "\n  \"" : ",\n  \"";
  first_ = false;
  body_ += k;
  body_ += "\": ";
}

void Report::add(const char* k, const char* value) {
  key(k);
  body_ += '"';
  for (const char* p = value; *p; ++p) {
    if (*p == '"' || *p == '\\') body_ += '\\';
    if (static_cast<unsigned char>(*p) < 0x20) continue;
    body_ += *p;
  }
  body_ += '"';
}
void Report::add(const char* k, int64_t value) {
  key(k);
  body_ += std::to_string(value);
}
void Report::add(const char* k, double value) {
  key(k);
  body_ += number(value);
}
void Report::add_raw(const char* k, const std::string& json) {
  key(k);
  body_ += json;
}

Status Report::write(const char* path, io::Error* err) const {
  const std::string s = json();
  return io::write_file_atomic(path, s.data(), s.size(), err);
}

std::string json_array(const double* v, int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) {
    if (i) s += ", ";
    s += number(v[i]);
  }
  return s + "]";
}

}  // namespace mote::cli
