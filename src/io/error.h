// Errors of the I/O layer: a Status plus a one-line message that names the
// file and what is wrong with it, for the CLI to print as it is.
#pragma once
#include <cstdarg>
#include <cstdio>

#include "mote/status.h"

namespace mote::io {

struct Error {
  Status status = Status::ok;
  char message[512] = {};

  bool ok() const { return status == Status::ok; }
  // Sets status and a printf-style message; returns the status for `return err.set(...)`.
  Status set(Status s, const char* fmt, ...) __attribute__((format(printf, 3, 4))) {
    status = s;
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return s;
  }
};

}  // namespace mote::io
