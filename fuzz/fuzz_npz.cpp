// The .npz (zip) and .npy readers, with small limits so that a claimed size
// cannot make the fuzzer run out of memory.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "io/npz.h"

namespace {

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24); }
void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Mutations rarely keep an entry's CRC32 right: a copy gets the CRC32 of
// every stored entry recomputed (central directory and local header), so the
// .npy parser behind the check is reached through the archive too.
bool fix_crcs(std::vector<uint8_t>& b) {
  const size_t size = b.size();
  if (size < 22) return false;
  size_t eocd = SIZE_MAX;
  for (size_t i = size - 22 + 1; i-- > 0 && size - i < 22 + 65536;)
    if (le32(&b[i]) == 0x06054b50) { eocd = i; break; }
  if (eocd == SIZE_MAX) return false;
  size_t p = le32(&b[eocd + 16]);
  const size_t n = le16(&b[eocd + 10]);
  for (size_t k = 0; k < n && k < 64; ++k) {
    if (p > eocd || eocd - p < 46 || le32(&b[p]) != 0x02014b50) break;
    const size_t csize = le32(&b[p + 20]), loff = le32(&b[p + 42]);
    const size_t next = p + 46 + le16(&b[p + 28]) + le16(&b[p + 30]) + le16(&b[p + 32]);
    if (le16(&b[p + 10]) == 0 && loff < size && size - loff >= 30) {
      const size_t start = loff + 30 + le16(&b[loff + 26]) + le16(&b[loff + 28]);
      if (start <= size && csize <= size - start) {
        const auto c = static_cast<uint32_t>(crc32(0L, &b[start], static_cast<uInt>(csize)));
        put32(&b[p + 16], c);
        put32(&b[loff + 14], c);
      }
    }
    p = next;
  }
  return true;
}

void parse(const uint8_t* data, size_t size) {
  mote::io::Error err;
  mote::io::NpzLimits limits;
  limits.max_entry_bytes = 1 << 20;
  limits.max_total_bytes = 4 << 20;
  limits.max_entries = 64;
  std::vector<mote::io::NpyArray> arrays;
  if (mote::io::parse_npz(data, size, "fuzz.npz", limits, &arrays, &err) == mote::Status::ok)
    (void)mote::io::order_as_positional(&arrays);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parse(data, size);
  std::vector<uint8_t> fixed(data, data + size);
  if (fix_crcs(fixed)) parse(fixed.data(), fixed.size());
  mote::io::Error err;
  mote::io::NpyArray a;
  if (mote::io::parse_npy(data, size, "fuzz.npy", &a, &err) == mote::Status::ok) {
    const std::vector<unsigned char> again = mote::io::encode_npy(a);
    mote::io::NpyArray b;
    if (mote::io::parse_npy(again.data(), again.size(), "again.npy", &b, &err) != mote::Status::ok ||
        b.shape != a.shape || b.data.size() != a.data.size())
      __builtin_trap();  // what we write, we read back
  }
  return 0;
}
