// mote/model_image.h - the model file format (docs/model-format.md), read and
// written in memory with no heap: firmware parses a model straight from flash.
//
//   extern const unsigned char model_bin[];           // a .mote file in flash
//   mote::ModelImage img;
//   mote::ImageError why;
//   if (mote::parse_model_image(model_bin, model_bin_len, &img, &why) != mote::Status::ok)
//     log("model: %s", why.what);                      // every field was checked
//   constexpr mote::PlanOptions opts{.batch = 1, .train = mote::Trainable::none};
//   static std::byte arena[64 << 10];
//   if (mote::arena_bytes(img.spec, opts) > sizeof arena) ...;   // known before binding
//   mote::Model m;
//   mote::load_model_image(img, opts, arena, sizeof arena, &m);   // copies the parameters
//
// Contract: parse_* validate everything (header and section-table CRC32s,
// every section's CRC32, offsets and sizes against the buffer with no
// integer overflow, the layer table with tie references in range and
// shape-compatible, parameter count against the spec) before any pointer in
// the result is set; nothing is written anywhere but *out and *why. The
// parameter bytes are little-endian float32 and may be unaligned: load_*
// copies them with memcpy. A file written on a big-endian machine is refused.
#pragma once
#include <cstddef>
#include <cstdint>

#include "mote/model.h"
#include "mote/spec.h"
#include "mote/status.h"

namespace mote {

inline constexpr uint16_t kImageVersion = 2;
inline constexpr int kImageMaxSections = 16;
inline constexpr std::size_t kImageHeaderBytes = 32;
inline constexpr std::size_t kImageEntryBytes = 32;
inline constexpr std::size_t kImageAlign = 64;  // every section starts on a 64-byte boundary

constexpr uint32_t image_tag(char a, char b, char c, char d) {
  return static_cast<uint32_t>(static_cast<uint8_t>(a)) | (static_cast<uint32_t>(static_cast<uint8_t>(b)) << 8) |
         (static_cast<uint32_t>(static_cast<uint8_t>(c)) << 16) | (static_cast<uint32_t>(static_cast<uint8_t>(d)) << 24);
}
// Sections of a model file; a checkpoint adds the last three.
inline constexpr uint32_t kTagLayers = image_tag('L', 'A', 'Y', 'R');     // the layer table
inline constexpr uint32_t kTagParams = image_tag('P', 'A', 'R', 'M');     // canonical parameters
inline constexpr uint32_t kTagTrainState = image_tag('T', 'R', 'N', 'S'); // position, RNG, optimizer config
inline constexpr uint32_t kTagOptState = image_tag('O', 'P', 'T', 'S');   // optimizer moments
inline constexpr uint32_t kTagHistory = image_tag('H', 'I', 'S', 'T');    // per-epoch losses

enum class ImageDtype : uint32_t { bytes = 0, f32 = 1, f64 = 2 };

struct ImageSection {
  uint32_t tag = 0;
  ImageDtype dtype = ImageDtype::bytes;
  const unsigned char* data = nullptr;  // set once its CRC32 is checked (nullptr from parse_image_table)
  std::size_t bytes = 0;
  uint64_t offset = 0;  // from the start of the file
  uint32_t crc = 0;     // as recorded in the table
};

// A parsed file: sections point into the caller's buffer.
struct Image {
  int count = 0;
  ImageSection sections[kImageMaxSections]{};
  const ImageSection* find(uint32_t tag) const;
};

// Why a parse failed: a fixed description of the field (static storage), and
// the values involved when they help (has_values).
struct ImageError {
  const char* what = "";
  bool has_values = false;
  uint64_t expected = 0;
  uint64_t actual = 0;
  int layer = -1;  // the layer concerned, or -1
};

// The generic container: header, section table, per-section CRC32.
Status parse_image(const void* data, std::size_t size, Image* out, ImageError* why);
// The header and the section table only, for a reader that streams a file of
// `file_size` bytes: `head` holds its first head_size bytes (at least the
// header and the table: kImageHeaderBytes + kImageMaxSections *
// kImageEntryBytes, or the whole file when shorter). Offsets and sizes are
// checked against file_size; the sections' CRC32s are left to the caller.
Status parse_image_table(const void* head, std::size_t head_size, uint64_t file_size, Image* out, ImageError* why);
inline constexpr std::size_t kImageMaxHead = kImageHeaderBytes + kImageMaxSections * kImageEntryBytes;

struct ModelImage {
  Image image{};
  ModelSpec spec{};
  const unsigned char* params = nullptr;  // param_count(spec) little-endian float32, maybe unaligned
  std::size_t param_floats = 0;
};
// parse_image, then the layer table and the parameter section.
Status parse_model_image(const void* data, std::size_t size, ModelImage* out, ImageError* why);
// The layer table's bytes (a LAYR section) into a validated spec.
Status parse_layer_table(const unsigned char* bytes, std::size_t size, ModelSpec* spec, ImageError* why);
// Checks the LAYR and PARM entries of a table (data may be nullptr) once the
// layer table's bytes are known; *param_section points at the PARM entry.
Status check_model_sections(const Image& img, const unsigned char* layer_bytes, ModelSpec* spec,
                            const ImageSection** param_section, ImageError* why);

// Binds `m` in the caller's arena and copies the image's parameters into it.
Status load_model_image(const ModelImage& img, const PlanOptions& opts, void* arena, std::size_t arena_size, Model* m);
// Copies canonical little-endian float32 bytes into a bound model's arena-resident parameters.
Status set_params_bytes(Model* m, const unsigned char* canonical, std::size_t floats);
// The same for floats [first, first + floats) of the canonical order, for a
// reader that streams them in pieces.
Status set_params_range(Model* m, std::size_t first, const unsigned char* src, std::size_t floats);

// ---------------------------------------------------------------- writing

// The layer-table section's bytes for `spec` (8 + 16 per layer).
inline constexpr std::size_t kLayerTableMaxBytes = 8 + 16 * kMaxLayers;
std::size_t encode_layer_table(const ModelSpec& spec, unsigned char out[kLayerTableMaxBytes]);

// Bytes of a file holding these sections (0 when n is out of range).
std::size_t image_bytes(const ImageSection* sections, int n);
// Writes the file into out[0, cap); returns the bytes written, 0 when cap is short or n is out of range.
std::size_t write_image(const ImageSection* sections, int n, void* out, std::size_t cap);

// CRC-32 (IEEE 802.3, the one of zlib and zip), continued from `crc` (0 to start).
uint32_t crc32_update(uint32_t crc, const void* data, std::size_t n);

}  // namespace mote
