// Shapes, buffers and helpers shared by the benchmark files of mote_bench.
//
// Names: gemm/<impl>/<shape>/<batch>, train_step/<impl>/tied/32,
// infer/<impl>/tied/<batch>, peak/<isa>. Every row has a GFLOP/s counter
// (the arithmetic of the row divided by its time).
//
// Google Benchmark 1.7.1 + GCC 12 miscompile the non-const DoNotOptimize(T&):
// only keep() below (the const overload plus a memory clobber) is used.
#pragma once
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace bench {

enum class Layout { NN, NT, TN };

// One GEMM of the tied model's step: C[m x n] (+)= op(A)[m x k] op(B)[k x n],
// all row-major, leading dimensions tight.
struct Gemm {
  const char* name;
  int m, n, k;
  Layout layout;
  bool accumulate;
  int lda() const { return layout == Layout::TN ? m : k; }
  int ldb() const { return layout == Layout::NT ? k : n; }
  int ldc() const { return n; }
  double flops() const { return 2.0 * m * n * k; }
};

inline Gemm shape(int index, int batch) {
  switch (index) {
    case 0: return {"fwd1", batch, 100, 784, Layout::NN, false};   // x W1
    case 1: return {"fwd2", batch, 30, 100, Layout::NN, false};    // h1 W2
    case 2: return {"fwd3", batch, 100, 30, Layout::NT, false};    // h2 W2^T (tied)
    case 3: return {"fwd4", batch, 784, 100, Layout::NT, false};   // h3 W1^T (tied)
    case 4: return {"bwdW1", 784, 100, batch, Layout::TN, true};   // dW1 += x^T dz
    default: return {"bwdW2", 100, 30, batch, Layout::TN, true};   // dW2 += h1^T dz
  }
}
inline constexpr int kNumShapes = 6;
inline constexpr int kBatches[] = {1, 32, 256};

// 64-byte aligned float buffer with deterministic contents in [lo, hi).
struct Buffer {
  float* p = nullptr;
  std::size_t n = 0;
  explicit Buffer(std::size_t count, float lo = -1.0f, float hi = 1.0f, uint64_t seed = 1) : n(count) {
    p = static_cast<float*>(std::aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64 + 64));
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (std::size_t i = 0; i < count; ++i) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      p[i] = lo + (hi - lo) * static_cast<float>((s >> 40) & 0xFFFFFF) / 16777216.0f;
    }
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(p); }
  float* data() const { return p; }
};

struct GemmBuffers {
  Buffer a, b, c;
  explicit GemmBuffers(const Gemm& g)
      : a(static_cast<std::size_t>(g.m) * g.k, -1, 1, 1),
        b(static_cast<std::size_t>(g.k) * g.n, -0.1f, 0.1f, 2),
        c(static_cast<std::size_t>(g.m) * g.n, -1, 1, 3) {}
};

inline void keep(const float* p) {
  benchmark::DoNotOptimize(p);  // const T& overload
  benchmark::ClobberMemory();
}

inline void set_flops(benchmark::State& st, double flops_per_iter) {
  st.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// A peer's GEMM: returns false (row skipped with a message) if it cannot run the shape.
using GemmFn = bool (*)(const Gemm& g, GemmBuffers& buf, benchmark::State& st);

// Registers gemm/<impl>/<shape>/<batch> for every shape and batch.
void register_gemm_rows(const char* impl, GemmFn fn);

// The tied model's FLOPs per training step and per inference at `batch`.
inline double tied_train_flops(int batch) {
  // forward: 4 GEMMs; backward: 4 weight gradients + input gradients of layers 3, 2, 1.
  // 2B (2 x 81400) + 2B (2 x 81400) + 2B (78400 + 3000 + 3000) = 820000 B (26.2 MFLOP at 32).
  return 2.0 * batch * (4.0 * 81400.0 + 84400.0);
}
inline double tied_infer_flops(int batch) { return 2.0 * batch * (784.0 * 100 + 100.0 * 30) * 2; }

}  // namespace bench
