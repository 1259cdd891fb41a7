// NumPy's .npy arrays and .npz archives (a zip of .npy files), the way
// weights leave Keras and PyTorch: np.savez(path, *model.get_weights()).
//
//   std::vector<mote::io::NpyArray> arrays;
//   mote::io::Error err;
//   if (mote::io::read_npz("weights.npz", &arrays, &err) != mote::Status::ok) ...;
//   arrays[0].shape;  // {784, 100}
//   mote::io::write_npz("out.npz", arrays, &err);  // stored entries, atomic
//
// Reading accepts .npy format versions 1, 2 and 3, dtypes float32 and float64
// in either byte order (converted to float32), C or Fortran order (converted
// to C order), and zip entries stored or deflated (zlib), zip64 extras
// included. Every header field, size and CRC32 is checked; sizes are bounded
// before anything is allocated. Writing makes version-1 '<f4' C-order arrays
// in an uncompressed zip, which np.load reads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/error.h"

namespace mote::io {

inline constexpr int kNpyMaxDims = 8;

struct NpyArray {
  std::string name;              // the .npz entry name without ".npy" ("arr_0")
  std::vector<int64_t> shape;
  std::vector<float> data;       // C (row-major) order
  std::size_t count() const { return data.size(); }
};

struct NpzLimits {
  std::size_t max_entry_bytes = std::size_t{1} << 30;  // one uncompressed .npy
  std::size_t max_total_bytes = std::size_t{1} << 31;  // all of them
  int max_entries = 4096;
};

// `name` names the source in error messages.
Status parse_npy(const unsigned char* data, std::size_t size, const char* name, NpyArray* out, Error* err);
std::vector<unsigned char> encode_npy(const NpyArray& a);

// A zip archive's entries, in archive order, uncompressed and CRC-checked.
struct ZipEntry {
  std::string name;
  std::vector<unsigned char> bytes;
};
Status parse_zip(const unsigned char* data, std::size_t size, const char* name, const NpzLimits& limits,
                 std::vector<ZipEntry>* out, Error* err);
// A zip of stored (uncompressed) entries.
std::vector<unsigned char> encode_zip(const std::vector<ZipEntry>& entries);

// An .npz in memory: every entry must be "<name>.npy".
Status parse_npz(const unsigned char* data, std::size_t size, const char* name, const NpzLimits& limits,
                 std::vector<NpyArray>* out, Error* err);
Status read_npz(const char* path, std::vector<NpyArray>* out, Error* err);
// Writes arrays as "<name>.npy" entries, atomically.
Status write_npz(const char* path, const std::vector<NpyArray>& arrays, Error* err);

// The order of np.savez(path, *list): when every name is arr_0 .. arr_{n-1},
// sorts by that index and returns true; otherwise keeps the archive order
// and returns false.
bool order_as_positional(std::vector<NpyArray>* arrays);

}  // namespace mote::io
