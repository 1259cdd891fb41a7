// The model file format in memory (docs/model-format.md). No heap, no I/O:
// this file is part of the core and builds for firmware.
#include "mote/model_image.h"

#include <cstring>

namespace mote {

namespace {

constexpr unsigned char kMagic[4] = {'M', 'O', 'T', 'E'};
constexpr uint32_t kByteOrderMark = 0x01020304;  // stored little-endian: 04 03 02 01

struct CrcTable {
  uint32_t t[256];
  constexpr CrcTable() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
  }
};
constexpr CrcTable kCrc{};

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
uint64_t le64(const unsigned char* p) { return uint64_t{le32(p)} | (uint64_t{le32(p + 4)} << 32); }
void put16(unsigned char* p, uint16_t v) {
  p[0] = static_cast<unsigned char>(v);
  p[1] = static_cast<unsigned char>(v >> 8);
}
void put32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void put64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

Status fail(ImageError* why, const char* what, int layer = -1) {
  if (why) {
    why->what = what;
    why->has_values = false;
    why->layer = layer;
  }
  return Status::bad_file;
}
Status fail(ImageError* why, const char* what, uint64_t expected, uint64_t actual, int layer = -1) {
  if (why) {
    why->what = what;
    why->has_values = true;
    why->expected = expected;
    why->actual = actual;
    why->layer = layer;
  }
  return Status::bad_file;
}

constexpr uint64_t align_up(uint64_t x) { return (x + kImageAlign - 1) / kImageAlign * kImageAlign; }

bool host_is_little_endian() {
  const uint32_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

}  // namespace

uint32_t crc32_update(uint32_t crc, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  for (std::size_t i = 0; i < n; ++i) c = kCrc.t[(c ^ p[i]) & 0xffu] ^ (c >> 8);
  return ~c;
}

const ImageSection* Image::find(uint32_t tag) const {
  for (int i = 0; i < count; ++i)
    if (sections[i].tag == tag) return &sections[i];
  return nullptr;
}

// ---------------------------------------------------------------- reading

Status parse_image_table(const void* head, std::size_t head_size, uint64_t file_size, Image* out, ImageError* why) {
  const auto* b = static_cast<const unsigned char*>(head);
  if (b == nullptr || head_size < kImageHeaderBytes || file_size < kImageHeaderBytes)
    return fail(why, "too short for the 32-byte header", kImageHeaderBytes, file_size < head_size ? file_size : head_size);
  if (std::memcmp(b, kMagic, 4) != 0) return fail(why, "not a mote model file (bad magic)");
  const uint32_t bom = le32(b + 8);
  if (bom != kByteOrderMark) {
    if (bom == 0x04030201) return fail(why, "written in big-endian byte order, which this reader does not convert");
    return fail(why, "bad byte-order mark");
  }
  if (crc32_update(0, b, 28) != le32(b + 28)) return fail(why, "header checksum mismatch (corrupt header)");
  const uint16_t version = le16(b + 4);
  if (version != kImageVersion) return fail(why, "unsupported format version", kImageVersion, version);
  const uint16_t count = le16(b + 6);
  if (count < 1 || count > kImageMaxSections)
    return fail(why, "section count out of range 1..16", kImageMaxSections, count);
  const uint64_t file_bytes = le64(b + 16);
  if (file_bytes != file_size)
    return fail(why, "file size differs from the header's (truncated or padded)", file_bytes, file_size);
  if (le32(b + 24) != 0) return fail(why, "reserved header field is not zero");
  const uint64_t table_end = kImageHeaderBytes + uint64_t{count} * kImageEntryBytes;
  if (table_end > file_size) return fail(why, "section table runs past the end of the file", table_end, file_size);
  if (table_end > head_size) return fail(why, "section table not in the bytes given", table_end, head_size);
  const unsigned char* table = b + kImageHeaderBytes;
  if (crc32_update(0, table, static_cast<std::size_t>(table_end - kImageHeaderBytes)) != le32(b + 12))
    return fail(why, "section table checksum mismatch");

  Image img;
  uint64_t prev_end = table_end;
  for (int i = 0; i < count; ++i) {
    const unsigned char* e = table + static_cast<std::size_t>(i) * kImageEntryBytes;
    const uint32_t tag = le32(e);
    const uint32_t dtype = le32(e + 4);
    const uint64_t off = le64(e + 8);
    const uint64_t bytes = le64(e + 16);
    if (le32(e + 28) != 0) return fail(why, "reserved section field is not zero");
    if (dtype > static_cast<uint32_t>(ImageDtype::f64)) return fail(why, "unknown section dtype", 2, dtype);
    // Sections lie in table order, aligned, without overlap, inside the file.
    if (off % kImageAlign != 0) return fail(why, "section offset is not 64-byte aligned", 0, off % kImageAlign);
    if (off < prev_end) return fail(why, "section overlaps the table or the previous section", prev_end, off);
    if (off > file_size || bytes > file_size - off)
      return fail(why, "section runs past the end of the file", file_size, bytes);
    if (bytes > SIZE_MAX) return fail(why, "section too large for this machine");
    const uint64_t item = dtype == 1 ? 4 : dtype == 2 ? 8 : 1;
    if (bytes % item != 0) return fail(why, "section size is not a whole number of elements", item, bytes % item);
    for (int k = 0; k < i; ++k)
      if (img.sections[k].tag == tag) return fail(why, "duplicate section");
    prev_end = off + bytes;
    ImageSection& sec = img.sections[i];
    sec.tag = tag;
    sec.dtype = static_cast<ImageDtype>(dtype);
    sec.bytes = static_cast<std::size_t>(bytes);
    sec.offset = off;
    sec.crc = le32(e + 24);
  }
  img.count = count;
  if (out) *out = img;
  return Status::ok;
}

Status parse_image(const void* data, std::size_t size, Image* out, ImageError* why) {
  Image img;
  const Status s = parse_image_table(data, size, size, &img, why);
  if (s != Status::ok) return s;
  const auto* b = static_cast<const unsigned char*>(data);
  uint64_t prev_end = kImageHeaderBytes + static_cast<uint64_t>(img.count) * kImageEntryBytes;
  for (int i = 0; i < img.count; ++i) {
    ImageSection& sec = img.sections[i];
    for (uint64_t k = prev_end; k < sec.offset; ++k)
      if (b[k] != 0) return fail(why, "padding before a section is not zero", 0, b[k]);
    prev_end = sec.offset + sec.bytes;
    const unsigned char* p = b + sec.offset;
    if (crc32_update(0, p, sec.bytes) != sec.crc) return fail(why, "section checksum mismatch (corrupt data)");
    sec.data = p;
  }
  if (out) *out = img;
  return Status::ok;
}

Status parse_layer_table(const unsigned char* t, std::size_t size, ModelSpec* out, ImageError* why) {
  if (t == nullptr || size < 8) return fail(why, "layer table: too short", 8, size);
  const uint32_t input = le32(t);
  const uint32_t layers = le32(t + 4);
  if (layers < 1 || layers > static_cast<uint32_t>(kMaxLayers))
    return fail(why, "layer table: layer count out of range 1..8", kMaxLayers, layers);
  if (size != 8 + 16 * uint64_t{layers})
    return fail(why, "layer table: size does not match its layer count", 8 + 16 * uint64_t{layers}, size);
  if (input < 1 || input > static_cast<uint32_t>(kMaxWidth))
    return fail(why, "layer table: input width out of range 1..65536", kMaxWidth, input);
  ModelSpec spec(static_cast<int32_t>(input));
  spec.num_layers = static_cast<int32_t>(layers);
  uint32_t width = input;
  for (uint32_t i = 0; i < layers; ++i) {
    const unsigned char* r = t + 8 + 16 * i;
    const int li = static_cast<int>(i);
    const uint8_t kind = r[0], act = r[1], tie = r[2];
    const uint32_t in = le32(r + 4), outw = le32(r + 8), floats = le32(r + 12);
    if (r[3] != 0) return fail(why, "layer table: reserved byte is not zero", li);
    if (kind > 1) return fail(why, "layer table: unknown layer kind", 1, kind, li);
    if (act > 2) return fail(why, "layer table: unknown activation", 2, act, li);
    if (in != width) return fail(why, "layer table: input width differs from the previous layer's output", width, in, li);
    if (outw < 1 || outw > static_cast<uint32_t>(kMaxWidth))
      return fail(why, "layer table: output width out of range 1..65536", kMaxWidth, outw, li);
    LayerSpec& l = spec.layers[i];
    l.kind = static_cast<LayerKind>(kind);
    l.act = static_cast<Activation>(act);
    l.in = static_cast<int32_t>(in);
    l.out = static_cast<int32_t>(outw);
    uint64_t own = outw;
    if (kind == 0) {
      if (tie != 0xff) return fail(why, "layer table: a dense layer has a tie reference", li);
      l.tie = -1;
      own += uint64_t{in} * outw;  // <= 2^32 + 2^16: no overflow in 64 bits
    } else {
      if (tie >= i) return fail(why, "layer table: tie reference out of range (must name an earlier layer)", i, tie, li);
      const LayerSpec& p = spec.layers[tie];
      if (p.kind != LayerKind::dense) return fail(why, "layer table: tie reference names a layer that is not dense", li);
      if (p.in != l.out || p.out != l.in)
        return fail(why, "layer table: tied layer's shape is not its partner's transposed", li);
      l.tie = static_cast<int8_t>(tie);
    }
    if (floats != own) return fail(why, "layer table: parameter count does not match the layer's shape", own, floats, li);
    width = outw;
  }
  if (validate(spec) != Status::ok) return fail(why, "layer table: invalid model");
  if (out) *out = spec;
  return Status::ok;
}

Status check_model_sections(const Image& img, const unsigned char* layer_bytes, ModelSpec* spec,
                            const ImageSection** param_section, ImageError* why) {
  if (!host_is_little_endian()) return fail(why, "this reader runs on little-endian machines only");
  const ImageSection* lt = img.find(kTagLayers);
  if (!lt) return fail(why, "no layer table section (LAYR)");
  if (lt->dtype != ImageDtype::bytes) return fail(why, "layer table: dtype must be bytes (0)");
  ModelSpec s;
  const Status st = parse_layer_table(layer_bytes, lt->bytes, &s, why);
  if (st != Status::ok) return st;
  const ImageSection* ps = img.find(kTagParams);
  if (!ps) return fail(why, "no parameter section (PARM)");
  if (ps->dtype != ImageDtype::f32)
    return fail(why, "parameters: dtype must be float32 (1)", 1, static_cast<uint32_t>(ps->dtype));
  uint64_t total = 0;  // widths <= 2^16 and <= 8 layers: fits 64 bits
  for (int i = 0; i < s.num_layers; ++i)
    total += uint64_t{static_cast<uint32_t>(s.layers[i].out)} *
             (s.layers[i].kind == LayerKind::dense ? uint64_t{static_cast<uint32_t>(s.layers[i].in)} + 1 : 1);
  if (total > SIZE_MAX / 4 || ps->bytes != total * 4)
    return fail(why, "parameters: section size does not match the layer table", total * 4, ps->bytes);
  if (spec) *spec = s;
  if (param_section) *param_section = ps;
  return Status::ok;
}

Status parse_model_image(const void* data, std::size_t size, ModelImage* out, ImageError* why) {
  Image img;
  Status s = parse_image(data, size, &img, why);
  if (s != Status::ok) return s;
  const ImageSection* lt = img.find(kTagLayers);
  ModelSpec spec;
  const ImageSection* ps = nullptr;
  s = check_model_sections(img, lt ? lt->data : nullptr, &spec, &ps, why);
  if (s != Status::ok) return s;
  if (out) {
    out->image = img;
    out->spec = spec;
    out->params = ps->data;
    out->param_floats = ps->bytes / 4;
  }
  return Status::ok;
}

Status set_params_range(Model* m, std::size_t first, const unsigned char* src, std::size_t floats) {
  const ModelSpec& spec = m->spec();
  if (src == nullptr || first > param_count(spec) || floats > param_count(spec) - first) return Status::shape_mismatch;
  const std::size_t last = first + floats;
  std::size_t at = 0;  // canonical index of the current piece
  auto copy = [&](float* dst, std::size_t n) {
    const std::size_t lo = first > at ? first : at;
    const std::size_t hi = last < at + n ? last : at + n;
    if (dst && lo < hi) std::memcpy(dst + (lo - at), src + (lo - first) * 4, (hi - lo) * 4);
    at += n;
  };
  for (int i = 0; i < spec.num_layers && at < last; ++i) {
    const BoundLayer& l = m->layer(i);
    if (l.spec.kind == LayerKind::dense) copy(l.kernel_rw, kernel_floats(l.spec));
    copy(l.bias_rw, static_cast<std::size_t>(l.spec.out));
  }
  return Status::ok;
}

Status set_params_bytes(Model* m, const unsigned char* canonical, std::size_t floats) {
  if (floats != param_count(m->spec())) return Status::shape_mismatch;
  return set_params_range(m, 0, canonical, floats);
}

Status load_model_image(const ModelImage& img, const PlanOptions& opts, void* arena, std::size_t arena_size, Model* m) {
  if (img.params == nullptr || img.param_floats != param_count(img.spec)) return Status::invalid_argument;
  if (opts.external_weights) {
    // Zero copy: the caller's buffer must hold the floats aligned.
    if (reinterpret_cast<std::uintptr_t>(img.params) % alignof(float) != 0) return Status::invalid_argument;
    return m->bind(img.spec, opts, arena, arena_size, reinterpret_cast<const float*>(img.params), img.param_floats);
  }
  const Status s = m->bind(img.spec, opts, arena, arena_size);
  if (s != Status::ok) return s;
  return set_params_bytes(m, img.params, img.param_floats);
}

// ---------------------------------------------------------------- writing

std::size_t encode_layer_table(const ModelSpec& spec, unsigned char out[kLayerTableMaxBytes]) {
  if (validate(spec) != Status::ok) return 0;
  std::memset(out, 0, kLayerTableMaxBytes);
  put32(out, static_cast<uint32_t>(spec.input));
  put32(out + 4, static_cast<uint32_t>(spec.num_layers));
  for (int i = 0; i < spec.num_layers; ++i) {
    const LayerSpec& l = spec.layers[i];
    unsigned char* r = out + 8 + 16 * i;
    r[0] = static_cast<unsigned char>(l.kind);
    r[1] = static_cast<unsigned char>(l.act);
    r[2] = l.kind == LayerKind::dense ? 0xff : static_cast<unsigned char>(l.tie);
    r[3] = 0;
    put32(r + 4, static_cast<uint32_t>(l.in));
    put32(r + 8, static_cast<uint32_t>(l.out));
    put32(r + 12, static_cast<uint32_t>(layer_param_floats(l)));
  }
  return 8 + 16 * static_cast<std::size_t>(spec.num_layers);
}

std::size_t image_bytes(const ImageSection* sections, int n) {
  if (n < 1 || n > kImageMaxSections) return 0;
  uint64_t end = kImageHeaderBytes + static_cast<uint64_t>(n) * kImageEntryBytes;
  for (int i = 0; i < n; ++i) end = align_up(end) + sections[i].bytes;
  return end > SIZE_MAX ? 0 : static_cast<std::size_t>(end);
}

std::size_t write_image(const ImageSection* sections, int n, void* out, std::size_t cap) {
  const std::size_t total = image_bytes(sections, n);
  if (total == 0 || total > cap || out == nullptr) return 0;
  auto* b = static_cast<unsigned char*>(out);
  std::memset(b, 0, total);
  unsigned char* table = b + kImageHeaderBytes;
  uint64_t at = kImageHeaderBytes + static_cast<uint64_t>(n) * kImageEntryBytes;
  for (int i = 0; i < n; ++i) {
    const ImageSection& s = sections[i];
    at = align_up(at);
    unsigned char* e = table + static_cast<std::size_t>(i) * kImageEntryBytes;
    put32(e, s.tag);
    put32(e + 4, static_cast<uint32_t>(s.dtype));
    put64(e + 8, at);
    put64(e + 16, s.bytes);
    if (s.bytes) std::memcpy(b + at, s.data, s.bytes);
    put32(e + 24, crc32_update(0, b + at, s.bytes));
    at += s.bytes;
  }
  std::memcpy(b, kMagic, 4);
  put16(b + 4, kImageVersion);
  put16(b + 6, static_cast<uint16_t>(n));
  put32(b + 8, kByteOrderMark);
  put32(b + 12, crc32_update(0, table, static_cast<std::size_t>(n) * kImageEntryBytes));
  put64(b + 16, total);
  put32(b + 24, 0);
  put32(b + 28, crc32_update(0, b, 28));
  return total;
}

}  // namespace mote
