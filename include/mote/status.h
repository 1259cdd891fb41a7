// mote/status.h - failures as values.
//
// The core is built with -fno-exceptions: every fallible call returns a
// Status, and everything is validated once (at plan, bind or load time) so
// that the hot loops can trust their inputs.
//
//   mote::Status s = model.bind(spec, opts, arena);
//   if (s != mote::Status::ok) log("bind: %s", mote::status_message(s));
#pragma once
#include <cstdint>

namespace mote {

enum class Status : uint8_t {
  ok = 0,
  invalid_argument,   // a parameter is out of range (batch 0, lr < 0, ...)
  invalid_model,      // layer chain, tie reference or activation is wrong
  shape_mismatch,     // an operand does not have the shape the model needs
  arena_too_small,    // the caller's bytes are fewer than the plan needs
  bad_file,           // a file's contents fail validation
  io_error,           // the OS refused a read or write
  unsupported,        // valid, but not built into this configuration
  non_finite,         // a loss, gradient or weight became NaN or inf
};

constexpr const char* status_message(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::invalid_argument: return "invalid argument";
    case Status::invalid_model: return "invalid model";
    case Status::shape_mismatch: return "shape mismatch";
    case Status::arena_too_small: return "arena too small";
    case Status::bad_file: return "bad file";
    case Status::io_error: return "I/O error";
    case Status::unsupported: return "unsupported";
    case Status::non_finite: return "non-finite value";
  }
  return "unknown status";
}

}  // namespace mote
