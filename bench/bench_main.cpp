// mote_bench: GEMM rows of the tied model's shapes for mote and its peers,
// FMA peaks, a training step and inference. See bench/README.md.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gemm/gemm.h"
#include "peers.h"

namespace bench {

namespace {

struct Impl {
  const char* name;
  GemmFn fn;
};

const Impl kImpls[] = {
    {"mote", &gemm_mote},
#if MOTE_BENCH_EIGEN
    {"eigen", &gemm_eigen},
#endif
#if MOTE_BENCH_OPENBLAS
    {"openblas", &gemm_openblas},
#endif
#if MOTE_BENCH_ONEDNN
    {"onednn", &gemm_onednn},
#endif
#if MOTE_BENCH_LIBXSMM
    {"libxsmm", &gemm_libxsmm},
#endif
};

void run_gemm(benchmark::State& st, GemmFn fn, int shape_index, int batch) {
  const Gemm g = shape(shape_index, batch);
  GemmBuffers buf(g);
  if (!fn(g, buf, st)) return;
  set_flops(st, g.flops());
}

void run_peak(benchmark::State& st, double (*fn)(int64_t)) {
  double flops = 0;
  for (auto _ : st) flops = fn(1 << 16);
  set_flops(st, flops);
}

// l2read/<isa>: the read rate of a 784 x 100 float buffer (313,600 bytes,
// the model's big kernel) that stays in L2.
void run_read(benchmark::State& st, double (*fn)(const float*, int64_t)) {
  std::vector<float> w(784 * 100, 0.5f);
  double bytes = 0;
  for (auto _ : st) bytes = fn(w.data(), static_cast<int64_t>(w.size()));
  st.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (int s = 0; s < kNumShapes; ++s)
    for (int batch : kBatches)
      for (const Impl& impl : kImpls) {
        const std::string name = std::string("gemm/") + impl.name + "/" + shape(s, batch).name + "/" + std::to_string(batch);
        benchmark::RegisterBenchmark(name.c_str(), [fn = impl.fn, s, batch](benchmark::State& st) {
          run_gemm(st, fn, s, batch);
        });
      }
  benchmark::RegisterBenchmark("peak/scalar", [](benchmark::State& st) { run_peak(st, &peak_scalar); });
#if MOTE_BENCH_PEAK_X86
  if (cpu_has_avx2())
    benchmark::RegisterBenchmark("peak/avx2", [](benchmark::State& st) { run_peak(st, &peak_avx2); });
  if (cpu_has_avx512())
    benchmark::RegisterBenchmark("peak/avx512", [](benchmark::State& st) { run_peak(st, &peak_avx512); });
  if (cpu_has_avx2())
    benchmark::RegisterBenchmark("l2read/avx2", [](benchmark::State& st) { run_read(st, &read_avx2); });
  if (cpu_has_avx512())
    benchmark::RegisterBenchmark("l2read/avx512", [](benchmark::State& st) { run_read(st, &read_avx512); });
#endif
  benchmark::RegisterBenchmark("train_step/mote/tied/32", &train_step_mote);
#if MOTE_BENCH_EIGEN
  benchmark::RegisterBenchmark("train_step/eigen/tied/32", &train_step_eigen);
#endif
  for (int batch : kBatches) {
    benchmark::RegisterBenchmark(("infer/mote/tied/" + std::to_string(batch)).c_str(),
                                 [batch](benchmark::State& st) { infer_mote(st, batch); });
#if MOTE_BENCH_EIGEN
    benchmark::RegisterBenchmark(("infer/eigen/tied/" + std::to_string(batch)).c_str(),
                                 [batch](benchmark::State& st) { infer_eigen(st, batch); });
#endif
  }
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  // The mote rows must run the set MOTE_ISA asks for, or not at all.
  const char* want = std::getenv("MOTE_ISA");
  const mote::kernels::IsaKernels* set = nullptr;
  if (const char* why = mote::gemm::isa_refusal(mote::gemm::resolve_isa(want, &set))) {
    std::fprintf(stderr, "mote_bench: MOTE_ISA=%s: %s; this CPU runs: %s\n", want, why, mote::gemm::runnable_isas());
    return 2;
  }
  bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("mote_kernels", mote::gemm::active_isa());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
