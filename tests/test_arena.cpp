#include <doctest/doctest.h>

#include <cstdint>

#include "mote/arena.h"

using mote::Arena;

TEST_CASE("arena hands out aligned pieces and refuses what does not fit") {
  alignas(64) static std::byte bytes[1024 + 64];
  // Start one byte in: the arena skips to the next aligned byte.
  Arena a(bytes + 1, 1024 + 63);
  CHECK(a.capacity() == 1024);
  auto* p = a.allocate<float>(3);
  REQUIRE(p != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(p) % mote::kAlign == 0);
  CHECK(a.used() == 64);  // 12 bytes round up to one line
  auto* q = a.allocate<float>(100);
  REQUIRE(q != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(q) % mote::kAlign == 0);
  CHECK(a.used() == 64 + 448);
  CHECK(a.allocate_bytes(1024) == nullptr);  // too big: nothing changes
  CHECK(a.used() == 64 + 448);
  CHECK(a.allocate_bytes(1024 - 512) != nullptr);  // exactly the rest
  CHECK(a.used() == a.capacity());
  CHECK(a.allocate_bytes(1) == nullptr);
}

TEST_CASE("arena of fewer bytes than one alignment step is empty, not broken") {
  alignas(64) static std::byte bytes[64];
  Arena a(bytes + 1, 10);
  CHECK(a.capacity() == 0);
  CHECK(a.allocate_bytes(1) == nullptr);
  Arena none(nullptr, 0);
  CHECK(none.allocate_bytes(1) == nullptr);
}
