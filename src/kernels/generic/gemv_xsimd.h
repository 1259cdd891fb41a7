// Batch-1 GEMM (GEMV) kernels: C[1 x n] (+)= a[1 x k] * op(B), epilogue fused,
// the whole row of C in one call (gemm::run_direct takes them when m == 1).
//
//   gemv_nn: B (op N, k x n, rows ldb apart) read in place. Columns in blocks
//   of at most GV vectors (balanced: n = 100 is one block of 7 zmm, n = 784
//   seven blocks of 7); within a block, one pass over the rows of B, each row
//   slice a linear run of GV vectors, U k-steps on U independent accumulator
//   sets (FMA latency), last vector a masked load. The tile path walked each
//   400-byte row of a 784 x 100 kernel three times (48 + 48 + 4 columns).
//
//   gemv_nt: C = a * B^T, B rows (n x k, ldb apart) contiguous along k: groups
//   of NJ rows, each row's dot product with a held in KV vectors of registers
//   (k longer than KV vectors: chunks), rows visited in memory order so B
//   streams linearly (the 4 x 16 dot tile interleaved 16 rows per k-step);
//   the NJ sums are transposed into one vector per W rows (reduce16 on
//   AVX-512, xsimd::haddp elsewhere) and stored through the epilogue.
//
// Measured on Zen 4 (AVX-512, 784 x 100 kernel in L2, medians of 5; before
// -> after): gemm fwd1/1 (1 x 784 . 784 x 100 NN) 4.04 -> 2.81 us, fwd4/1
// (1 x 100 . (784 x 100)^T NT) 4.27 -> 3.05 us, fwd3/1 227 -> 183 ns,
// infer/tied/1 9.19 -> ~6.6 us. The avx2 set: fwd1/1 4.67 -> 2.77 us, fwd4/1
// 4.68 -> 3.79 us, infer/tied/1 10.5 -> 7.4 us.
#pragma once
#include "kernels/generic/gemm_xsimd.h"

namespace mote::kernels::MOTE_KERNEL_TU {

// NT: software prefetch of B whole rows ahead, ~2 KB (one prefetch per vector
// loaded). Measured on Zen 4 with B in L2: fwd4/1 3.45 -> 3.05 us (distances
// of 1 and 4 KB: 3.10 us); the same in the NN kernel gained nothing.
constexpr std::ptrdiff_t kGemvPrefetchFloats = 512;
inline std::ptrdiff_t prefetch_offset(std::ptrdiff_t ldb) {
  if (ldb <= 0) return 0;
  const std::ptrdiff_t rows = ldb >= kGemvPrefetchFloats ? 1 : kGemvPrefetchFloats / ldb;
  return rows * ldb;
}

// One vector of C at column j through the store step and the epilogue,
// colsum included (t.last is always set on the direct path's single K block).
template <class A>
inline void gemv_store(const TileArgs& t, vf<A> x, int j, int n) {
  vf<A> cs(0.0f);
  store_vector<A>(t, x, 0, j, n, cs, t.load_c);
  if (t.last && t.colsum) store_n<A>(t.colsum + j, load_n<A>(t.colsum + j, n) + cs, n);
}

// ------------------------------------------------------------ NN
// Columns [0, t.nr) of one block, NV vectors, the last one `tail` lanes.
template <class A, int NV, int U, bool Tail>
__attribute__((noinline)) void f32_gemv_nn_block(const TileArgs& t) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  const int tail = Tail ? t.nr - (NV - 1) * W : W;
  const TailLoad<A> load_tail(Tail ? tail : 1);
  const auto load_b = [&](const float* row, int v) { return load_row<A, NV, Tail>(row, v, load_tail); };
  V acc[U][NV];
#pragma GCC unroll 4
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[u][v] = V(0.0f);
  const float* a = t.a;
  const float* b = t.b;
  const std::ptrdiff_t cs = t.cs_a, ldb = t.ldb;
  int k = 0;
  for (; k + U <= t.kc; k += U) {
#pragma GCC unroll 4
    for (int u = 0; u < U; ++u) {
      const V av(a[u * cs]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[u][v] = xsimd::fma(av, load_b(b + u * ldb, v), acc[u][v]);
    }
    a += U * cs;
    b += U * ldb;
  }
  for (; k < t.kc; ++k) {
    const V av(a[0]);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[0][v] = xsimd::fma(av, load_b(b, v), acc[0][v]);
    a += cs;
    b += ldb;
  }
#pragma GCC unroll 4
  for (int u = 1; u < U; ++u)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[0][v] += acc[u][v];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) gemv_store<A>(t, acc[0][v], v * W, v == NV - 1 ? tail : W);
}

template <class A, int NV, int U>
inline void gemv_nn_pick(const TileArgs& t, int nv) {
  if constexpr (NV > 1) {
    if (nv < NV) return gemv_nn_pick<A, NV - 1, U>(t, nv);
  }
  constexpr int W = static_cast<int>(vf<A>::size);
  if (t.nr % W == 0)
    f32_gemv_nn_block<A, NV, U, false>(t);
  else
    f32_gemv_nn_block<A, NV, U, true>(t);
}

// t: the whole row (t.nr = n, pointers at column 0).
template <class A, int GV, int U>
void gemv_nn(const TileArgs& t) {
  constexpr int W = static_cast<int>(vf<A>::size);
  const int nv_all = (t.nr + W - 1) / W;
  const int blocks = (nv_all + GV - 1) / GV;
  const int cols = (nv_all + blocks - 1) / blocks * W;  // balanced blocks
  for (int j = 0; j < t.nr; j += cols) {
    TileArgs s = columns_from(t, j);
    s.nr = imin(cols, t.nr - j);
    s.b = t.b + j;
    gemv_nn_pick<A, GV, U>(s, (s.nr + W - 1) / W);
  }
}

// ------------------------------------------------------------ NT
// acc[j] += a[0 .. KV vectors) . row j, rows from b, ldb apart. Partial: only
// `rows` rows exist; the others re-read the last one (never stored).
template <class A, int NJ, int KV, bool Tail, bool Partial>
inline void gemv_nt_chunk(vf<A> (&acc)[NJ], const float* a, const float* b, std::ptrdiff_t ldb, int tail,
                          int rows) {
  const std::ptrdiff_t pf = prefetch_offset(ldb);
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  const TailLoad<A> load_tail(Tail ? tail : 1);
  V av[KV];
#pragma GCC unroll 16
  for (int v = 0; v < KV; ++v) av[v] = Tail && v == KV - 1 ? load_tail(a + v * W) : V::load_unaligned(a + v * W);
#pragma GCC unroll 32
  for (int j = 0; j < NJ; ++j) {
#pragma GCC unroll 16
    for (int v = 0; v < KV; ++v) {
      __builtin_prefetch(b + pf + v * W, 0, 3);
      const V bv = Tail && v == KV - 1 ? load_tail(b + v * W) : V::load_unaligned(b + v * W);
      acc[j] = xsimd::fma(av[v], bv, acc[j]);
    }
    if (!Partial || j + 1 < rows) b += ldb;
  }
}

// Lane i of vector g = the sum of the lanes of acc[g * W + i].
template <class A, int NJ>
inline void gemv_nt_reduce(const vf<A> (&acc)[NJ], vf<A> (&out)[NJ / vf<A>::size]) {
  constexpr int W = static_cast<int>(vf<A>::size);
#if defined(__AVX512F__)
  if constexpr (W == 16 && NJ == 16) {
    out[0] = vf<A>(reduce16(acc));
    return;
  }
#endif
#pragma GCC unroll 8
  for (int g = 0; g < NJ / W; ++g) out[g] = xsimd::haddp(acc + g * W);
}

// Rows [j0, j0 + rows) of C, rows <= NJ; k = KF full chunks of KV vectors,
// then a chunk of KL vectors (the last one `tail` lanes when TailL).
// Inlined into f32_gemv_nt (a call per group cost ~3% of fwd4/1).
template <class A, int NJ, int KV, int KL, bool TailL, bool Partial>
__attribute__((always_inline)) inline void gemv_nt_group(const TileArgs& t, int j0, int rows, int full_chunks, int tail) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  V acc[NJ];
#pragma GCC unroll 32
  for (int j = 0; j < NJ; ++j) acc[j] = V(0.0f);
  const float* b = t.b + static_cast<std::ptrdiff_t>(j0) * t.ldb;
  int k = 0;
  for (int c = 0; c < full_chunks; ++c, k += KV * W)
    gemv_nt_chunk<A, NJ, KV, false, Partial>(acc, t.a + k, b + k, t.ldb, W, rows);
  gemv_nt_chunk<A, NJ, KL, TailL, Partial>(acc, t.a + k, b + k, t.ldb, tail, rows);
  V sums[NJ / W];
  gemv_nt_reduce<A, NJ>(acc, sums);
#pragma GCC unroll 8
  for (int g = 0; g < NJ / W; ++g) {
    const int n = imin(W, rows - g * W);
    if (n <= 0) break;
    gemv_store<A>(t, sums[g], j0 + g * W, n);
  }
}

template <class A, int NJ, int KV, int KL, bool TailL>
__attribute__((noinline)) void f32_gemv_nt(const TileArgs& t, int full_chunks, int tail) {
  int j = 0;
  for (; j + NJ <= t.nr; j += NJ) gemv_nt_group<A, NJ, KV, KL, TailL, false>(t, j, NJ, full_chunks, tail);
  if (j < t.nr) gemv_nt_group<A, NJ, KV, KL, TailL, true>(t, j, t.nr - j, full_chunks, tail);
}

template <class A, int NJ, int KV, int KL>
inline void gemv_nt_pick(const TileArgs& t, int kl, int full_chunks, int tail) {
  if constexpr (KL > 1) {
    if (kl < KL) return gemv_nt_pick<A, NJ, KV, KL - 1>(t, kl, full_chunks, tail);
  }
  constexpr int W = static_cast<int>(vf<A>::size);
  if (tail < W)
    f32_gemv_nt<A, NJ, KV, KL, true>(t, full_chunks, tail);
  else
    f32_gemv_nt<A, NJ, KV, KL, false>(t, full_chunks, tail);
}

// t: the whole row (t.nr = n, t.kc = k >= 1, a contiguous, B rows ldb apart).
template <class A, int NJ, int KV>
void gemv_nt(const TileArgs& t) {
  constexpr int W = static_cast<int>(vf<A>::size);
  static_assert(NJ % W == 0, "NJ is whole vectors of rows");
  if (t.kc <= 0) {  // C = epilogue(0 (+ C))
    for (int j = 0; j < t.nr; j += W) gemv_store<A>(t, vf<A>(0.0f), j, imin(W, t.nr - j));
    return;
  }
  const int kv_all = (t.kc + W - 1) / W;
  const int full_chunks = (kv_all - 1) / KV;  // the last chunk keeps 1..KV vectors
  const int kl = kv_all - full_chunks * KV;
  const int tail = t.kc - (kv_all - 1) * W;
  gemv_nt_pick<A, NJ, KV, KV>(t, kl, full_chunks, tail);
}

// ------------------------------------------------------------ rank-k update (TN, k <= 4)
// C[m x n] (+)= A^T B with k = 1..K rows of A and B, no epilogue: the weight
// gradients at batch 1..4 (dW += x^T dz). Each C row is read and written once:
// the k rows of B for a column block stay in a stack block (L1), the k
// elements of op(A)'s row are broadcast once per row, C streams row by row.
// Row i+1 is loaded before row i's partial last vector is stored: with
// ldc = 30 or 100 that masked store shares a vector's span with row i+1's
// first load, which would otherwise wait for the store to retire (~30
// cycles a row). The broadcast tile spent a tile's set-up on one FMA per
// accumulator. Zen 4, AVX-512, medians of 5: bwdW1 at batch 1 9.8 -> 5.0 us,
// bwdW2 0.30 -> 0.25 us; a tied training step at batch 1 39.6 -> 29.0 us, at
// batch 4 79.6 -> 72.9 us. At k = 5 the tile is faster again (100 x 784).
constexpr int kGerBlockVectors = 8;  // vectors per column block

template <class A, int K, int NV>
__attribute__((noinline)) void f32_ger_tn_block(const TileArgs& t, int j0, int nc,
                                                const float (&bblk)[kGerMaxK][kGerBlockVectors * vf<A>::size]) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  const int n_last = nc - (NV - 1) * W;  // 1..W lanes
  const TailLoad<A> last(n_last);
  const std::ptrdiff_t ldc = t.ldc, cs = t.cs_a;
  const float* a = t.a;
  float* c = t.c + j0;
  const bool load_c = t.load_c;
  const auto load_row_c = [&](const float* row, V (&x)[NV]) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) x[v] = load_c ? load_row<A, NV, true>(row, v, last) : V(0.0f);
  };
  V cur[NV];
  load_row_c(c, cur);
  for (int i = 0;; ++i) {  // t.mr >= 1
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) {
      const V av(a[i + k * cs]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) cur[v] = xsimd::fma(av, V::load_aligned(bblk[k] + v * W), cur[v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) cur[v].store_unaligned(c + v * W);
    if (i + 1 == t.mr) {
      store_n<A>(c + (NV - 1) * W, cur[NV - 1], n_last);
      return;
    }
    V next[NV];
    load_row_c(c + ldc, next);
    store_n<A>(c + (NV - 1) * W, cur[NV - 1], n_last);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) cur[v] = next[v];
    c += ldc;
  }
}

template <class A, int K, int NV>
inline void ger_tn_pick(const TileArgs& t, int j0, int nc, int nv,
                        const float (&bblk)[kGerMaxK][kGerBlockVectors * vf<A>::size]) {
  if constexpr (NV > 1) {
    if (nv < NV) return ger_tn_pick<A, K, NV - 1>(t, j0, nc, nv, bblk);
  }
  f32_ger_tn_block<A, K, NV>(t, j0, nc, bblk);
}

// t: the whole product (t.mr = m, t.nr = n, t.kc = k in [1, kGerMaxK], op(A) = A^T
// with element (i, k) at a[i + k * cs_a], B rows ldb apart, no epilogue).
template <class A>
void ger_tn(const TileArgs& t) {
  using V = vf<A>;
  constexpr int W = static_cast<int>(V::size);
  constexpr int BV = kGerBlockVectors;
  static_assert(kGerMaxK == 4, "one case per k below");
  alignas(64) float bblk[kGerMaxK][BV * W];
  const int kc = imin(t.kc, kGerMaxK);
  for (int j0 = 0; j0 < t.nr; j0 += BV * W) {
    const int nc = imin(BV * W, t.nr - j0);
    const int nv = (nc + W - 1) / W;
    const TailLoad<A> last(nc - (nv - 1) * W);
    for (int k = 0; k < kc; ++k) {  // B's rows for this block, zero padded
      const float* bk = t.b + static_cast<std::ptrdiff_t>(k) * t.ldb + j0;
      for (int v = 0; v < nv - 1; ++v) V::load_unaligned(bk + v * W).store_aligned(bblk[k] + v * W);
      last(bk + (nv - 1) * W).store_aligned(bblk[k] + (nv - 1) * W);
    }
    switch (kc) {
      case 1: ger_tn_pick<A, 1, BV>(t, j0, nc, nv, bblk); break;
      case 2: ger_tn_pick<A, 2, BV>(t, j0, nc, nv, bblk); break;
      case 3: ger_tn_pick<A, 3, BV>(t, j0, nc, nv, bblk); break;
      default: ger_tn_pick<A, 4, BV>(t, j0, nc, nv, bblk); break;
    }
  }
}

}  // namespace mote::kernels::MOTE_KERNEL_TU
