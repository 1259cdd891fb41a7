// What each implementation file of mote_bench provides. A peer's file is
// compiled in only when its package was found (MOTE_BENCH_<PEER> = 0 or 1).
#pragma once
#include "bench_common.h"

#ifndef MOTE_BENCH_EIGEN
#define MOTE_BENCH_EIGEN 0
#endif
#ifndef MOTE_BENCH_OPENBLAS
#define MOTE_BENCH_OPENBLAS 0
#endif
#ifndef MOTE_BENCH_ONEDNN
#define MOTE_BENCH_ONEDNN 0
#endif
#ifndef MOTE_BENCH_LIBXSMM
#define MOTE_BENCH_LIBXSMM 0
#endif
#ifndef MOTE_BENCH_PEAK_X86
#define MOTE_BENCH_PEAK_X86 0
#endif

namespace bench {

bool gemm_mote(const Gemm& g, GemmBuffers& buf, benchmark::State& st);
void train_step_mote(benchmark::State& st);
void infer_mote(benchmark::State& st, int batch);

#if MOTE_BENCH_EIGEN
bool gemm_eigen(const Gemm& g, GemmBuffers& buf, benchmark::State& st);
void train_step_eigen(benchmark::State& st);
void infer_eigen(benchmark::State& st, int batch);
#endif
#if MOTE_BENCH_OPENBLAS
bool gemm_openblas(const Gemm& g, GemmBuffers& buf, benchmark::State& st);
#endif
#if MOTE_BENCH_ONEDNN
bool gemm_onednn(const Gemm& g, GemmBuffers& buf, benchmark::State& st);
#endif
#if MOTE_BENCH_LIBXSMM
bool gemm_libxsmm(const Gemm& g, GemmBuffers& buf, benchmark::State& st);
#endif

// FMA-peak loops: FLOPs done by `iters` rounds of independent FMA chains.
double peak_scalar(int64_t iters);
#if MOTE_BENCH_PEAK_X86
double peak_avx2(int64_t iters);
double peak_avx512(int64_t iters);
double read_avx2(const float* p, int64_t n);  // bytes read
double read_avx512(const float* p, int64_t n);
bool cpu_has_avx2();
bool cpu_has_avx512();
#endif

}  // namespace bench
