// mote's rows: gemm::run on the planner's scratch, a training step and
// inference of the tied model bound in an arena.
#include <cstdlib>
#include <vector>

#include "gemm/gemm.h"
#include "mote/model.h"
#include "mote/spec.h"
#include "mote/train.h"
#include "mote_gemm.h"
#include "peers.h"

namespace bench {

bool gemm_mote(const Gemm& g, GemmBuffers& buf, benchmark::State& st) {
  std::vector<float> scratch(mote_scratch_floats(g));
  const mote::gemm::GemmProblem p = mote_problem(g, buf);
  for (auto _ : st) {
    mote::gemm::run(p, scratch.data(), scratch.size());
    keep(p.c);
  }
  return true;
}

namespace {
struct TiedModel {
  std::byte* arena = nullptr;
  mote::Model model;
  TiedModel(int batch, bool train) {
    const mote::PlanOptions o{.batch = batch, .train = train ? mote::Trainable::all : mote::Trainable::none};
    const std::size_t bytes = mote::arena_bytes(mote::reference::tied, o);
    arena = static_cast<std::byte*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
    if (model.bind(mote::reference::tied, o, arena, bytes) != mote::Status::ok) std::abort();
    model.init_glorot(42);
  }
  ~TiedModel() { std::free(arena); }
};
}  // namespace

void train_step_mote(benchmark::State& st) {
  constexpr int kBatch = 32;
  TiedModel m(kBatch, true);
  Buffer x(static_cast<std::size_t>(kBatch) * 784, 0.0f, 1.0f, 7);
  const mote::ConstMatrixView xv{x.data(), kBatch, 784, 784};
  const mote::OptimizerConfig sgd{.kind = mote::Optimizer::sgd, .lr = 0.01f};
  int64_t step = 0;
  float loss = 0;
  mote::Status s = mote::Status::ok;
  for (auto _ : st) {
    s = mote::train_step(m.model, xv, xv, mote::Loss::binary_crossentropy, sgd, ++step, &loss);
    keep(m.model.trainable());
  }
  if (s != mote::Status::ok) st.SkipWithError("train_step failed");
  st.counters["loss"] = loss;
  set_flops(st, tied_train_flops(kBatch));
}

void infer_mote(benchmark::State& st, int batch) {
  TiedModel m(batch, false);
  Buffer x(static_cast<std::size_t>(batch) * 784, 0.0f, 1.0f, 7);
  const mote::ConstMatrixView xv{x.data(), batch, 784, 784};
  mote::ConstMatrixView y;
  for (auto _ : st) {
    if (m.model.forward(xv, &y) != mote::Status::ok) st.SkipWithError("forward failed");
    keep(y.data);
  }
  set_flops(st, tied_infer_flops(batch));
}

double peak_scalar(int64_t iters) {
  float acc[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int64_t i = 0; i < iters; ++i)
    for (float& a : acc) a = a * 0.999f + 0.001f;
  keep(acc);
  return 2.0 * 8 * static_cast<double>(iters);
}

}  // namespace bench
