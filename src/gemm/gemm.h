// mote's GEMM entry point: validates nothing (callers planned the shapes) and
// routes a problem to the kernel set chosen for this CPU.
//
//   gemm::GemmProblem p{.m = rows, .n = out, .k = in, .a = x, .lda = in,
//                       .b = w, .ldb = out, .c = y, .ldc = out};
//   p.ep.bias = b; p.ep.act = Activation::selu;     // fused in the store step
//   gemm::run(p, scratch, scratch_floats);
//
// Paths (the loop nest is in gemm.cpp, the microkernels in kernels/):
//   packed  NT with m > kGemmSmallBatch, NN/TN with m > 64 unless op(B) fits
//           512 KB and m <= 256 (gemm.cpp: nn_tn_in_place), and the scratch
//           holds a KC x NR panel: BLIS loops JC / PC / IC / JR / IR, op(B)
//           packed into the scratch per (JC, PC) block, A read in place by
//           the microkernel.
//   rank-k  A^T B with k <= 4 and no epilogue (weight gradients at batch
//           1..4): C's rows streamed once, B's k rows held in L1.
//   direct  batches 1..8, NN/TN up to 64 rows (256 with a B in L2), or no scratch
//           (MOTE_GEMM_PACKING=0): op(B) read in place, whole K per tile,
//           NN/TN by broadcast tiles, NT by dot-product tiles.
// The kernel set is the best this CPU runs (xsimd::dispatch on x86) unless the
// environment variable MOTE_ISA names a lower one: scalar, avx2, avx512
// (resolve_isa below).
#pragma once
#include <cstddef>

#include "kernels/gemm_kernels.h"
#include "kernels/gemm_problem.h"

namespace mote::gemm {

using kernels::Epilogue;
using kernels::GemmProblem;
using kernels::Op;

// scratch: packing space planned by gemm_scratch_floats() (may be empty).
void run(const GemmProblem& p, float* scratch, std::size_t scratch_floats);
// The same with an explicit kernel set (tests compare every compiled set).
void run_with(const kernels::IsaKernels& k, const GemmProblem& p, float* scratch, std::size_t scratch_floats);

// C = (C +) op(A) op(B) + op(A2) op(B2) for two problems p and q on the same
// C (same m, n, layouts and leading dimensions; q.accumulate must be true; no
// epilogue): the two weight-gradient products of a tied kernel. With op(A) =
// A^T and both in one K block (k + k2 <= KC) they run as one pass over C,
// q's rows packed after p's; otherwise as run(p) then run(q) accumulating.
void run_sum(const GemmProblem& p, const GemmProblem& q, float* scratch, std::size_t scratch_floats);
void run_sum_with(const kernels::IsaKernels& k, const GemmProblem& p, const GemmProblem& q, float* scratch,
                  std::size_t scratch_floats);

// C = sigmoid(op(A) op(B) + bias) (p.ep: bias and act = sigmoid only)
// followed by the binary cross-entropy against t (row i at t + i * ldt), as
// bce_sigmoid_row defines it: C receives dz = (p - t) * scale (0 where the
// clip is active) instead of p, and the loss sum is returned. Where the
// store step can take the loss (AVX2, AVX-512: 17..32 rows of A * B^T, more
// rows in balanced blocks of up to 32; every SIMD set: A * B with 2 or more
// rows, B in place, no NN tail panel) it is computed there from the
// logits (kernels/generic/vmath.h, vsigmoid_bce: one log per lane of a tile
// instead of two per element, and no cancellation in 1 - p below the upper
// clip, where the unfused loss can be off by ~0.7 per element). dz is (p -
// t) * scale with p the set's vector sigmoid of the logits, bit for bit the
// unfused path's at -O3 (the -O1 sanitizer build compiles the AVX-512 exp
// and the AVX2 exp of a narrow last panel to results 1 ulp apart on ~1% of
// inputs, each within vmath's bound). Elsewhere the GEMM stores the logits
// and bce_logits_row takes the same loss from them per row (SIMD sets), or
// the GEMM is followed by bce_sigmoid_row per row (scalar).
double run_sigmoid_bce(const GemmProblem& p, const float* t, int ldt, float scale, float* scratch,
                       std::size_t scratch_floats);
double run_sigmoid_bce_with(const kernels::IsaKernels& k, const GemmProblem& p, const float* t, int ldt, float scale,
                            float* scratch, std::size_t scratch_floats);

// The kernel set in use, and its name ("scalar", "avx2", "avx512", "neon64", "neon").
const kernels::IsaKernels& active();
const char* active_isa();

// What a MOTE_ISA value asks for. `want` null or empty: unset (the best set).
// A name of a compiled set this CPU runs: honoured. Otherwise unknown (no
// compiled set of that name) or unsupported (this CPU lacks its features),
// and active() keeps the best set: a program that takes MOTE_ISA from its
// user (the mote tool, mote_bench) checks isa_request() and refuses to run
// on a set it was not asked for. *set receives the set active() picks.
enum class IsaRequest { unset, honoured, unknown, unsupported };
IsaRequest resolve_isa(const char* want, const kernels::IsaKernels** set);
IsaRequest isa_request();  // resolve_isa(getenv("MOTE_ISA")), as active() saw it
// Why such a program refuses a request (unknown, unsupported), for its
// message; nullptr for unset and honoured.
const char* isa_refusal(IsaRequest r);
// The names of the compiled sets this CPU runs, space-separated, best first
// (for messages), e.g. "avx512 avx2 scalar".
const char* runnable_isas();

// Test hook (A/B against the oracle): while on, run() calls kernels::gemm_ref
// and the element-wise kernels below use the scalar set. Not thread-safe.
void use_reference(bool on);

// Element-wise kernels of a training step, on the active set.
// BCE on a sigmoid output, one row of n: returns the row's loss sum and writes
// dz = d(mean loss)/d(logit) = (y - t) * scale (0 where Keras' clip is active).
float bce_sigmoid_row(const float* y, const float* t, float* dz, int n, float scale);
bool sgd_update(float* w, const float* g, float lr, std::size_t n);  // w -= lr * g; all w finite after?
bool all_finite(const float* x, std::size_t n);
// dst[i] = float(src[i]) / 255, bit for bit the scalar division (byte pixels).
void u8_to_f32(const uint8_t* src, float* dst, std::size_t n);

}  // namespace mote::gemm
