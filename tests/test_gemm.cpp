// Every compiled kernel set against the plain oracle kernels::gemm_ref, over
// shape sweeps around the tiles, strided / transposed / accumulating operands,
// every epilogue, three scratch sizes (packed with one K block, packed with
// many small K blocks, none = the direct small-batch path) and the model's
// own shapes. A set this CPU lacks is skipped with a visible MESSAGE.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gemm/gemm.h"
#include "kernels/activation.h"
#include "kernels/gemm_kernels.h"
#include "kernel_sets.h"
#include "mote/spec.h"

namespace {

using mote::Activation;
using mote::gemm::GemmProblem;
using mote::gemm::Op;
using mote::kernels::IsaKernels;

constexpr double kU = FLT_EPSILON / 2;  // unit roundoff of float

struct Case {
  int m, n, k;
  Op op_a, op_b;
  int pad_a = 0, pad_b = 0, pad_c = 0;  // extra leading dimension (strided operands)
  bool accumulate = false;
  int epilogue = 0;  // index into kEpilogues
};

struct EpSpec {
  bool bias;
  Activation act;
  bool dact;
  Activation dact_act;
  bool colsum;
  const char* name;
};
constexpr EpSpec kEpilogues[] = {
    {false, Activation::linear, false, Activation::linear, false, "none"},
    {true, Activation::selu, false, Activation::linear, false, "bias+selu"},
    {true, Activation::sigmoid, false, Activation::linear, false, "bias+sigmoid"},
    {true, Activation::linear, false, Activation::linear, false, "bias"},
    {false, Activation::linear, true, Activation::selu, true, "dselu+colsum"},
    {false, Activation::linear, true, Activation::sigmoid, true, "dsigmoid+colsum"},
    {false, Activation::linear, true, Activation::linear, true, "colsum"},
    {false, Activation::selu, false, Activation::linear, true, "selu+colsum"},
};
constexpr int kNumEpilogues = static_cast<int>(sizeof(kEpilogues) / sizeof(kEpilogues[0]));

// Operands of one case, filled from a seeded generator.
struct Operands {
  std::vector<float> a, b, c0, bias, y, colsum0;
  int lda, ldb, ldc;
};

Operands make_operands(const Case& cs, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Operands o;
  const int a_rows = cs.op_a == Op::N ? cs.m : cs.k, a_cols = cs.op_a == Op::N ? cs.k : cs.m;
  const int b_rows = cs.op_b == Op::N ? cs.k : cs.n, b_cols = cs.op_b == Op::N ? cs.n : cs.k;
  o.lda = a_cols + cs.pad_a;
  o.ldb = b_cols + cs.pad_b;
  o.ldc = cs.n + cs.pad_c;
  o.a.resize(static_cast<std::size_t>(a_rows) * o.lda);
  o.b.resize(static_cast<std::size_t>(b_rows) * o.ldb);
  o.c0.resize(static_cast<std::size_t>(cs.m) * o.ldc);
  o.bias.resize(static_cast<std::size_t>(cs.n));
  o.y.resize(static_cast<std::size_t>(cs.m) * o.ldc);
  o.colsum0.resize(static_cast<std::size_t>(cs.n));
  for (float& x : o.a) x = u(rng);
  for (float& x : o.b) x = u(rng);
  for (float& x : o.c0) x = u(rng);
  for (float& x : o.bias) x = u(rng);
  for (float& x : o.colsum0) x = u(rng);
  // Stored outputs of the previous layer: in the activation's range.
  const Activation da = kEpilogues[cs.epilogue].dact_act;
  for (float& x : o.y) {
    const float v = 3.0f * u(rng);
    x = mote::kernels::activate(da, v);
  }
  return o;
}

GemmProblem problem(const Case& cs, Operands& o, float* c, float* colsum) {
  const EpSpec& e = kEpilogues[cs.epilogue];
  GemmProblem p;
  p.m = cs.m;
  p.n = cs.n;
  p.k = cs.k;
  p.op_a = cs.op_a;
  p.a = o.a.data();
  p.lda = o.lda;
  p.op_b = cs.op_b;
  p.b = o.b.data();
  p.ldb = o.ldb;
  p.c = c;
  p.ldc = o.ldc;
  p.accumulate = cs.accumulate;
  if (e.bias) p.ep.bias = o.bias.data();
  p.ep.act = e.act;
  if (e.dact) {
    p.ep.dact_y = o.y.data();
    p.ep.ld_dact = o.ldc;
    p.ep.dact = e.dact_act;
  }
  if (e.colsum) p.ep.colsum = colsum;
  return p;
}

// Error bound of one element, derived from the arithmetic (Higham, Accuracy and
// Stability, 3.1): a dot product of k terms summed in any order and with or
// without FMA is within k*u*S of the exact value, S = sum |a_ik b_kj| (+ |C0|
// + |bias|, two more terms). The oracle and the kernel are each that close, so
// they differ by at most 2*(k+2)*u*S. Then:
//   act: |selu'| <= lambda*alpha = 1.76, |sigmoid'| <= 1/4, and the vector
//        activation's own error is <= 3 ulp of the result (see vmath.h);
//   * act'(Y): |act'| <= 1.76 and the derivative itself rounds once or twice;
//   colsum: the sum over m rows of the per-element bounds, plus the rounding
//        of m recursive additions, each within u*|partial sum| <= u*(|colsum0|
//        + sum|v|): m*u*(|colsum0| + sum|v|) in all.
// The factor 2 on top covers second-order terms. FLT_MIN covers underflow.
struct Bound {
  std::vector<double> elem;  // per C element
  std::vector<double> col;   // per colsum entry
};

Bound bounds(const Case& cs, const Operands& o, const std::vector<float>& ref_c) {
  const EpSpec& e = kEpilogues[cs.epilogue];
  Bound bd;
  bd.elem.assign(static_cast<std::size_t>(cs.m) * cs.n, 0.0);
  bd.col.assign(static_cast<std::size_t>(cs.n), 0.0);
  for (int i = 0; i < cs.m; ++i) {
    for (int j = 0; j < cs.n; ++j) {
      double s = 0.0;
      for (int kk = 0; kk < cs.k; ++kk) {
        const float a = cs.op_a == Op::N ? o.a[i * o.lda + kk] : o.a[kk * o.lda + i];
        const float b = cs.op_b == Op::N ? o.b[kk * o.ldb + j] : o.b[j * o.ldb + kk];
        s += std::fabs(static_cast<double>(a) * b);
      }
      if (cs.accumulate) s += std::fabs(o.c0[i * o.ldc + j]);
      if (e.bias) s += std::fabs(o.bias[j]);
      double err = 2.0 * (cs.k + 2) * kU * s;
      const double r = std::fabs(ref_c[i * o.ldc + j]);
      if (e.act != Activation::linear) err = 1.76 * err + 8.0 * kU * r;
      if (e.dact) err = 1.76 * err + 8.0 * kU * r;
      err = 2.0 * err + FLT_MIN;
      bd.elem[i * cs.n + j] = err;
      bd.col[j] += err + 2.0 * cs.m * kU * r;
    }
  }
  for (int j = 0; j < cs.n; ++j)
    bd.col[j] = 2.0 * (bd.col[j] + 2.0 * cs.m * kU * std::fabs(o.colsum0[j])) + FLT_MIN;
  return bd;
}

// NaN-safe: a NaN on either side fails unless both are NaN.
bool within(double got, double want, double tol) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
  return std::fabs(got - want) <= tol;
}

enum class ScratchKind { planned, tiny, none };
const char* scratch_name(ScratchKind s) {
  return s == ScratchKind::planned ? "planned" : s == ScratchKind::tiny ? "tiny" : "none";
}

// One case's operands with the oracle's result and its error bounds: computed
// once and checked against every kernel set and scratch size (the oracle and
// the bounds cost more than the kernels, most of all under emulation).
struct Expected {
  Operands o;
  std::vector<float> c, colsum;
  Bound bd;
  uint64_t seed;
};

Expected expect(const Case& cs, uint64_t seed) {
  Expected x{make_operands(cs, seed), {}, {}, {}, seed};
  x.c = x.o.c0;
  x.colsum = x.o.colsum0;
  mote::kernels::gemm_ref(problem(cs, x.o, x.c.data(), x.colsum.data()));
  x.bd = bounds(cs, x.o, x.c);
  return x;
}

// Runs one case on one kernel set and returns the number of mismatches (the
// first few are printed with the seed).
int check_case(const IsaKernels& ks, const Case& cs, Expected& x, ScratchKind sk) {
  Operands& o = x.o;
  const uint64_t seed = x.seed;
  const EpSpec& e = kEpilogues[cs.epilogue];
  std::vector<float> ref_c = x.c, got_c = o.c0;
  const std::vector<float>& ref_cs = x.colsum;
  std::vector<float> got_cs = o.colsum0;

  std::vector<float> scratch;
  if (sk == ScratchKind::planned) {
    const int dim = cs.m > cs.n ? (cs.m > cs.k ? cs.m : cs.k) : (cs.n > cs.k ? cs.n : cs.k);
    scratch.assign(mote::gemm_scratch_floats(dim > 9 ? dim : 9, dim), -7.0f);
  } else if (sk == ScratchKind::tiny) {
    scratch.assign(static_cast<std::size_t>(ks.nr) * 5, -7.0f);  // K blocks of 5, one panel
  }
  // Poison what the kernel may write but must not read first.
  if (!cs.accumulate)
    for (float& v : got_c) v = std::nanf("");
  // Keep the padding of C: it must come back untouched.
  for (int i = 0; i < cs.m; ++i)
    for (int j = cs.n; j < o.ldc; ++j) got_c[i * o.ldc + j] = ref_c[i * o.ldc + j] = 12345.0f;
  mote::gemm::run_with(ks, problem(cs, o, got_c.data(), got_cs.data()), scratch.empty() ? nullptr : scratch.data(),
                       scratch.size());

  const Bound& bd = x.bd;
  int bad = 0;
  for (int i = 0; i < cs.m; ++i) {
    for (int j = 0; j < o.ldc; ++j) {
      const float g = got_c[i * o.ldc + j], r = ref_c[i * o.ldc + j];
      const bool ok = j < cs.n ? within(g, r, bd.elem[i * cs.n + j]) : g == r;
      if (!ok && ++bad <= 3)
        MESSAGE(std::string(ks.name), " ", cs.m, "x", cs.n, "x", cs.k, " op ", cs.op_a == Op::N ? "N" : "T",
                cs.op_b == Op::N ? "N" : "T", " ld ", o.lda, "/", o.ldb, "/", o.ldc, " acc ", cs.accumulate, " ep ",
                std::string(e.name), " scratch ", std::string(scratch_name(sk)), " seed ", seed, ": C[", i, "][", j, "] = ", g, " want ", r,
                " tol ", j < cs.n ? bd.elem[i * cs.n + j] : 0.0);
    }
  }
  if (e.colsum)
    for (int j = 0; j < cs.n; ++j)
      if (!within(got_cs[j], ref_cs[j], bd.col[j]) && ++bad <= 3)
        MESSAGE(std::string(ks.name), " ", cs.m, "x", cs.n, "x", cs.k, " ep ", std::string(e.name), " scratch ", std::string(scratch_name(sk)), " seed ",
                seed, ": colsum[", j, "] = ", got_cs[j], " want ", ref_cs[j], " tol ", bd.col[j]);
  return bad;
}

// Case number i of a sweep: strided operands, accumulation and the epilogue
// cycle with i.
Case varied(Case cs, int i) {
  cs.pad_a = i % 3 == 0 ? 3 : 0;
  cs.pad_b = i % 4 == 1 ? 5 : 0;
  cs.pad_c = i % 5 == 2 ? 7 : 0;
  cs.accumulate = i % 7 == 6;
  cs.epilogue = i % kNumEpilogues;
  return cs;
}

uint64_t base_seed() {
  static const uint64_t s = [] {
    // MOTE_TEST_SEED replays a printed base seed.
    uint64_t v = 0;
    if (const char* env = std::getenv("MOTE_TEST_SEED")) {
      v = std::strtoull(env, nullptr, 10);
    } else {
      std::random_device rd;
      v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    }
    std::printf("test_gemm: base seed %llu\n", static_cast<unsigned long long>(v));
    return v;
  }();
  return s;
}

int run_sweep(const std::vector<Case>& cases) {
  int bad = 0;
  uint64_t n = 0;
  const std::vector<const IsaKernels*> sets = mote::test::testable_kernel_sets();
  for (const Case& cs : cases) {
    Expected x = expect(cs, base_seed() + n++);
    for (const IsaKernels* ks : sets)
      for (ScratchKind sk : {ScratchKind::planned, ScratchKind::tiny, ScratchKind::none})
        bad += check_case(*ks, cs, x, sk);
  }
  return bad;
}

}  // namespace

TEST_CASE("kernel sets: the compiled ones are listed, the active one is supported") {
  int count = 0;
  const IsaKernels* const* sets = mote::kernels::compiled_isas(&count);
  REQUIRE(count >= 1);
  std::string names;
  for (int i = 0; i < count; ++i) names += std::string(sets[i]->name) + (mote::kernels::isa_supported(*sets[i]) ? " " : "(unsupported) ");
  MESSAGE("compiled kernel sets: ", names, "- active: ", std::string(mote::gemm::active_isa()));
  CHECK(mote::kernels::isa_supported(mote::gemm::active()));
  CHECK(std::string(sets[count - 1]->name) == "scalar");
  for (int i = 0; i < count; ++i) {
    CHECK(sets[i]->mr <= mote::kGemmLimits.mr);
    CHECK(sets[i]->nr <= mote::kGemmLimits.nr);
    CHECK(sets[i]->kc <= mote::kGemmLimits.kc);
    CHECK(sets[i]->nc <= mote::kGemmLimits.nc);
  }
}

TEST_CASE("MOTE_ISA: a runnable set is honoured, anything else keeps the best set and says why") {
  using mote::gemm::IsaRequest;
  using mote::gemm::resolve_isa;
  const IsaKernels& best = mote::kernels::best_isa();
  const IsaKernels* set = nullptr;
  CHECK(resolve_isa(nullptr, &set) == IsaRequest::unset);
  CHECK(set == &best);
  CHECK(resolve_isa("", &set) == IsaRequest::unset);
  CHECK(set == &best);
  for (const char* bad : {"bogus", "avx", "avx5120", "scalar ", "SCALAR"}) {
    set = nullptr;
    CHECK_MESSAGE(resolve_isa(bad, &set) == IsaRequest::unknown, bad);
    CHECK(set == &best);
  }
  int count = 0;
  const IsaKernels* const* sets = mote::kernels::compiled_isas(&count);
  std::string runnable;
  for (int i = 0; i < count; ++i) {
    const bool runs = mote::kernels::isa_supported(*sets[i]);
    set = nullptr;
    CHECK(resolve_isa(sets[i]->name, &set) == (runs ? IsaRequest::honoured : IsaRequest::unsupported));
    CHECK(set == (runs ? sets[i] : &best));
    if (!runs) continue;
    if (!runnable.empty()) runnable += ' ';
    runnable.append(sets[i]->name);
  }
  CHECK(runnable == mote::gemm::runnable_isas());
  // This process: MOTE_ISA as the test runs it (CI leaves it unset).
  const char* env = std::getenv("MOTE_ISA");
  CHECK(mote::gemm::isa_request() == resolve_isa(env, &set));
  CHECK(set == &mote::gemm::active());
}

TEST_CASE("gemm: small shapes 1..10 around the tiles, every layout and epilogue") {
  std::vector<Case> cases;
  const Op ops[3][2] = {{Op::N, Op::N}, {Op::N, Op::T}, {Op::T, Op::N}};
  int e = 0;
  for (int m = 1; m <= 10; ++m)
    for (int n = 1; n <= 10; ++n)
      for (int k : {1, 2, 3, 7, 10})
        for (const auto& op : ops) {
          Case cs{m, n, k, op[0], op[1]};
          cs.accumulate = (m + n + k) % 2 == 0;
          cs.epilogue = e++ % kNumEpilogues;
          cases.push_back(cs);
        }
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: 2^k and 2^k +- 1, m < MR, n > NR, strided") {
  std::vector<Case> cases;
  const Op ops[3][2] = {{Op::N, Op::N}, {Op::N, Op::T}, {Op::T, Op::N}};
  // 257 rows: NN/TN packed (up to 256 rows they read a B this small in place).
  const int ms[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 257};
  const int ns[] = {1, 5, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 63, 65, 97, 129};
  const int ks[] = {1, 4, 15, 16, 17, 33, 64};
  int e = 0, i = 0;
  for (int m : ms)
    for (int n : ns)
      for (const auto& op : ops) {
        Case cs{m, n, ks[i++ % 7], op[0], op[1]};
        cs.pad_a = i % 3 == 0 ? 3 : 0;
        cs.pad_b = i % 4 == 1 ? 5 : 0;
        cs.pad_c = i % 5 == 2 ? 7 : 0;
        cs.accumulate = i % 2 == 0;
        cs.epilogue = e++ % kNumEpilogues;
        cases.push_back(cs);
      }
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: k around KC and NC blocks") {
  std::vector<Case> cases;
  const Op ops[3][2] = {{Op::N, Op::N}, {Op::N, Op::T}, {Op::T, Op::N}};
  int e = 0;
  for (int k : {255, 256, 257, 511, 513})
    for (const auto& op : ops) {
      Case cs{17, 53, k, op[0], op[1]};
      cs.accumulate = k % 2 == 1;
      cs.epilogue = e++ % kNumEpilogues;
      cases.push_back(cs);
    }
  for (int n : {383, 384, 385, 769})
    for (const auto& op : ops) {
      Case cs{12, n, 20, op[0], op[1]};
      cs.pad_c = 1;
      cs.epilogue = e++ % kNumEpilogues;
      cases.push_back(cs);
    }
  // 65..256 rows with op(B) beyond 128 Ki floats: NN/TN packed, K and N in blocks.
  // K = 256 in one block by 384 columns: a packed block beyond the 64 Ki
  // floats run_packed sweeps whole per row tile, so its IC blocks (128 + 12 rows) run.
  for (const auto& op : ops)
    for (const int k : {513, 256}) {
      Case cs{k == 256 ? 140 : 70, k == 256 ? 520 : 385, k, op[0], op[1]};
      cs.accumulate = true;
      cs.epilogue = e++ % kNumEpilogues;
      cases.push_back(cs);
    }
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: batch 1 (GEMV kernels): k over several register chunks, n over several column blocks") {
  std::vector<Case> cases;
  const Op ops[3][2] = {{Op::N, Op::N}, {Op::N, Op::T}, {Op::T, Op::N}};
  int e = 0, i = 0;
  for (int k : {0, 1, 47, 48, 49, 127, 128, 129, 200, 257, 784})
    for (int n : {1, 100, 129, 385, 784})
      for (const auto& op : ops) {
        Case cs{1, n, k, op[0], op[1]};
        cs.pad_a = i % 3 == 0 ? 3 : 0;
        cs.pad_b = i % 4 == 1 ? 5 : 0;
        cs.accumulate = i++ % 2 == 0;
        cs.epilogue = e++ % kNumEpilogues;
        cases.push_back(cs);
      }
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: weight-gradient tails, n = 48j + 1..4 with A^T, every row remainder") {
  // AVX-512 and AVX2 (NR 48 and 16: both leave 1..4 columns here) run these
  // last columns on the row-vector tail kernel (2 row vectors per step, then
  // a masked remainder), only without an epilogue, in the packed nest: above
  // 256 rows for a B this small (66: in place).
  std::vector<Case> cases;
  int i = 0;
  for (int m : {66, 257, 271, 288, 292, 784})  // remainders mod 32: 2, 1, 15, 0, 4, 16
    for (int n : {49, 50, 51, 52, 100, 148})
      for (int k : {1, 7, 32}) {
        Case cs{m, n, k, Op::T, Op::N};
        cs.accumulate = i % 2 == 0;
        cs.pad_a = i % 3 == 0 ? 3 : 0;
        cs.pad_b = i % 4 == 1 ? 5 : 0;
        cs.pad_c = i % 5 == 2 ? 7 : 0;
        ++i;
        cases.push_back(cs);
      }
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: weight gradients at batch 1..4 (A^T B, k <= 4): the rank-k update, every column block") {
  // Without an epilogue these run as a rank-k update that streams C's rows
  // (ger_tn: column blocks of 8 vectors, each row's partial last vector
  // stored after the next row is loaded); k = 5 and the epilogue cases check
  // the tile path beside it.
  std::vector<Case> cases;
  int i = 0;
  for (int m : {1, 2, 7, 30, 100, 784})
    for (int n : {1, 15, 16, 17, 30, 64, 100, 129, 130, 257, 784})
      for (int k : {1, 2, 3, 4, 5}) {
        if (m == 784 && n != 100 && n != 257) continue;  // the model's row count, 1 and 3 column blocks
        Case cs{m, n, k, Op::T, Op::N};
        cs.accumulate = i % 2 == 0;
        cs.pad_a = i % 3 == 0 ? 3 : 0;
        cs.pad_b = i % 4 == 1 ? 5 : 0;
        cs.pad_c = i % 5 == 2 ? 7 : 0;
        cs.epilogue = i % 4 == 3 ? 1 + i % (kNumEpilogues - 1) : 0;
        ++i;
        cases.push_back(cs);
      }
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: NN products with n = 48j + 1..4: the dot-product tail, every epilogue, k over its chunks") {
  // AVX-512 and AVX2 compute the last <= 4 columns of an NN product as dot products
  // on a transposed copy of those columns, 1024 values of k at a time
  // (k = 1025, 2100: C re-read between chunks, epilogue on the last); above
  // 256 rows the packed nest computes the other columns.
  std::vector<Case> cases;
  int i = 0;
  for (int m : {2, 3, 5, 8, 13, 32, 64, 65, 257})
    for (int n : {1, 4, 49, 50, 52, 100})
      for (int k : {1, 3, 5, 17, 784, 1025, 2100}) {
        if (m > 64 && (k == 3 || k == 17 || k == 2100 || (m == 257 && k >= 784))) continue;
        cases.push_back(varied({m, n, k, Op::N, Op::N}, i++));
      }
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: A * B^T with 17..32 rows of A, C computed transposed (every epilogue, k to 2 KC)") {
  // AVX-512 and AVX2 take the C^T = B * A^T kernel for 17..32 rows, one K
  // block, and a bias/activation epilogue (8 and 6 rows of B per call; AVX2
  // packs A^T as a 16-column panel and a second one 8 (m <= 24) or 16 wide);
  // the rest of these cases check the fallbacks.
  std::vector<Case> cases;
  int i = 0;
  for (int m : {17, 24, 31, 32})
    for (int n : {1, 7, 8, 9, 30, 100, 783})
      for (int k : {1, 30, 100, 256, 300}) {
        cases.push_back(varied({m, n, k, Op::N, Op::T}, i++));
      }
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: the model's shapes with their epilogues (fwd1..bwdW2, dx)") {
  std::vector<Case> cases;
  for (int b : {1, 2, 7, 8, 9, 32, 256}) {
    cases.push_back({b, 100, 784, Op::N, Op::N, 0, 0, 0, false, 1});  // fwd1 +b selu
    cases.push_back({b, 30, 100, Op::N, Op::N, 0, 0, 0, false, 1});   // fwd2
    cases.push_back({b, 100, 30, Op::N, Op::T, 0, 0, 0, false, 1});   // fwd3 tied
    cases.push_back({b, 784, 100, Op::N, Op::T, 0, 0, 0, false, 2});  // fwd4 tied, sigmoid
    cases.push_back({784, 100, b, Op::T, Op::N, 0, 0, 0, true, 0});   // bwdW1 dW += x^T dz
    cases.push_back({100, 30, b, Op::T, Op::N, 0, 0, 0, true, 0});    // bwdW2
    cases.push_back({b, 100, 784, Op::N, Op::N, 0, 0, 0, false, 4});  // dx = dz Wp, dselu + colsum
    cases.push_back({b, 100, 30, Op::N, Op::T, 0, 0, 0, false, 4});   // dx = dz W^T
  }
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: k = 0 applies the epilogue to C or 0") {
  std::vector<Case> cases;
  for (int e = 0; e < kNumEpilogues; ++e) cases.push_back({5, 9, 0, Op::N, Op::N, 0, 0, 0, e % 2 == 1, e});
  for (int e = 0; e < kNumEpilogues; ++e) cases.push_back({12, 9, 0, Op::N, Op::T, 0, 0, 0, e % 2 == 0, e});
  CHECK(run_sweep(cases) == 0);
}

TEST_CASE("gemm: sigmoid + BCE fused into the store step: dz as the unfused path, the loss from the logits") {
  // run_sigmoid_bce_with takes the C^T kernel (AVX2, AVX-512) for 17..32 rows of
  // A * B^T (the tied decoder at batch 32), for more rows in balanced blocks
  // of them (33: 17 + 16, the second block unfused); the direct broadcast
  // tiles (every SIMD set) for A * B with 2 or more rows, B in place and no
  // last panel for the NN tail kernel (a Dense output layer); elsewhere the
  // GEMM's logits + bce_logits_row (SIMD sets) or the GEMM +
  // bce_sigmoid_row (scalar). dz must be bit-identical to the unfused path of the same
  // kernel set (the same sigmoid, the same (p - t) * scale, the same clip
  // decision on p). The loss is checked against the exact BCE of the logits
  // in double (softplus form inside the clip, the clipped terms outside, the
  // clip decided on the kernel's float p): per element, the logit's rounding
  // (k + 2) u S (S = sum |a b| + |bias|) times |d term / d z| = |p - t| <= 1,
  // the log of a product of <= 8 factors (8 u) and its 0.82 ulp of <= log 256,
  // and the float sums of a tile (8 u |term|). The unfused loss is not the
  // reference: it takes log(1 - p) after p rounded, off by up to ~0.7 per
  // element just below the upper clip, where the fused form is exact.
  std::mt19937_64 rng(base_seed());
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const double lo_t0 = -std::log(static_cast<double>(1.0f - 1e-7f)), lo_t1 = -std::log(static_cast<double>(1e-7f));
  const double hi_t0 = -std::log(static_cast<double>(1.0f - (1.0f - 1e-7f))), hi_t1 = lo_t0;
  int bad = 0, fused_nn = 0, logits_rows = 0, direct_bce_sets = 0;
  for (const IsaKernels* ks : mote::test::testable_kernel_sets()) {
    direct_bce_sets += ks->direct_bce ? 1 : 0;
    for (Op ob : {Op::T, Op::N})
    for (int m : {1, 2, 8, 17, 24, 32, 33, 64, 100})
      for (int n : {1, 9, 100, 784})
        for (int k : {1, 30, 100}) {
          Case cs{m, n, k, Op::N, ob};
          cs.epilogue = 2;  // bias + sigmoid
          Operands o = make_operands(cs, rng());
          // Some logits far out on both sides: the clip is active there.
          for (int j = 0; j < n; j += 7) o.bias[j] = (j % 2 ? 1.0f : -1.0f) * (14.0f + static_cast<float>(j % 5));
          std::vector<float> t(static_cast<std::size_t>(m) * n);
          for (std::size_t i = 0; i < t.size(); ++i) t[i] = i % 5 == 0 ? static_cast<float>(i % 2) : 0.5f * (u(rng) + 1.0f);
          std::vector<float> fused(o.c0), plain(o.c0);
          std::vector<float> scratch(mote::gemm_scratch_floats(784, 784), -7.0f);
          const float scale = 1.0f / static_cast<float>(m * n);
          const double got = mote::gemm::run_sigmoid_bce_with(*ks, problem(cs, o, fused.data(), nullptr), t.data(), n,
                                                               scale, scratch.data(), scratch.size());
          // The unfused path: the logits over the fused path's row blocks
          // (above 32 rows: balanced blocks of up to 32), so that each block's
          // logits come from the same kernel (tile_tc or not) on both sides
          // (across kernels they may differ in the last bit: seen in the -O1
          // sanitizer build, where the compiler fuses other products), then
          // the set's own sigmoid over each row. Not the GEMM's sigmoid store
          // step: a narrow last panel takes it on half-width vectors, and the
          // -O1 sanitizer build compiles the AVX-512 and the AVX2 exp to
          // results 1 ulp apart on ~1% of inputs (at -O3 they agree).
          const int blocks = ks->tile_tc != nullptr && m > 32 ? (m + 31) / 32 : 1;
          for (int b = 0, i0 = 0; b < blocks; ++b) {
            mote::gemm::GemmProblem pb = problem(cs, o, plain.data(), nullptr);
            pb.m = m / blocks + (b < m % blocks ? 1 : 0);
            pb.a += static_cast<std::ptrdiff_t>(i0) * o.lda;
            pb.c += static_cast<std::ptrdiff_t>(i0) * o.ldc;
            pb.ep.act = Activation::linear;
            mote::gemm::run_with(*ks, pb, scratch.data(), scratch.size());
            i0 += pb.m;
          }
          for (int i = 0; i < m; ++i) {
            float* row = plain.data() + static_cast<std::size_t>(i) * o.ldc;
            ks->act_forward(Activation::sigmoid, row, row, static_cast<std::size_t>(n));
          }
          double want = 0, tol = 1e-6;
          for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
              double z = o.bias[j], mag = std::fabs(o.bias[j]);
              for (int q = 0; q < k; ++q) {
                const double ab = static_cast<double>(o.a[static_cast<std::size_t>(i) * o.lda + q]) *
                                  (ob == Op::T ? o.b[static_cast<std::size_t>(j) * o.ldb + q]
                                               : o.b[static_cast<std::size_t>(q) * o.ldb + j]);
                z += ab;
                mag += std::fabs(ab);
              }
              const float p = plain[static_cast<std::size_t>(i) * o.ldc + j];
              const double tt = t[static_cast<std::size_t>(i) * n + j];
              double term;
              if (p > 1e-7f && p < 1.0f - 1e-7f)
                term = std::log1p(std::exp(-std::fabs(z))) + (z >= 0 ? (1.0 - tt) * z : -tt * z);
              else if (p <= 1e-7f)
                term = lo_t0 + tt * (lo_t1 - lo_t0);
              else
                term = hi_t0 + tt * (hi_t1 - hi_t0);
              want += term;
              tol += (k + 2) * kU * mag + 16 * kU + 8 * kU * std::fabs(term);
            }
          for (int i = 0; i < m; ++i)
            for (int j = 0; j < o.ldc; ++j) {
              const std::size_t at = static_cast<std::size_t>(i) * o.ldc + j;
              float* row = plain.data() + static_cast<std::size_t>(i) * o.ldc;
              if (j == 0) ks->bce_sigmoid_row(row, t.data() + static_cast<std::size_t>(i) * n, row, n, scale);
              if (!(fused[at] == plain[at]) && ++bad <= 3)
                MESSAGE(std::string(ks->name), ob == Op::T ? " NT " : " NN ", m, "x", n, "x", k, ": dz[", i, "][", j,
                        "] = ", fused[at], " want ", plain[at], " (", fused[at] - plain[at], ")");
            }
          // Every block in a store step: 17..32 rows on tile_tc (A B^T), or (A
          // B) 2 or more rows on the direct tiles, no NN tail panel, B in
          // place. Any other block on a SIMD set: the GEMM's logits, then
          // bce_logits_row, the loss from the logits as well.
          const int block_rows = m / blocks;
          const bool nn_tail = ks->tile_nn_tail != nullptr && n % ks->nr <= 4 && n % ks->nr != 0;
          const bool in_place = block_rows + 1 <= 64 || (block_rows + 1 <= 256 && k * n <= 128 * 1024);
          const bool store_step =
              ob == Op::T ? ks->tile_tc != nullptr && block_rows > 16 && m <= 32 * blocks
                          : ks->direct_bce && block_rows >= 2 && !nn_tail && in_place;
          if (store_step && ob == Op::N) ++fused_nn;
          if (!store_step && ks->bce_logits_row != nullptr) ++logits_rows;
          // The scalar set's loss (bce_sigmoid_row) carries the rounding of p
          // into log(1 - p): not checked against the exact one.
          const bool from_logits = store_step || ks->bce_logits_row != nullptr;
          if (from_logits && !(std::fabs(got - want) <= tol) && ++bad <= 3)
            MESSAGE(std::string(ks->name), " ", m, "x", n, "x", k, ": loss ", got, " want ", want, " tol ", tol);
        }
  }
  CHECK(bad == 0);
  if (direct_bce_sets > 0) {  // both SIMD paths were exercised
    CHECK(fused_nn > 0);
    CHECK(logits_rows > 0);
  }
}

TEST_CASE("gemm: run_sum adds two A^T * B products into one C (a tied kernel's two weight gradients)") {
  // One pass with the second product as a second segment of K when both fit
  // one K block (k + k2 <= KC), packed after the first in the same panels;
  // two runs otherwise. Against the sum in double: each element within
  // (k + k2 + 2) u S, S = sum |a b| + |C0| (the bound of test_gemm's sweeps).
  std::mt19937_64 rng(base_seed() + 7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const std::vector<const IsaKernels*> sets = mote::test::testable_kernel_sets();
  int bad = 0;
  for (int m : {65, 100, 129, 784})
    for (int n : {30, 52, 100})
      for (auto [k, k2] : {std::pair{32, 32}, std::pair{1, 7}, std::pair{7, 1}, std::pair{200, 100}, std::pair{1, 1},
                           std::pair{2, 2}, std::pair{1, 3}})
        for (bool acc : {false, true}) {
          const int lda = m + 3, ldb = n + 1, ldc = n + 2;
          std::vector<float> a(static_cast<std::size_t>(k) * lda), a2(static_cast<std::size_t>(k2) * lda);
          std::vector<float> b(static_cast<std::size_t>(k) * ldb), b2(static_cast<std::size_t>(k2) * ldb);
          std::vector<float> c0(static_cast<std::size_t>(m) * ldc);
          for (auto* v : {&a, &a2, &b, &b2, &c0})
            for (float& x : *v) x = u(rng);
          // The sum in double and its bound, once for every kernel set.
          std::vector<double> want(c0.size()), tol(c0.size());
          for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
              const std::size_t at = static_cast<std::size_t>(i) * ldc + j;
              double w = acc ? c0[at] : 0.0, mag = acc ? std::fabs(c0[at]) : 0.0;
              for (int q1 = 0; q1 < k; ++q1) {
                const double t = static_cast<double>(a[static_cast<std::size_t>(q1) * lda + i]) * b[static_cast<std::size_t>(q1) * ldb + j];
                w += t;
                mag += std::fabs(t);
              }
              for (int q2 = 0; q2 < k2; ++q2) {
                const double t = static_cast<double>(a2[static_cast<std::size_t>(q2) * lda + i]) * b2[static_cast<std::size_t>(q2) * ldb + j];
                w += t;
                mag += std::fabs(t);
              }
              want[at] = w;
              tol[at] = (k + k2 + 2) * kU * mag;
            }
          for (const IsaKernels* ks : sets) {
            std::vector<float> c = c0;
            GemmProblem p;
            p.m = m;
            p.n = n;
            p.k = k;
            p.op_a = Op::T;
            p.a = a.data();
            p.lda = lda;
            p.b = b.data();
            p.ldb = ldb;
            p.c = c.data();
            p.ldc = ldc;
            p.accumulate = acc;
            GemmProblem q = p;
            q.k = k2;
            q.a = a2.data();
            q.b = b2.data();
            q.accumulate = true;  // q adds to p's result
            std::vector<float> scratch(mote::gemm_scratch_floats(k + k2, 784), -7.0f);
            mote::gemm::run_sum_with(*ks, p, q, scratch.data(), scratch.size());
            for (int i = 0; i < m; ++i)
              for (int j = 0; j < ldc; ++j) {
                const std::size_t at = static_cast<std::size_t>(i) * ldc + j;
                if (j >= n) {
                  if (c[at] != c0[at] && ++bad <= 3) MESSAGE(std::string(ks->name), ": padding of C written");
                  continue;
                }
                if (!(std::fabs(c[at] - want[at]) <= tol[at]) && ++bad <= 3)
                  MESSAGE(std::string(ks->name), " ", m, "x", n, " k ", k, "+", k2, " acc ", acc, ": C[", i, "][", j,
                          "] = ", c[at], " want ", want[at]);
              }
          }
        }
  CHECK(bad == 0);
}

namespace {

// One product with the fused SGD update (gemm_problem.h) against the same
// product without it on the same kernel set and scratch, then the set's own
// sgd over the result: the update must apply once to every element, after
// its last accumulation, bit for bit, and leave W's previous value in C.
struct UpdateCase {
  int m, n, k, k2;  // k2 > 0: run_sum with a second product of k2 rows
  Op op_a, op_b;
  int pad_c;
  bool scratch;
};

int check_update(const IsaKernels& ks, const UpdateCase& uc, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int ldc = uc.n + uc.pad_c;
  const int lda = uc.op_a == Op::N ? uc.k : uc.m, ldb = uc.op_b == Op::N ? uc.n : uc.k;
  std::vector<float> a(static_cast<std::size_t>(uc.m) * uc.k), b(static_cast<std::size_t>(uc.k) * uc.n);
  std::vector<float> a2(static_cast<std::size_t>(uc.m) * uc.k2), b2(static_cast<std::size_t>(uc.k2) * uc.n);
  std::vector<float> w0(static_cast<std::size_t>(uc.m) * ldc), c0(w0.size());
  for (auto* v : {&a, &b, &a2, &b2, &w0, &c0})
    for (float& x : *v) x = u(rng);
  GemmProblem p;
  p.m = uc.m;
  p.n = uc.n;
  p.k = uc.k;
  p.op_a = uc.op_a;
  p.a = a.data();
  p.lda = lda;
  p.op_b = uc.op_b;
  p.b = b.data();
  p.ldb = ldb;
  p.ldc = ldc;
  GemmProblem q = p;  // run_sum's second product: A^T B, accumulating
  q.k = uc.k2;
  q.a = a2.data();
  q.b = b2.data();
  q.lda = uc.m;
  q.ldb = uc.n;
  q.accumulate = true;
  std::vector<float> scratch(uc.scratch ? mote::gemm_scratch_floats(uc.k + uc.k2, 784) : 0, -7.0f);
  float* sp = uc.scratch ? scratch.data() : nullptr;
  const auto run = [&](GemmProblem pp, float* c) {
    pp.c = c;
    GemmProblem qq = q;
    qq.c = c;
    if (uc.k2 > 0)
      mote::gemm::run_sum_with(ks, pp, qq, sp, scratch.size());
    else
      mote::gemm::run_with(ks, pp, sp, scratch.size());
  };
  // The gradient G as this set computes it, and W - lr G by its sgd.
  std::vector<float> g = c0;
  run(p, g.data());
  const float lr = 0.75f;
  std::vector<float> want = w0;
  for (int i = 0; i < uc.m; ++i)
    ks.sgd(want.data() + static_cast<std::size_t>(i) * ldc, g.data() + static_cast<std::size_t>(i) * ldc, lr,
           static_cast<std::size_t>(uc.n));
  std::vector<float> w = w0, c = c0;
  unsigned flags = 0;
  p.update = mote::kernels::SgdUpdate{w.data(), lr, &flags};
  run(p, c.data());
  int bad = 0;
  for (std::size_t at = 0; at < w.size(); ++at) {
    const bool inside = static_cast<int>(at % static_cast<std::size_t>(ldc)) < uc.n;
    const bool ok = inside ? (w[at] == want[at] && c[at] == w0[at]) : (w[at] == w0[at] && c[at] == c0[at]);
    if (!ok && ++bad <= 3)
      MESSAGE(std::string(ks.name), " ", uc.m, "x", uc.n, "x", uc.k, "+", uc.k2, " op ", uc.op_a == Op::N ? "N" : "T",
              uc.op_b == Op::N ? "N" : "T", " ldc ", ldc, " scratch ", uc.scratch, ": at ", at, " W ", w[at], " want ",
              inside ? want[at] : w0[at], ", C ", c[at], " want ", inside ? w0[at] : c0[at]);
  }
  if (flags != 0 && ++bad) MESSAGE(std::string(ks.name), " ", uc.m, "x", uc.n, ": flags ", flags, " on finite data");
  // A NaN in A: the gradient flag; a huge step: only the weight flag.
  a[a.size() / 2] = std::nanf("");
  w = w0;
  c = c0;
  flags = 0;
  run(p, c.data());
  if (flags != (mote::kernels::kUpdateGradNonFinite | mote::kernels::kUpdateWeightNonFinite) && ++bad)
    MESSAGE(std::string(ks.name), " ", uc.m, "x", uc.n, ": flags ", flags, " with a NaN in A");
  a[a.size() / 2] = 0.5f;
  a[0] = 1e6f;  // some |G| >= 1e5: times lr 3e38, past FLT_MAX
  w = w0;
  c = c0;
  flags = 0;
  p.update.lr = 3e38f;
  run(p, c.data());
  if (flags != mote::kernels::kUpdateWeightNonFinite && ++bad)
    MESSAGE(std::string(ks.name), " ", uc.m, "x", uc.n, ": flags ", flags, " with lr 3e38");
  return bad;
}

}  // namespace

TEST_CASE("gemm: plain SGD fused after the last store of C: W -= lr C bit for bit as sgd, C keeps the old W") {
  // The packed sweep in row blocks (784 x 100, K 32 and the tied pair 32 + 32),
  // the IC loop (300 x 400, K 256: its second JC block, 16 columns, is
  // swept), run_sum's two-run fallback (K 200 + 100 > KC), the direct path
  // (100 x 30, no scratch too), the rank-k path (K 1, 2; run_sum's pair at
  // batch 1 and 2 as one rank-k pass), NN with the tail columns and NT:
  // wherever the path applies it, each element is updated once, after its
  // last product.
  const UpdateCase cases[] = {
      {784, 100, 32, 0, Op::T, Op::N, 0, true},  {784, 100, 32, 32, Op::T, Op::N, 0, true},
      {784, 100, 32, 32, Op::T, Op::N, 3, true}, {300, 400, 256, 0, Op::T, Op::N, 0, true},
      {300, 400, 256, 0, Op::T, Op::N, 5, true}, {130, 52, 200, 100, Op::T, Op::N, 0, true},
      {100, 30, 32, 0, Op::T, Op::N, 0, true},   {100, 30, 32, 0, Op::T, Op::N, 2, false},
      {97, 100, 2, 0, Op::T, Op::N, 0, true},    {200, 100, 50, 0, Op::N, Op::N, 0, true},
      {40, 784, 100, 0, Op::N, Op::T, 1, true},  {784, 100, 32, 32, Op::T, Op::N, 0, false},
      {784, 100, 1, 1, Op::T, Op::N, 0, false},  {784, 100, 2, 2, Op::T, Op::N, 3, false},
      {784, 100, 1, 0, Op::T, Op::N, 0, false},
  };
  int bad = 0;
  uint64_t n = 0;
  for (const IsaKernels* ks : mote::test::testable_kernel_sets())
    for (const UpdateCase& uc : cases) bad += check_update(*ks, uc, base_seed() + 1000 + n++);
  CHECK(bad == 0);
}
