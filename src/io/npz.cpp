#include "io/npz.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "io/model_file.h"

namespace mote::io {

namespace {

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
uint64_t le64(const unsigned char* p) { return uint64_t{le32(p)} | (uint64_t{le32(p + 4)} << 32); }
void put16(std::vector<unsigned char>& b, uint32_t v) {
  b.push_back(static_cast<unsigned char>(v));
  b.push_back(static_cast<unsigned char>(v >> 8));
}
void put32(std::vector<unsigned char>& b, uint32_t v) {
  put16(b, v & 0xffffu);
  put16(b, v >> 16);
}

uint32_t zcrc(const unsigned char* p, std::size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt k = n > UINT_MAX ? UINT_MAX : static_cast<uInt>(n);
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return static_cast<uint32_t>(c);
}

// ------------------------------------------------------------ .npy header

// A tiny reader for the Python literal NumPy writes:
// {'descr': '<f4', 'fortran_order': False, 'shape': (100, 784), }
struct Lit {
  const char* p;
  const char* end;
  void space() {
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
  }
  bool eat(char c) {
    space();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  bool str(std::string* out) {
    space();
    if (p >= end || (*p != '\'' && *p != '"')) return false;
    const char q = *p++;
    const char* s = p;
    while (p < end && *p != q) {
      if (*p == '\\') return false;  // no escapes in the keys and dtypes we accept
      ++p;
    }
    if (p >= end) return false;
    out->assign(s, static_cast<std::size_t>(p - s));
    ++p;
    return true;
  }
  bool word(const char* w) {
    space();
    const std::size_t n = std::strlen(w);
    if (static_cast<std::size_t>(end - p) < n || std::memcmp(p, w, n) != 0) return false;
    p += n;
    return true;
  }
  bool integer(int64_t* v) {
    space();
    if (p >= end || *p < '0' || *p > '9') return false;
    int64_t x = 0;
    while (p < end && *p >= '0' && *p <= '9') {
      if (x > (INT64_MAX - 9) / 10) return false;
      x = x * 10 + (*p - '0');
      ++p;
    }
    if (p < end && *p == 'L') ++p;  // Python 2 longs
    *v = x;
    return true;
  }
};

}  // namespace

Status parse_npy(const unsigned char* data, std::size_t size, const char* name, NpyArray* out, Error* err) {
  static const unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(data, kMagic, 6) != 0) return err->set(Status::bad_file, "%s: not a .npy array (bad magic)", name);
  const unsigned major = data[6], minor = data[7];
  if (major < 1 || major > 3 || minor != 0)
    return err->set(Status::bad_file, "%s: unsupported .npy format version %u.%u", name, major, minor);
  std::size_t hlen, hstart;
  if (major == 1) {
    hlen = le16(data + 8);
    hstart = 10;
  } else {
    if (size < 12) return err->set(Status::bad_file, "%s: truncated .npy header", name);
    hlen = le32(data + 8);
    hstart = 12;
  }
  if (hlen > size - hstart)
    return err->set(Status::bad_file, "%s: the .npy header says %zu bytes, only %zu follow", name, hlen, size - hstart);
  Lit h{reinterpret_cast<const char*>(data + hstart), reinterpret_cast<const char*>(data + hstart + hlen)};
  std::string descr;
  int fortran = -1;
  bool have_shape = false;
  std::vector<int64_t> shape;
  if (!h.eat('{')) return err->set(Status::bad_file, "%s: .npy header is not a dictionary", name);
  while (!h.eat('}')) {
    std::string key;
    if (!h.str(&key) || !h.eat(':')) return err->set(Status::bad_file, "%s: malformed .npy header", name);
    if (key == "descr") {
      if (!descr.empty() || !h.str(&descr) || descr.empty())
        return err->set(Status::bad_file, "%s: .npy header: bad 'descr'", name);
    } else if (key == "fortran_order") {
      if (fortran != -1) return err->set(Status::bad_file, "%s: .npy header: 'fortran_order' twice", name);
      if (h.word("True")) fortran = 1;
      else if (h.word("False")) fortran = 0;
      else return err->set(Status::bad_file, "%s: .npy header: 'fortran_order' must be True or False", name);
    } else if (key == "shape") {
      if (have_shape || !h.eat('(')) return err->set(Status::bad_file, "%s: .npy header: bad 'shape'", name);
      have_shape = true;
      while (!h.eat(')')) {
        int64_t d;
        if (!h.integer(&d) || d > (int64_t{1} << 40))
          return err->set(Status::bad_file, "%s: .npy header: bad dimension in 'shape'", name);
        if (shape.size() >= static_cast<std::size_t>(kNpyMaxDims))
          return err->set(Status::bad_file, "%s: .npy header: more than %d dimensions", name, kNpyMaxDims);
        shape.push_back(d);
        if (!h.eat(',')) {
          if (!h.eat(')')) return err->set(Status::bad_file, "%s: .npy header: bad 'shape'", name);
          break;
        }
      }
    } else {
      return err->set(Status::bad_file, "%s: .npy header: unexpected key '%.40s'", name, key.c_str());
    }
    if (!h.eat(',')) {
      if (!h.eat('}')) return err->set(Status::bad_file, "%s: malformed .npy header", name);
      break;
    }
  }
  h.space();
  while (h.p < h.end && (*h.p == '\n' || *h.p == ' ' || *h.p == '\0')) ++h.p;
  if (h.p != h.end) return err->set(Status::bad_file, "%s: trailing characters after the .npy header", name);
  if (descr.empty() || fortran == -1 || !have_shape)
    return err->set(Status::bad_file, "%s: .npy header lacks 'descr', 'fortran_order' or 'shape'", name);
  bool big = false;
  std::size_t item = 0;
  if (descr == "<f4" || descr == "=f4") item = 4;
  else if (descr == ">f4") item = 4, big = true;
  else if (descr == "<f8" || descr == "=f8") item = 8;
  else if (descr == ">f8") item = 8, big = true;
  else
    return err->set(Status::bad_file, "%s: dtype '%.20s' is not supported (float32 or float64 only)", name,
                    descr.c_str());
  uint64_t count = 1;
  for (const int64_t d : shape) {
    if (d != 0 && count > (uint64_t{1} << 40) / static_cast<uint64_t>(d))
      return err->set(Status::bad_file, "%s: the array is too large", name);
    count *= static_cast<uint64_t>(d);
  }
  const std::size_t payload = size - hstart - hlen;
  if (count * item != payload)
    return err->set(Status::bad_file, "%s: the header's shape needs %llu bytes of data, the file holds %zu", name,
                    static_cast<unsigned long long>(count * item), payload);
  const unsigned char* src = data + hstart + hlen;
  std::vector<float> v(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < v.size(); ++i) {
    unsigned char b[8];
    for (std::size_t k = 0; k < item; ++k) b[k] = src[i * item + (big ? item - 1 - k : k)];
    if (item == 4) {
      std::memcpy(&v[i], b, 4);
    } else {
      double d;
      std::memcpy(&d, b, 8);
      v[i] = static_cast<float>(d);
    }
  }
  if (fortran == 1 && shape.size() >= 2) {
    // Column-major: index i0 + d0 * (i1 + d1 * (...)). Reverse the axes.
    std::vector<float> c(v.size());
    std::vector<int64_t> idx(shape.size(), 0);
    for (std::size_t lin = 0; lin < v.size(); ++lin) {
      std::size_t f = 0, stride = 1;
      for (std::size_t a = 0; a < shape.size(); ++a) {
        f += static_cast<std::size_t>(idx[a]) * stride;
        stride *= static_cast<std::size_t>(shape[a]);
      }
      c[lin] = v[f];
      for (std::size_t a = shape.size(); a-- > 0;) {  // C order: last axis fastest
        if (++idx[a] < shape[a]) break;
        idx[a] = 0;
      }
    }
    v.swap(c);
  }
  out->shape = std::move(shape);
  out->data = std::move(v);
  return Status::ok;
}

std::vector<unsigned char> encode_npy(const NpyArray& a) {
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < a.shape.size(); ++i) {
    h += std::to_string(a.shape[i]);
    if (a.shape.size() == 1 || i + 1 < a.shape.size()) h += ",";
    if (i + 1 < a.shape.size()) h += " ";
  }
  h += "), }";
  const std::size_t total = (10 + h.size() + 1 + 63) / 64 * 64;  // NumPy pads to 64 bytes
  h.append(total - 10 - h.size() - 1, ' ');
  h += '\n';
  std::vector<unsigned char> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  put16(b, static_cast<uint32_t>(h.size()));
  b.insert(b.end(), h.begin(), h.end());
  const std::size_t at = b.size();
  b.resize(at + a.data.size() * 4);
  for (std::size_t i = 0; i < a.data.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &a.data[i], 4);
    for (int k = 0; k < 4; ++k) b[at + i * 4 + static_cast<std::size_t>(k)] = static_cast<unsigned char>(u >> (8 * k));
  }
  return b;
}

// ------------------------------------------------------------ zip

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;

Status inflate_raw(const unsigned char* src, std::size_t n, unsigned char* dst, std::size_t want, const char* name,
                   const char* entry, Error* err) {
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return err->set(Status::io_error, "%s: zlib init failed", name);
  z.next_in = const_cast<unsigned char*>(src);
  z.avail_in = static_cast<uInt>(n);  // n < 4 GiB: checked by the caller
  z.next_out = dst;
  z.avail_out = static_cast<uInt>(want);
  const int r = inflate(&z, Z_FINISH);
  const std::size_t got = z.total_out;
  inflateEnd(&z);
  if (r != Z_STREAM_END || got != want)
    return err->set(Status::bad_file, "%s: entry '%.80s': corrupt deflate data", name, entry);
  return Status::ok;
}

}  // namespace

Status parse_zip(const unsigned char* data, std::size_t size, const char* name, const NpzLimits& limits,
                 std::vector<ZipEntry>* out, Error* err) {
  out->clear();
  if (size < 22) return err->set(Status::bad_file, "%s: not a zip archive (too short)", name);
  // The end record: the last signature within the last 64 KiB + 22 bytes.
  std::size_t eocd = SIZE_MAX;
  const std::size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (std::size_t i = size - 22 + 1; i-- > lowest;) {
    if (le32(data + i) == kEndSig && i + 22 + le16(data + i + 20) == size) {
      eocd = i;
      break;
    }
  }
  if (eocd == SIZE_MAX) return err->set(Status::bad_file, "%s: not a zip archive (no end record)", name);
  const unsigned char* e = data + eocd;
  uint64_t entries = le16(e + 10), cd_size = le32(e + 12), cd_off = le32(e + 16);
  const auto multi = [](uint16_t v) { return v != 0 && v != 0xffff; };
  if (multi(le16(e + 4)) || multi(le16(e + 6)) || le16(e + 8) != le16(e + 10))
    return err->set(Status::bad_file, "%s: multi-disk zip archives are not supported", name);
  if (entries == 0xffff || cd_size == 0xffffffff || cd_off == 0xffffffff) {
    if (eocd < 20 || le32(data + eocd - 20) != kLocator64Sig)
      return err->set(Status::bad_file, "%s: zip64 end record missing", name);
    const uint64_t at = le64(data + eocd - 20 + 8);
    if (at > eocd - 20 || eocd - 20 - at < 56 || le32(data + at) != kEnd64Sig)
      return err->set(Status::bad_file, "%s: bad zip64 end record", name);
    entries = le64(data + at + 32);
    cd_size = le64(data + at + 40);
    cd_off = le64(data + at + 48);
  }
  if (cd_off > eocd || cd_size > eocd - cd_off)
    return err->set(Status::bad_file, "%s: the zip central directory lies outside the file", name);
  if (entries > static_cast<uint64_t>(limits.max_entries))
    return err->set(Status::bad_file, "%s: %llu zip entries (at most %d)", name, static_cast<unsigned long long>(entries),
                    limits.max_entries);
  std::size_t p = static_cast<std::size_t>(cd_off);
  const std::size_t cd_end = static_cast<std::size_t>(cd_off + cd_size);
  std::size_t total = 0;
  for (uint64_t k = 0; k < entries; ++k) {
    if (cd_end - p < 46 || le32(data + p) != kCentralSig)
      return err->set(Status::bad_file, "%s: zip central directory entry %llu is malformed", name,
                      static_cast<unsigned long long>(k));
    const unsigned char* c = data + p;
    const uint16_t flags = le16(c + 8), method = le16(c + 10);
    const uint32_t crc = le32(c + 16);
    uint64_t csize = le32(c + 20), usize = le32(c + 24);
    const std::size_t nlen = le16(c + 28), xlen = le16(c + 30), clen = le16(c + 32);
    uint64_t loff = le32(c + 42);
    if (cd_end - p - 46 < nlen + xlen + clen)
      return err->set(Status::bad_file, "%s: zip central directory entry %llu runs past the directory", name,
                      static_cast<unsigned long long>(k));
    ZipEntry ent;
    ent.name.assign(reinterpret_cast<const char*>(c + 46), nlen);
    const char* en = ent.name.c_str();
    // zip64 extra field: the 64-bit values of the fields that hold 0xffffffff.
    for (std::size_t x = 0; x + 4 <= xlen;) {
      const unsigned char* f = c + 46 + nlen + x;
      const std::size_t id = le16(f), len = le16(f + 2);
      if (x + 4 + len > xlen) return err->set(Status::bad_file, "%s: entry '%.80s': bad extra field", name, en);
      if (id == 1) {
        std::size_t q = 4;
        auto take = [&](uint64_t* v) {
          if (*v != 0xffffffff) return true;
          if (q + 8 > 4 + len) return false;
          *v = le64(f + q);
          q += 8;
          return true;
        };
        if (!take(&usize) || !take(&csize) || !take(&loff))
          return err->set(Status::bad_file, "%s: entry '%.80s': short zip64 field", name, en);
      }
      x += 4 + len;
    }
    p += 46 + nlen + xlen + clen;
    if (flags & 1u) return err->set(Status::bad_file, "%s: entry '%.80s' is encrypted", name, en);
    if (method != 0 && method != 8)
      return err->set(Status::bad_file, "%s: entry '%.80s': compression method %u (stored or deflate only)", name, en,
                      method);
    if (usize > limits.max_entry_bytes || usize > limits.max_total_bytes - total)
      return err->set(Status::bad_file, "%s: entry '%.80s' expands to %llu bytes, more than allowed", name, en,
                      static_cast<unsigned long long>(usize));
    if (method == 0 && csize != usize)
      return err->set(Status::bad_file, "%s: stored entry '%.80s' has different sizes", name, en);
    if (loff > cd_off || cd_off - loff < 30 || le32(data + loff) != kLocalSig)
      return err->set(Status::bad_file, "%s: entry '%.80s': bad local header", name, en);
    const unsigned char* l = data + loff;
    const uint64_t start = loff + 30 + le16(l + 26) + le16(l + 28);
    if (start > cd_off || csize > cd_off - start || csize > UINT_MAX)
      return err->set(Status::bad_file, "%s: entry '%.80s' runs past its space in the archive", name, en);
    for (const ZipEntry& o : *out)
      if (o.name == ent.name) return err->set(Status::bad_file, "%s: entry '%.80s' appears twice", name, en);
    ent.bytes.resize(static_cast<std::size_t>(usize));
    const unsigned char* src = data + start;
    if (method == 0) {
      if (usize) std::memcpy(ent.bytes.data(), src, static_cast<std::size_t>(usize));
    } else {
      unsigned char dummy = 0;
      const Status s = inflate_raw(src, static_cast<std::size_t>(csize), usize ? ent.bytes.data() : &dummy,
                                   static_cast<std::size_t>(usize), name, en, err);
      if (s != Status::ok) return s;
    }
    if (zcrc(ent.bytes.data(), ent.bytes.size()) != crc)
      return err->set(Status::bad_file, "%s: entry '%.80s': CRC32 mismatch (corrupt data)", name, en);
    total += static_cast<std::size_t>(usize);
    out->push_back(std::move(ent));
  }
  return Status::ok;
}

std::vector<unsigned char> encode_zip(const std::vector<ZipEntry>& entries) {
  std::vector<unsigned char> b, cd;
  for (const ZipEntry& e : entries) {
    const uint32_t crc = zcrc(e.bytes.data(), e.bytes.size());
    const auto size = static_cast<uint32_t>(e.bytes.size());
    const auto off = static_cast<uint32_t>(b.size());
    const auto nlen = static_cast<uint32_t>(e.name.size());
    // local header
    put32(b, kLocalSig);
    put16(b, 20);      // version needed
    put16(b, 0);       // flags
    put16(b, 0);       // stored
    put16(b, 0);       // time 00:00
    put16(b, 0x21);    // date 1980-01-01
    put32(b, crc);
    put32(b, size);
    put32(b, size);
    put16(b, nlen);
    put16(b, 0);
    b.insert(b.end(), e.name.begin(), e.name.end());
    b.insert(b.end(), e.bytes.begin(), e.bytes.end());
    // central directory entry
    put32(cd, kCentralSig);
    put16(cd, 0x0314);  // made by: Unix, 2.0
    put16(cd, 20);
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, 0x21);
    put32(cd, crc);
    put32(cd, size);
    put32(cd, size);
    put16(cd, nlen);
    put16(cd, 0);  // extra
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);  // internal attributes
    put32(cd, 0100644u << 16);  // external attributes: a regular file, rw-r--r--
    put32(cd, off);
    cd.insert(cd.end(), e.name.begin(), e.name.end());
  }
  const auto cd_off = static_cast<uint32_t>(b.size());
  b.insert(b.end(), cd.begin(), cd.end());
  put32(b, kEndSig);
  put16(b, 0);
  put16(b, 0);
  put16(b, static_cast<uint32_t>(entries.size()));
  put16(b, static_cast<uint32_t>(entries.size()));
  put32(b, static_cast<uint32_t>(cd.size()));
  put32(b, cd_off);
  put16(b, 0);
  return b;
}

// ------------------------------------------------------------ .npz

Status parse_npz(const unsigned char* data, std::size_t size, const char* name, const NpzLimits& limits,
                 std::vector<NpyArray>* out, Error* err) {
  out->clear();
  std::vector<ZipEntry> entries;
  Status s = parse_zip(data, size, name, limits, &entries, err);
  if (s != Status::ok) return s;
  for (ZipEntry& e : entries) {
    const std::size_t n = e.name.size();
    if (n < 5 || e.name.compare(n - 4, 4, ".npy") != 0)
      return err->set(Status::bad_file, "%s: entry '%.80s' is not a .npy array", name, e.name.c_str());
    NpyArray a;
    a.name = e.name.substr(0, n - 4);
    std::string where = std::string(name) + ": " + e.name;
    s = parse_npy(e.bytes.data(), e.bytes.size(), where.c_str(), &a, err);
    if (s != Status::ok) return s;
    std::vector<unsigned char>().swap(e.bytes);
    out->push_back(std::move(a));
  }
  return Status::ok;
}

Status read_npz(const char* path, std::vector<NpyArray>* out, Error* err) {
  std::vector<unsigned char> b;
  const Status s = read_file(path, std::size_t{1} << 31, &b, err);
  if (s != Status::ok) return s;
  return parse_npz(b.data(), b.size(), path, NpzLimits{}, out, err);
}

Status write_npz(const char* path, const std::vector<NpyArray>& arrays, Error* err) {
  std::vector<ZipEntry> entries;
  std::size_t total = 0;
  for (const NpyArray& a : arrays) {
    entries.push_back({a.name + ".npy", encode_npy(a)});
    total += entries.back().bytes.size() + 128;
  }
  if (uint64_t{total} >= (uint64_t{1} << 32) - (uint64_t{1} << 20) || arrays.size() >= 0xffff)
    return err->set(Status::invalid_argument, "%s: too large for a zip without zip64", path);
  const std::vector<unsigned char> b = encode_zip(entries);
  return write_file_atomic(path, b.data(), b.size(), err);
}

bool order_as_positional(std::vector<NpyArray>* arrays) {
  const std::size_t n = arrays->size();
  std::vector<int> pos(n, -1);
  std::vector<bool> seen(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& s = (*arrays)[i].name;
    if (s.size() < 5 || s.size() > 10 || s.compare(0, 4, "arr_") != 0) return false;
    long v = 0;
    for (std::size_t k = 4; k < s.size(); ++k) {
      if (s[k] < '0' || s[k] > '9' || (k == 4 && s[k] == '0' && s.size() > 5)) return false;
      v = v * 10 + (s[k] - '0');
    }
    if (v < 0 || static_cast<std::size_t>(v) >= n || seen[static_cast<std::size_t>(v)]) return false;
    seen[static_cast<std::size_t>(v)] = true;
    pos[i] = static_cast<int>(v);
  }
  std::vector<NpyArray> sorted(n);
  for (std::size_t i = 0; i < n; ++i) sorted[static_cast<std::size_t>(pos[i])] = std::move((*arrays)[i]);
  arrays->swap(sorted);
  return true;
}

}  // namespace mote::io
