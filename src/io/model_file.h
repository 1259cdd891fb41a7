// Model files on a hosted system: save atomically, load validated.
//
//   mote::io::Error err;
//   mote::io::save_model("tied.mote", spec, params.data(), params.size(), &err);
//   mote::io::LoadedModel m;
//   mote::io::load_model("tied.mote", &m, &err);   // a model file or a checkpoint
//
//   // No heap: validate the whole file first (streamed through a stack
//   // buffer), size the arena, then stream the parameters into it.
//   mote::ModelSpec spec;
//   mote::io::probe_model_file("tied.mote", &spec, &err);
//   ... arena of mote::arena_bytes(spec, opts) bytes ...
//   mote::io::load_model_into("tied.mote", opts, arena, size, &model, &err);
//
// Format: docs/model-format.md (the core parser, mote/model_image.h, reads
// the same bytes from memory). Saving writes "<path>.tmp.<pid>", fsyncs it,
// renames it over <path> and fsyncs the folder: a crash at any moment leaves
// the old file or the new one. A successful save then deletes the
// "<path>.tmp.<pid>" files that killed saves left, when <pid> is no live process.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/error.h"
#include "mote/model.h"
#include "mote/model_image.h"
#include "mote/spec.h"

namespace mote::io {

struct LoadedModel {
  ModelSpec spec{};
  std::vector<float> params;  // canonical order
};

Status save_model(const char* path, const ModelSpec& spec, const float* params, std::size_t n, Error* err);
// Accepts a model file or a checkpoint (whose extra sections are checked and skipped).
Status load_model(const char* path, LoadedModel* out, Error* err);

// No heap. probe_model_file validates every byte of the file (every section's
// CRC32 included) and returns the spec; load_model_into does the same, binds
// `m` in the caller's arena and only then reads the parameters into it
// (re-checking their CRC32: a file changed in between is reported, and the
// model must not be used).
Status probe_model_file(const char* path, ModelSpec* spec, Error* err);
Status load_model_into(const char* path, const PlanOptions& opts, void* arena, std::size_t arena_size, Model* m,
                       Error* err);

// Writes `size` bytes to `path` atomically (temporary file, fsync, rename, fsync of the folder);
// on success, removes stale "<path>.tmp.<pid>" siblings whose pid is no live process.
Status write_file_atomic(const char* path, const void* data, std::size_t size, Error* err);
// Reads a whole file of at most max_bytes.
Status read_file(const char* path, std::size_t max_bytes, std::vector<unsigned char>* out, Error* err);

// The largest model or checkpoint file read whole: 4 GiB where size_t is 64
// bits, 1 GiB on 32-bit hosts (armv7), where 4 GiB does not fit.
inline constexpr std::size_t kMaxModelFileBytes =
    sizeof(std::size_t) > 4 ? static_cast<std::size_t>(uint64_t{1} << 32) : std::size_t{1} << 30;
// Writes sections as a model-format file, atomically.
Status write_image_file(const char* path, const ImageSection* sections, int n, Error* err);
// "path: what (layer L) (expected E, got A)" into *err, with Status::bad_file.
Status image_error(const char* path, const ImageError& why, Error* err);

}  // namespace mote::io
