// The BLIS loop nest (JC / PC / IC / JR / IR) around the microkernels of the
// active kernel set. No intrinsics here: kernels/ owns every ISA detail.
#include "gemm/gemm.h"

#include <cstdlib>
#include <cstring>

#include "mote/spec.h"

namespace mote::gemm {

namespace {

using kernels::IsaKernels;
using kernels::TileArgs;

inline int imin(int a, int b) { return a < b ? a : b; }
inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

// Rows of the tile at row ir of m: MR, except that a remainder under half a
// tile is not left alone: the last MR + r rows are split into two tiles
// (m = 32 with MR = 6: 6 6 6 6 4 4, not 6 6 6 6 6 2). A 2-row tile keeps 4
// FMA chains, too few to hide the FMA latency (Zen 3: m = 32 spent ~5% of a
// training step in its 2-row tiles).
inline int tile_rows(int ir, int m, int mr) {
  const int left = m - ir;
  if (left <= mr) return left;
  if (left < 2 * mr && 2 * (left - mr) < mr) return (left + 1) / 2;
  return mr;
}

// Element (i, k) of op(A) and its strides along rows and k.
inline const float* a_at(const GemmProblem& p, int i, int k) {
  return p.op_a == Op::N ? p.a + static_cast<std::ptrdiff_t>(i) * p.lda + k
                         : p.a + static_cast<std::ptrdiff_t>(k) * p.lda + i;
}

TileArgs tile_base(const GemmProblem& p) {
  TileArgs t;
  t.rs_a = p.op_a == Op::N ? p.lda : 1;
  t.cs_a = p.op_a == Op::N ? 1 : p.lda;
  t.ldc = p.ldc;
  t.act = p.ep.act;
  t.dact = p.ep.dact;
  t.ld_dact = p.ep.ld_dact;
  return t;
}

// No epilogue: C (+)= the product and nothing else.
inline bool plain(const GemmProblem& p) {
  return p.ep.bias == nullptr && p.ep.act == Activation::linear && p.ep.dact_y == nullptr && p.ep.colsum == nullptr;
}

// The fused SGD update (gemm_problem.h) over C's rows [i0, i0 + rows),
// columns [j0, j0 + cols): one sgd_swap call where those rows are contiguous.
void apply_update(const IsaKernels& ks, const GemmProblem& p, int i0, int rows, int j0, int cols) {
  const kernels::SgdUpdate& u = p.update;
  const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(i0) * p.ldc + j0;
  unsigned flags = 0;
  if (cols == p.ldc) {
    flags = ks.sgd_swap(u.w + at, p.c + at, u.lr, static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
  } else {
    for (int r = 0; r < rows; ++r) {
      const std::ptrdiff_t o = at + static_cast<std::ptrdiff_t>(r) * p.ldc;
      flags |= ks.sgd_swap(u.w + o, p.c + o, u.lr, static_cast<std::size_t>(cols));
    }
  }
  if (u.flags) *u.flags |= flags;
}

// Rows of C per update block of a packed pass with n columns: ~16 KB of C,
// half an L1, a multiple of 16 rows (whole vectors of the TN tail kernel).
inline int update_rows(int n) {
  const int rows = 4096 / (n > 0 ? n : 1) / 16 * 16;
  return rows < 16 ? 16 : rows;
}

// run_sum's two products when they run one after the other: the update
// (p's) goes with the second, the one that makes C final.
struct UpdateLast {
  GemmProblem first, then;
};
inline UpdateLast update_last(const GemmProblem& p, const GemmProblem& q) {
  UpdateLast r{p, q};
  r.first.update = kernels::SgdUpdate{};
  r.then.update = p.update;
  return r;
}

// Points the tile at C(i, j) and its epilogue operands.
inline void place(TileArgs& t, const GemmProblem& p, int i, int j) {
  t.c = p.c + static_cast<std::ptrdiff_t>(i) * p.ldc + j;
  t.bias = p.ep.bias ? p.ep.bias + j : nullptr;
  t.dact_y = p.ep.dact_y ? p.ep.dact_y + static_cast<std::ptrdiff_t>(i) * p.ep.ld_dact + j : nullptr;
  t.colsum = p.ep.colsum ? p.ep.colsum + j : nullptr;
}

// A last panel of <= 4 columns of A * B (A's rows contiguous along k, B in
// place) on the dot-product tail kernel: x W with n = 100. Returns the number
// of columns it computed (0 where it does not apply).
int nn_tail_columns(const IsaKernels& ks, const GemmProblem& p) {
  const int tail = p.n % ks.nr;
  return ks.tile_nn_tail != nullptr && p.op_a == Op::N && p.op_b == Op::N && tail <= 4 ? tail : 0;
}
// Not inlined: its TileArgs would sit in run_with's frame on every path,
// Cortex-M stacks included, where the kernel does not exist.
#if defined(__GNUC__)
__attribute__((noinline))
#endif
int run_nn_tail(const IsaKernels& ks, const GemmProblem& p) {
  const int tail = nn_tail_columns(ks, p);
  if (tail == 0) return 0;
  TileArgs t = tile_base(p);
  t.kc = p.k;
  t.load_c = p.accumulate;
  t.last = true;
  t.mr = p.m;
  t.nr = tail;
  t.a = a_at(p, 0, 0);
  t.ldb = p.ldb;
  t.b = p.b + (p.n - tail);
  place(t, p, 0, p.n - tail);
  ks.tile_nn_tail(t);
  return tail;
}

// A^T B with k <= kernels::kGerMaxK and no epilogue (weight gradients at
// batch 1..4) as a rank-k update: C's rows streamed once (bwdW1 at batch 1:
// 9.8 -> 5.0 us; generic/gemv_xsimd.h, ger_tn).
// Not inlined, as run_nn_tail: its TileArgs stays out of run_with's frame.
#if defined(__GNUC__)
__attribute__((noinline))
#endif
bool run_ger(const IsaKernels& ks, const GemmProblem& p) {
  if (ks.ger_tn == nullptr || p.op_a != Op::T || p.op_b != Op::N || p.k < 1 || p.k > kernels::kGerMaxK || !plain(p))
    return false;
  TileArgs t = tile_base(p);  // op(A) = A^T: cs_a = lda
  t.nr = p.n;
  t.kc = p.k;
  t.b = p.b;
  t.ldb = p.ldb;
  t.load_c = p.accumulate;
  // With the fused update, C's rows in blocks of ~16 KB, each updated while
  // it is in L1 (at batch 1 the update is a third of a training step).
  const int chunk = p.update.w != nullptr ? update_rows(p.n) : p.m;
  for (int i0 = 0; i0 < p.m; i0 += chunk) {
    t.mr = imin(chunk, p.m - i0);
    t.a = p.a + i0;
    place(t, p, i0, 0);
    ks.ger_tn(t);
    if (p.update.w != nullptr) apply_update(ks, p, i0, t.mr, 0, p.n);
  }
  return true;
}

#if MOTE_GEMM_PACKING
// Floats of a 32 KB L1 data cache (Zen 3 and 4, most Cortex-A).
constexpr std::size_t kL1Floats = 8192;
#endif

// The targets of a fused sigmoid + BCE epilogue (run_sigmoid_bce): row i of
// C against t + i * ldt, dz = (p - t) * scale, the loss added to *sum.
struct BceTarget {
  const float* t;
  int ldt;
  float scale;
  double* sum;
};

// Batches 1..8 and builds without packing: op(B) read where it lies, whole K per tile.
// With `bce` (run_direct_bce: NN, 2 or more rows, no NN tail panel), the
// broadcast tiles' sigmoid + BCE store step.
void run_direct(const IsaKernels& ks, const GemmProblem& p, const BceTarget* bce = nullptr) {
  TileArgs t = tile_base(p);
  t.kc = p.k;
  t.load_c = p.accumulate;
  t.last = true;
  if (bce) {
    t.ld_bce_t = bce->ldt;
    t.bce_scale = bce->scale;
    t.bce_sum = bce->sum;
  }
  if (p.m == 1 && (p.op_b == Op::N || p.op_a == Op::N)) {  // batch 1: the whole row per call
    t.mr = 1;
    t.nr = p.n;
    t.a = a_at(p, 0, 0);
    t.b = p.b;
    t.ldb = p.ldb;
    place(t, p, 0, 0);
    (p.op_b == Op::N ? ks.gemv_nn : ks.gemv_nt)(t);
    return;
  }
  if (p.op_b == Op::N) {
    t.ldb = p.ldb;
    const int n_main = p.n - run_nn_tail(ks, p);
    const auto tile_at = [&](int ir, int mr, int jr) {
      t.mr = mr;
      t.nr = imin(ks.nr, p.n - jr);
      t.a = a_at(p, ir, 0);
      t.b = p.b + jr;
      place(t, p, ir, jr);
      if (bce) t.bce_t = bce->t + static_cast<std::ptrdiff_t>(ir) * bce->ldt + jr;
      ks.tile_direct(t);
    };
    // Panels outer: a panel of B stays in L1 across the row tiles. Rows
    // outer for an A^T beyond L1 (bwdW2 at batch 256: 100 KB): each row
    // tile's A sliver (k lines) comes from L2 once for all the panels (Zen 3,
    // in one process alternated: bwdW2/256 2-7% faster; at batch 32, A in L1,
    // 0-2% slower, so it keeps panels outer). Not in builds without packing
    // (firmware: no data cache on a Cortex-M4; the branch cost its flash).
    bool rows_outer = false;
#if MOTE_GEMM_PACKING
    rows_outer = p.op_a == Op::T && static_cast<std::size_t>(p.k) * static_cast<std::size_t>(p.m) > kL1Floats;
#endif
    if (rows_outer) {
      for (int ir = 0, mr = 0; ir < p.m; ir += mr) {
        mr = tile_rows(ir, p.m, ks.mr);
        for (int jr = 0; jr < n_main; jr += ks.nr) tile_at(ir, mr, jr);
      }
    } else {
      for (int jr = 0; jr < n_main; jr += ks.nr)
        for (int ir = 0, mr = 0; ir < p.m; ir += mr) {
          mr = tile_rows(ir, p.m, ks.mr);
          tile_at(ir, mr, jr);
        }
    }
  } else if (p.op_a == Op::N) {
    t.ldb = p.ldb;
    for (int ir = 0; ir < p.m; ir += ks.dot_mr) {
      t.mr = imin(ks.dot_mr, p.m - ir);
      t.a = a_at(p, ir, 0);
      for (int jr = 0; jr < p.n; jr += ks.dot_nr) {
        t.nr = imin(ks.dot_nr, p.n - jr);
        t.b = p.b + static_cast<std::ptrdiff_t>(jr) * p.ldb;
        place(t, p, ir, jr);
        ks.tile_dot(t);
      }
    }
  } else {
    kernels::gemm_ref(p);  // TT: no layer issues it
  }
}

#if MOTE_GEMM_PACKING
// NN/TN products read B in place (run_with) up to kDirectRowsNN rows of C,
// and up to kDirectRowsL2 rows while op(B) fits kDirectBFloats (512 KB, half
// of Zen 4's 1 MB L2): packing such a B only aligns its rows, which measured
// slower than the copy costs (fwd1 at batch 256, B 784 x 100: 360.7 -> 347.1
// us in place; bwdW2 at batch 32 and 256, m = 100: -3%). With more rows the
// packed path's TN tail kernel pays (bwdW1, m = 784: 6% faster packed).
constexpr int kDirectRowsNN = 64;
constexpr int kDirectRowsL2 = 256;
constexpr std::size_t kDirectBFloats = 128 * 1024;
inline bool nn_tn_in_place(const GemmProblem& p) {
  return p.m <= kDirectRowsNN ||
         (p.m <= kDirectRowsL2 && static_cast<std::size_t>(p.k) * static_cast<std::size_t>(p.n) <= kDirectBFloats);
}

// A packed B block up to this size (256 KB, half of Zen 3's L2) is swept
// whole for each row tile: each A sliver and C row is touched once, B read
// from L1 or L2 in sequence. Above it, BLIS's IC blocks keep a panel in L1
// while MC rows of A stream. Zen 3, the library with 16 KB (an L1 block) and
// with 256 KB, alternated in one process, 2 runs: bwdW1 at K = 64 (the tied
// step's) and 256, fwd4 at batch 128 and 256, fwd1 at 512 packed, each
// 0.3-3% faster with 256 KB.
constexpr std::size_t kSweepBlockFloats = 64 * 1024;

constexpr int kPanelAtATimeRows = 64;

// C = A * B^T with 17..32 rows of A and a plain or bias + act epilogue (the
// tied decoder at batch 32): C^T = B * A^T on tile_tc, B read where it lies,
// only A^T packed (one kc x 32 panel). Returns false when it does not apply.
// With `bce`, the epilogue is sigmoid + BCE (run_sigmoid_bce).
bool run_transposed_c(const IsaKernels& ks, const GemmProblem& p, float* scratch, std::size_t scratch_floats,
                      const BceTarget* bce = nullptr) {
  constexpr int kPanel = 32;
  if (ks.tile_tc == nullptr || p.op_a != Op::N || p.op_b != Op::T || p.m <= kPanel / 2 || p.m > kPanel ||
      p.accumulate || p.ep.dact_y != nullptr || p.ep.colsum != nullptr || p.k < 1 || p.k > ks.kc ||
      static_cast<std::size_t>(p.k) * kPanel > scratch_floats || (bce && p.ep.act != Activation::sigmoid))
    return false;
  kernels::PackArgs pk;  // op(B')(k, i) = A[i][k]: A's rows become the panel's columns
  pk.kc = p.k;
  pk.nc = p.m;
  pk.b = p.a;
  pk.ldb = p.lda;
  pk.op = Op::T;
  pk.dst = scratch;
  ks.pack_b(pk);  // 17..32 columns: one panel of 32 floats a row (AVX-512), two of 16 (AVX2)
  TileArgs t;
  t.kc = p.k;
  t.nr = p.m;
  t.b = scratch;
  t.rs_a = p.ldb;
  t.cs_a = 1;
  t.ldc = p.ldc;
  t.last = true;
  t.act = p.ep.act;
  for (int j = 0; j < p.n; j += ks.tc_rows) {
    t.mr = imin(ks.tc_rows, p.n - j);
    // A full 8-float store per row of C where columns j..j+7 exist: with 6
    // rows of B a call (AVX2), the next call rewrites columns j+6, j+7 (two
    // partial stores per row, ~20% of tile_tc at k = 30, avoided).
    t.wide_store = j + 8 <= p.n;
    t.a = p.b + static_cast<std::ptrdiff_t>(j) * p.ldb;
    place(t, p, 0, j);
    if (bce) {
      t.bce_t = bce->t + j;
      t.ld_bce_t = bce->ldt;
      t.bce_scale = bce->scale;
      t.bce_sum = bce->sum;
    }
    ks.tile_tc(t);
  }
  return true;
}

// Returns false when the scratch cannot hold one KC x NR panel.
// With `second` (run_sum: same C, shapes and layouts, op(A) = A^T, no
// epilogue), its product is added in the same pass: its rows of op(B) are
// packed after p's in the same panels and the tiles read its op(A) as a
// second segment of K; only when both fit one K block (returns false otherwise).
bool run_packed(const IsaKernels& ks, const GemmProblem& p, float* scratch, std::size_t scratch_floats,
                const GemmProblem* second = nullptr) {
  const int NR = ks.nr, MR = ks.mr;
  const int k2 = second ? second->k : 0;
  int nc_max = imin(ks.nc, round_up(p.n, NR));
  // Transposed B with few rows of A (the tied decoder at batch 32): pack one
  // panel at a time into the same scratch, so the panel is written and read
  // in L1 instead of going through L2 (fwd4 at batch 32: 53.3 -> 52.9 us;
  // the transposing pack is still ~15% of that row).
  if (p.op_b == Op::T && p.m <= kPanelAtATimeRows) nc_max = NR;
  int kc_max = imin(ks.kc, p.k + k2);
  const auto fits = [&](int kc, int nc) { return static_cast<std::size_t>(kc) * static_cast<std::size_t>(nc) <= scratch_floats; };
  while (!fits(kc_max, nc_max) && nc_max > NR) nc_max -= NR;
  if (!fits(kc_max, nc_max)) kc_max = static_cast<int>(scratch_floats / static_cast<std::size_t>(nc_max));
  if (kc_max < 1 || (second && kc_max < p.k + k2)) return false;
  const int kblocks = (p.k + kc_max - 1) / kc_max;
  const int kc_bal = (p.k + kblocks - 1) / kblocks;  // balanced K blocks

  TileArgs t = tile_base(p);
  kernels::PackArgs pk;
  pk.ldb = p.ldb;
  pk.op = p.op_b;
  pk.dst = scratch;
  for (int jc = 0; jc < p.n; jc += nc_max) {  // JC
    const int nc = imin(nc_max, p.n - jc);
    for (int pc = 0; pc < p.k; pc += kc_bal) {  // PC
      const int kc = imin(kc_bal, p.k - pc);
      pk.kc = kc;
      pk.nc = nc;
      pk.b = p.op_b == Op::N ? p.b + static_cast<std::ptrdiff_t>(pc) * p.ldb + jc
                             : p.b + static_cast<std::ptrdiff_t>(jc) * p.ldb + pc;
      pk.panel_kc = kc + k2;  // one K block when second
      ks.pack_b(pk);
      if (second) {
        kernels::PackArgs pk2 = pk;
        pk2.kc = k2;
        pk2.k0 = kc;
        pk2.b = second->b + jc;
        pk2.ldb = second->ldb;
        ks.pack_b(pk2);
      }
      t.kc = kc + k2;
      t.kc1 = kc;
      t.load_c = p.accumulate || pc > 0;
      t.last = pc + kc == p.k;
      // A packed block up to kSweepBlockFloats is swept whole for each MR
      // rows of A (the tile loops over the panels: TileArgs::panels).
      // A last panel of <= 4 columns of a plain A^T product (the weight
      // gradients of 100-wide layers) goes to the row-vector tail kernel.
      const int tail = nc % NR;
      const bool tn_tail = ks.tile_tn_tail != nullptr && p.op_a == Op::T && plain(p) && tail > 0 && tail <= 4;
      const int nc_main = tn_tail ? nc - tail : nc;
      const auto run_tail = [&](int i0, int rows) {
        TileArgs u = t;
        u.mr = rows;
        u.nr = tail;
        u.a = a_at(p, i0, pc);
        if (second) u.a2 = a_at(*second, i0, 0);
        u.b = scratch + static_cast<std::ptrdiff_t>(nc_main) * (kc + k2);
        u.ldb = round_up(tail, ks.simd_width);  // pack_b's panel width
        place(u, p, i0, jc + nc_main);
        ks.tile_tn_tail(u);
      };
      // The fused SGD update (p.update) follows each block of C's rows as
      // soon as the last K block has stored it, while it is in L1.
      const bool update = p.update.w != nullptr && t.last;
      if (static_cast<std::size_t>(kc + k2) * static_cast<std::size_t>(round_up(nc, ks.simd_width)) <= kSweepBlockFloats) {
        const int full = nc_main / NR, rest = nc_main % NR;
        const int chunk = update ? update_rows(nc) : p.m;
        for (int i0 = 0; i0 < p.m; i0 += chunk) {
          const int i1 = imin(p.m, i0 + chunk);
          for (int ir = i0; ir < i1; ir += t.mr) {  // IR
            t.mr = tile_rows(ir, i1, MR);
            t.a = a_at(p, ir, pc);
            if (second) t.a2 = a_at(*second, ir, 0);
            if (full > 0) {  // JR
              t.nr = NR;
              t.panels = full;
              t.b = scratch;
              place(t, p, ir, jc);
              ks.tile(t);
              t.panels = 1;
            }
            if (rest > 0) {
              t.nr = rest;
              t.b = scratch + static_cast<std::ptrdiff_t>(full) * NR * (kc + k2);
              place(t, p, ir, jc + full * NR);
              ks.tile(t);
            }
          }
          if (tn_tail) run_tail(i0, i1 - i0);
          if (update) apply_update(ks, p, i0, i1 - i0, jc, nc);
        }
        continue;
      }
      for (int ic = 0; ic < p.m; ic += ks.mc) {  // IC
        const int mc = imin(ks.mc, p.m - ic);
        for (int jr = 0; jr < nc_main; jr += NR) {  // JR
          t.nr = imin(NR, nc - jr);
          t.b = scratch + static_cast<std::ptrdiff_t>(jr) * (kc + k2);
          for (int ir = 0; ir < mc; ir += t.mr) {  // IR
            t.mr = tile_rows(ir, mc, MR);
            t.a = a_at(p, ic + ir, pc);
            if (second) t.a2 = a_at(*second, ic + ir, 0);
            place(t, p, ic + ir, jc + jr);
            ks.tile(t);
          }
        }
        if (tn_tail) run_tail(ic, mc);
        if (update) apply_update(ks, p, ic, mc, jc, nc);
      }
    }
  }
  return true;
}
#endif

bool same_name(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

struct Choice {
  const IsaKernels* set;
  IsaRequest request;
};

const Choice& choice() {
  static const Choice c = [] {
    Choice k{nullptr, IsaRequest::unset};
    k.request = resolve_isa(std::getenv("MOTE_ISA"), &k.set);
    return k;
  }();
  return c;
}

bool g_reference = false;

}  // namespace

IsaRequest resolve_isa(const char* want, const IsaKernels** set) {
  *set = &kernels::best_isa();
  if (want == nullptr || *want == '\0') return IsaRequest::unset;
  int count = 0;
  const IsaKernels* const* sets = kernels::compiled_isas(&count);
  for (int i = 0; i < count; ++i) {
    if (!same_name(sets[i]->name, want)) continue;
    if (!kernels::isa_supported(*sets[i])) return IsaRequest::unsupported;
    *set = sets[i];
    return IsaRequest::honoured;
  }
  return IsaRequest::unknown;
}

IsaRequest isa_request() { return choice().request; }

const char* isa_refusal(IsaRequest r) {
  switch (r) {
    case IsaRequest::unknown: return "not a kernel set of this build";
    case IsaRequest::unsupported: return "this CPU lacks that kernel set's instructions";
    case IsaRequest::unset:
    case IsaRequest::honoured: break;
  }
  return nullptr;
}

const char* runnable_isas() {
  static char names[64] = {};
  if (names[0] == '\0') {
    int count = 0;
    const IsaKernels* const* sets = kernels::compiled_isas(&count);
    std::size_t at = 0;
    for (int i = 0; i < count; ++i) {
      if (!kernels::isa_supported(*sets[i])) continue;
      const std::size_t n = std::strlen(sets[i]->name);
      if (at + n + 2 > sizeof names) break;
      if (at) names[at++] = ' ';
      std::memcpy(names + at, sets[i]->name, n);
      at += n;
    }
  }
  return names;
}

const IsaKernels& active() { return *choice().set; }

namespace {

const IsaKernels& elementwise() { return g_reference ? kernels::scalar_isa() : active(); }

}  // namespace

void use_reference(bool on) { g_reference = on; }

namespace {

// The paths of run_with; returns whether p.update was applied on the way
// (run_packed's blocks), else the caller applies it to the whole of C.
bool run_paths(const IsaKernels& ks, const GemmProblem& p, float* scratch, std::size_t scratch_floats) {
  if (run_ger(ks, p)) return p.update.w != nullptr;
#if MOTE_GEMM_PACKING
  // Packing op(B) pays when B is transposed (the direct NT path is a dot
  // product per element) or when enough row tiles reuse the packed panels
  // (nn_tn_in_place: fwd1 at batch 32 ~10% faster unpacked).
  const bool pack = p.op_b == Op::T ? p.m > kGemmSmallBatch : !nn_tn_in_place(p);
  if (pack && p.k > 0 && scratch != nullptr) {
    if (run_transposed_c(ks, p, scratch, scratch_floats)) return false;
    // The packed nest leaves an NN product's last <= 4 columns to the tail
    // kernel (fwd1 at batch 256: those columns ran on half-empty ymm tiles);
    // C is final only after them, so an update then waits for the end.
    GemmProblem main = p;
    main.n -= nn_tail_columns(ks, p);
    if (main.n != p.n) main.update = kernels::SgdUpdate{};
    if (main.n == 0) {
      run_nn_tail(ks, p);
      return false;
    }
    if (run_packed(ks, main, scratch, scratch_floats)) {
      run_nn_tail(ks, p);
      return main.update.w != nullptr;
    }
  }
#else
  (void)scratch;
  (void)scratch_floats;
#endif
  run_direct(ks, p);
  return false;
}

}  // namespace

void run_with(const IsaKernels& ks, const GemmProblem& p, float* scratch, std::size_t scratch_floats) {
  if (p.m <= 0 || p.n <= 0) return;
  if (!run_paths(ks, p, scratch, scratch_floats) && p.update.w != nullptr) apply_update(ks, p, 0, p.m, 0, p.n);
}


void run_sum_with(const IsaKernels& ks, const GemmProblem& p, const GemmProblem& q, float* scratch,
                  std::size_t scratch_floats) {
  // Two plain A^T B products on the same C (a tied kernel's two shares).
  const bool pair = p.m == q.m && p.n == q.n && p.c == q.c && p.ldc == q.ldc && p.op_a == Op::T && q.op_a == Op::T &&
                    p.op_b == Op::N && q.op_b == Op::N && plain(p) && plain(q);
#if MOTE_GEMM_PACKING
  const bool same = pair && p.lda == q.lda && p.ldb == q.ldb;
  if (same && p.m > kDirectRowsNN && p.k > 0 && q.k > 0 && scratch != nullptr &&
      run_packed(ks, p, scratch, scratch_floats, &q))
    return;  // p.update applied per block of the one pass
#endif
  // Both rank-k (a tied kernel's gradients at batch 1 and 2): their rows of
  // A and B copied side by side, one pass of the rank-k kernel over C
  // instead of two (the same FMA chain per element, so the same bits).
  constexpr int kPairFloats = 2048;  // 8 KB of stack: 2 x (784 + 100) for the tied model
  if (pair && ks.ger_tn != nullptr && p.k >= 1 && q.k >= 1 && p.k + q.k <= kernels::kGerMaxK &&
      (p.k + q.k) * (p.m + p.n) <= kPairFloats) {
    float rows[kPairFloats];
    const int k = p.k + q.k;
    float* a = rows;
    float* b = rows + static_cast<std::ptrdiff_t>(k) * p.m;
    for (int kk = 0; kk < k; ++kk) {
      const GemmProblem& src = kk < p.k ? p : q;
      const int r = kk < p.k ? kk : kk - p.k;
      std::memcpy(a + static_cast<std::ptrdiff_t>(kk) * p.m, src.a + static_cast<std::ptrdiff_t>(r) * src.lda,
                  static_cast<std::size_t>(p.m) * sizeof(float));
      std::memcpy(b + static_cast<std::ptrdiff_t>(kk) * p.n, src.b + static_cast<std::ptrdiff_t>(r) * src.ldb,
                  static_cast<std::size_t>(p.n) * sizeof(float));
    }
    GemmProblem both = p;
    both.k = k;
    both.a = a;
    both.lda = p.m;
    both.b = b;
    both.ldb = p.n;
    run_with(ks, both, scratch, scratch_floats);
    return;
  }
  const auto [first, then] = update_last(p, q);
  run_with(ks, first, scratch, scratch_floats);
  run_with(ks, then, scratch, scratch_floats);  // q.accumulate is set
}

void run_sum(const GemmProblem& p, const GemmProblem& q, float* scratch, std::size_t scratch_floats) {
  if (!g_reference) return run_sum_with(active(), p, q, scratch, scratch_floats);
  const auto [first, then] = update_last(p, q);
  kernels::gemm_ref(first);
  kernels::gemm_ref(then);
}

// A * B with B in place and a sigmoid + BCE epilogue (a Dense output layer,
// x W) where run_with takes the direct path: the broadcast tiles' store step
// computes dz and the loss, as tile_tc's does for x W^T, instead of a pass of
// bce_sigmoid_row (two logs per element) over C. Returns false when it does
// not apply: no such store step in the set, another layout, an epilogue
// beyond bias + sigmoid, a last panel for the NN tail kernel, batch 1 (the
// GEMV path), or a B that run_with would pack.
bool run_direct_bce(const IsaKernels& ks, const GemmProblem& p, float* scratch, const BceTarget& bce) {
  if (!ks.direct_bce || p.op_a != Op::N || p.op_b != Op::N || p.m < 2 || p.n < 1 || p.k < 1 || p.accumulate ||
      p.ep.act != Activation::sigmoid || p.ep.dact_y != nullptr || p.ep.colsum != nullptr || p.update.w != nullptr ||
      nn_tail_columns(ks, p) != 0)
    return false;
#if MOTE_GEMM_PACKING
  if (scratch != nullptr && !nn_tn_in_place(p)) return false;
#else
  (void)scratch;
#endif
  run_direct(ks, p, &bce);
  return true;
}

// The unfused loss: bce_sigmoid_row over C's rows (p, turned into dz in place).
static double bce_rows(const IsaKernels& ks, const GemmProblem& p, const float* t, int ldt, float scale) {
  double sum = 0.0;
  for (int i = 0; i < p.m; ++i) {
    float* c = p.c + static_cast<std::ptrdiff_t>(i) * p.ldc;
    sum += ks.bce_sigmoid_row(c, t + static_cast<std::ptrdiff_t>(i) * ldt, c, p.n, scale);
  }
  return sum;
}

double run_sigmoid_bce_with(const IsaKernels& ks, const GemmProblem& p, const float* t, int ldt, float scale,
                            float* scratch, std::size_t scratch_floats) {
  double sum = 0.0;
  // Rows [i0, i0 + rows) of p: through the C^T kernel where it takes them
  // (17..32 rows: the loss in its store step) or the direct broadcast tiles
  // (x W, run_direct_bce) take them, else the GEMM's logits then
  // bce_logits_row (every SIMD set) or its output then bce_rows (scalar).
  const auto rows_from = [&](int i0, int rows) {
    GemmProblem q = p;
    q.m = rows;
    q.a = p.a + static_cast<std::ptrdiff_t>(i0) * p.lda;
    q.c = p.c + static_cast<std::ptrdiff_t>(i0) * p.ldc;
    const float* tq = t + static_cast<std::ptrdiff_t>(i0) * ldt;
    const BceTarget bce{tq, ldt, scale, &sum};
#if MOTE_GEMM_PACKING
    if (q.m > 0 && q.n > 0 && scratch != nullptr && run_transposed_c(ks, q, scratch, scratch_floats, &bce)) return;
#endif
    if (run_direct_bce(ks, q, scratch, bce)) return;
    if (ks.bce_logits_row != nullptr) {  // the logits, then the loss from them
      q.ep.act = Activation::linear;
      run_with(ks, q, scratch, scratch_floats);
      for (int i = 0; i < q.m; ++i) {
        float* c = q.c + static_cast<std::ptrdiff_t>(i) * q.ldc;
        sum += ks.bce_logits_row(c, tq + static_cast<std::ptrdiff_t>(i) * ldt, c, q.n, scale);
      }
      return;
    }
    run_with(ks, q, scratch, scratch_floats);
    sum += bce_rows(ks, q, tq, ldt, scale);
  };
  // Batches above 32 rows: balanced blocks of up to 32 rows, so the loss
  // stays in the store step there too (fwd4 + BCE at batch 256 ~6% faster
  // than the packed GEMM followed by bce_sigmoid_row, Zen 4); a block the
  // C^T kernel refuses (16 of 33 rows) runs unfused.
  const bool split = MOTE_GEMM_PACKING && p.m > 32 && p.n > 0 && scratch != nullptr && ks.tile_tc != nullptr;
  const int blocks = split ? (p.m + 31) / 32 : 1;
  for (int b = 0, i0 = 0; b < blocks; ++b) {
    const int rows = p.m / blocks + (b < p.m % blocks ? 1 : 0);
    rows_from(i0, rows);
    i0 += rows;
  }
  return sum;
}

double run_sigmoid_bce(const GemmProblem& p, const float* t, int ldt, float scale, float* scratch,
                       std::size_t scratch_floats) {
  if (!g_reference) return run_sigmoid_bce_with(active(), p, t, ldt, scale, scratch, scratch_floats);
  kernels::gemm_ref(p);
  return bce_rows(kernels::scalar_isa(), p, t, ldt, scale);
}

void run(const GemmProblem& p, float* scratch, std::size_t scratch_floats) {
  if (g_reference) {
    kernels::gemm_ref(p);
    return;
  }
  run_with(active(), p, scratch, scratch_floats);
}

const char* active_isa() { return active().name; }

float bce_sigmoid_row(const float* y, const float* t, float* dz, int n, float scale) {
  return elementwise().bce_sigmoid_row(y, t, dz, n, scale);
}
bool sgd_update(float* w, const float* g, float lr, std::size_t n) { return elementwise().sgd(w, g, lr, n); }
bool all_finite(const float* x, std::size_t n) { return elementwise().all_finite(x, n); }
void u8_to_f32(const uint8_t* src, float* dst, std::size_t n) { elementwise().u8_to_f32(src, dst, n); }

}  // namespace mote::gemm
