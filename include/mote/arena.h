// mote/arena.h - the caller's bytes, handed out in aligned pieces.
//
//   alignas(64) static std::byte bytes[4096];
//   mote::Arena arena(bytes, sizeof bytes);
//   float* w = arena.allocate<float>(100);   // nullptr when it does not fit
//   arena.used();                            // high-water mark, in bytes
//
// The arena never calls the heap. Every piece is aligned to kAlign bytes (a
// cache line, and the widest SIMD register), so the planner can size an arena
// exactly with arena_round_up().
#pragma once
#include <cstddef>
#include <cstdint>

namespace mote {

inline constexpr std::size_t kAlign = 64;

constexpr std::size_t arena_round_up(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

class Arena {
 public:
  constexpr Arena() = default;
  Arena(void* bytes, std::size_t size) { reset(bytes, size); }

  void reset(void* bytes, std::size_t size) {
    // Start at the first aligned byte; what lies before it is not usable.
    auto p = reinterpret_cast<std::uintptr_t>(bytes);
    std::uintptr_t aligned = (p + kAlign - 1) / kAlign * kAlign;
    std::size_t skip = aligned - p;
    base_ = static_cast<std::byte*>(bytes) + (skip <= size ? skip : size);
    capacity_ = skip <= size ? (size - skip) / kAlign * kAlign : 0;
    used_ = 0;
  }

  // Returns nullptr when the request does not fit; the arena is unchanged then.
  void* allocate_bytes(std::size_t bytes) {
    std::size_t need = arena_round_up(bytes);
    if (need > capacity_ - used_) return nullptr;
    void* p = base_ + used_;
    used_ += need;
    return p;
  }
  template <class T>
  T* allocate(std::size_t count) { return static_cast<T*>(allocate_bytes(count * sizeof(T))); }

  std::size_t used() const { return used_; }
  std::size_t capacity() const { return capacity_; }
  std::byte* base() const { return base_; }

 private:
  std::byte* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
};

}  // namespace mote
