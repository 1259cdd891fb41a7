// A flat JSON object written atomically (keys in insertion order).
//
//   Report r;
//   r.add("model", "tied");
//   r.add("params", 82414);
//   r.write("out.json", &err);
#pragma once
#include <cstdint>
#include <string>

#include "io/error.h"

namespace mote::cli {

class Report {
 public:
  void add(const char* key, const char* value);
  void add(const char* key, int64_t value);
  void add(const char* key, double value);
  void add_raw(const char* key, const std::string& json);  // an array or object already encoded
  std::string json() const { return body_ + "\n}\n"; }
  Status write(const char* path, io::Error* err) const;

 private:
  void key(const char* k);
  std::string body_ = "{";
  bool first_ = true;
};

std::string json_array(const double* v, int n);

}  // namespace mote::cli
