// The model loader: the core parser on memory (what firmware runs on a file
// in flash), the load into an arena and a forward pass of what it accepts,
// the streaming reader's table parser, and checkpoints (training state,
// schedule, a greedy run's earlier-stage model).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "io/checkpoint.h"
#include "mote/model_image.h"

namespace {
alignas(64) std::byte g_arena[1 << 20];
float g_x[2 * mote::kMaxWidth];
uint8_t g_fixed[1 << 16];

uint32_t le32(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24); }
uint64_t le64(const uint8_t* p) { return uint64_t{le32(p)} | (uint64_t{le32(p + 4)} << 32); }
void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Random mutations almost never keep four CRC32s right, so the checks behind
// them would go unfuzzed: a copy of the input gets its file size and every
// CRC32 the table allows recomputed, and is parsed too.
size_t fix_checksums(const uint8_t* data, size_t size) {
  if (size < 32 || size > sizeof g_fixed) return 0;
  std::memcpy(g_fixed, data, size);
  for (int i = 0; i < 8; ++i) g_fixed[16 + i] = static_cast<uint8_t>(static_cast<uint64_t>(size) >> (8 * i));
  const size_t count = g_fixed[6] | (g_fixed[7] << 8);
  if (count <= mote::kImageMaxSections && 32 + 32 * count <= size) {
    for (size_t i = 0; i < count; ++i) {
      uint8_t* e = g_fixed + 32 + 32 * i;
      const uint64_t off = le64(e + 8), n = le64(e + 16);
      if (off <= size && n <= size - off) put32(e + 24, mote::crc32_update(0, g_fixed + off, static_cast<size_t>(n)));
    }
    put32(g_fixed + 12, mote::crc32_update(0, g_fixed + 32, 32 * count));
  }
  put32(g_fixed + 28, mote::crc32_update(0, g_fixed, 28));
  return size;
}

void parse_and_run(const uint8_t* data, size_t size) {
  mote::ModelImage img;
  mote::ImageError why;
  if (mote::parse_model_image(data, size, &img, &why) == mote::Status::ok) {
    constexpr mote::PlanOptions opts{.batch = 2, .train = mote::Trainable::none};
    mote::Model m;
    if (mote::arena_bytes(img.spec, opts) <= sizeof g_arena &&
        mote::load_model_image(img, opts, g_arena, sizeof g_arena, &m) == mote::Status::ok) {
      mote::ConstMatrixView y;
      const int w = img.spec.input;
      (void)m.forward(mote::ConstMatrixView{g_x, 2, w, w}, &y);
    }
    if (const mote::ImageSection* ts = img.image.find(mote::kTagTrainState)) {
      mote::io::TrainState st;
      (void)mote::io::decode_train_state(ts->data, ts->bytes, &st);
      // The whole checkpoint: its sections, the schedule, an earlier stage's model.
      mote::io::Checkpoint c;
      mote::io::Error err;
      (void)mote::io::parse_checkpoint("fuzz", data, size, &c, &err);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parse_and_run(data, size);
  if (const size_t n = fix_checksums(data, size)) parse_and_run(g_fixed, n);
  mote::ImageError why;
  // The streaming reader sees only the head of the file.
  mote::Image table;
  const size_t head = size < mote::kImageMaxHead ? size : mote::kImageMaxHead;
  (void)mote::parse_image_table(data, head, size, &table, &why);
  if (size >= 8) {
    mote::ModelSpec spec;
    (void)mote::parse_layer_table(data, size, &spec, &why);
  }
  return 0;
}
