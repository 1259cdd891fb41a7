// The IDX image parser (the in-memory part of the Fashion-MNIST reader).
#include <cstddef>
#include <cstdint>

#include "io/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mote::io::Error err;
  mote::io::Images img;
  (void)mote::io::parse_idx_images(data, size, "fuzz.idx", 0, &img, &err);
  mote::io::Images first;
  (void)mote::io::parse_idx_images(data, size, "fuzz.idx", 1, &first, &err);
  mote::io::Images bytes;  // the byte form mote train keeps for training images
  (void)mote::io::parse_idx_images(data, size, "fuzz.idx", 0, &bytes, &err, mote::io::PixelFormat::bytes);
  return 0;
}
