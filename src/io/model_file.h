// Model files: a spec and its parameters (canonical order), saved atomically.
//
//   mote::io::Error err;
//   mote::io::save_model("tied.mote", spec, params.data(), params.size(), &err);
//   mote::io::LoadedModel m;
//   mote::io::load_model("tied.mote", &m, &err);   // validated field by field
//
// Format: docs/model-format.md. Saving writes "<path>.tmp.<pid>", fsyncs it and
// renames it over <path>: a crash leaves the old file or the new one.
#pragma once
#include <cstddef>
#include <vector>

#include "io/error.h"
#include "mote/spec.h"

namespace mote::io {

struct LoadedModel {
  ModelSpec spec{};
  std::vector<float> params;  // canonical order
};

Status save_model(const char* path, const ModelSpec& spec, const float* params, std::size_t n, Error* err);
Status load_model(const char* path, LoadedModel* out, Error* err);

// Writes `size` bytes to `path` atomically (temporary file, fsync, rename).
Status write_file_atomic(const char* path, const void* data, std::size_t size, Error* err);

}  // namespace mote::io
