#include <cmath>
#include <cstring>

#include "gemm/gemm.h"
#include "mote/train.h"

namespace mote {

Status check_training_setup(const Model& model, Loss loss, const OptimizerConfig& cfg) {
  if (model.trainable_count() == 0) return Status::invalid_argument;
  if (loss == Loss::binary_crossentropy && model.layer(model.num_layers() - 1).spec.act != Activation::sigmoid)
    return Status::invalid_model;
  // The optimizer state was planned for one kind; a kind needing more slots would overrun it.
  if (optimizer_slots(cfg.kind) > optimizer_slots(model.plan().optimizer)) return Status::invalid_argument;
  if (!(cfg.lr >= 0.0f) || !std::isfinite(cfg.lr)) return Status::invalid_argument;
  return Status::ok;
}

Status train_step(Model& model, ConstMatrixView x, ConstMatrixView target, Loss loss, const OptimizerConfig& cfg,
                  int64_t step, float* mean_loss, bool* weights_finite) {
  const int last = model.num_layers() - 1;
  if (last < 0) return Status::invalid_argument;  // not bound (layer(last) and output_buffer need a layer)
  if (target.rows != x.rows || target.cols != model.spec().output()) return Status::shape_mismatch;
  double sum = 0.0;
  MatrixView dz = model.output_buffer(x.rows);  // the loss writes dz there
  Status s = Status::ok;
  if (loss == Loss::binary_crossentropy && model.layer(last).spec.act == Activation::sigmoid) {
    s = model.forward_bce(x, target, &sum);  // the loss fused into the output layer's store step
    if (s != Status::ok) return s;
  } else {
    ConstMatrixView y;
    s = model.forward(x, &y);
    if (s != Status::ok) return s;
    sum = loss_forward_backward(loss, model.layer(last).spec.act, y, target, &dz);
  }
  const double mean = sum / (static_cast<double>(x.rows) * model.spec().output());
  if (mean_loss) *mean_loss = static_cast<float>(mean);
  if (!std::isfinite(mean)) return Status::non_finite;
  // Plain SGD fused into the backward pass: the same contract and bits as below.
  if (cfg.kind == Optimizer::sgd) return model.backward_sgd(x, dz, cfg.lr, weights_finite);
  s = model.backward(x, dz);
  if (s != Status::ok) return s;
  const float* g = model.grads();
  const std::size_t n = model.trainable_count();
  if (!gemm::all_finite(g, n)) return Status::non_finite;  // vectorized: NaN/inf survive *0
  const bool finite = optimizer_update(cfg, model.trainable(), g, model.optimizer_state(), n, step);
  if (weights_finite) *weights_finite = finite;
  return Status::ok;
}

Status evaluate(Model& model, ConstMatrixView data, ConstMatrixView target, Loss loss, EvalResult* out) {
  if (target.data == nullptr) target = data;
  if (target.rows != data.rows || target.cols != model.spec().output()) return Status::shape_mismatch;
  if (data.rows <= 0) return Status::invalid_argument;
  const int b = model.batch();
  const int last = model.num_layers() - 1;
  double sum = 0.0;
  std::size_t hits = 0;
  for (int r0 = 0; r0 < data.rows; r0 += b) {
    const int rows = data.rows - r0 < b ? data.rows - r0 : b;
    ConstMatrixView y;
    const Status s = model.forward(data.rows_from(r0, rows), &y);
    if (s != Status::ok) return s;
    const ConstMatrixView t = target.rows_from(r0, rows);
    sum += loss_forward_backward(loss, model.layer(last).spec.act, y, t, nullptr);
    hits += rounded_matches(y, t);
  }
  const double n = static_cast<double>(data.rows) * target.cols;
  out->loss = sum / n;
  out->rounded_accuracy = static_cast<double>(hits) / n;
  return Status::ok;
}

std::size_t epoch_gather_floats(const Model& model, bool separate_target) {
  const std::size_t b = static_cast<std::size_t>(model.batch());
  return b * static_cast<std::size_t>(model.spec().input) +
         (separate_target ? b * static_cast<std::size_t>(model.spec().output()) : 0);
}

namespace {

// A hint only (no fault, no effect on results). One hint per 128 bytes: the
// hint instructions themselves wait once the core's miss buffers are full,
// and every other 64-byte line measured as good (the L2 fetches line pairs
// on Zen 4): the prefetch loop 10.5 -> 5.2 us per step, the gather that
// follows 6.0 -> 7.7 us, an epoch 0.528 -> 0.522 s (float rows).
inline void prefetch_row(const void* p, std::size_t bytes) {
#if defined(__GNUC__)
  const char* c = static_cast<const char*>(p);
  for (std::size_t o = 0; o < bytes; o += 128) __builtin_prefetch(c + o, 0, 2);
#else
  (void)p;
  (void)bytes;
#endif
}

// One row of the shuffled batch into the gather buffer, as floats.
inline void gather_row(const float* src, float* dst, int n) {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
}
inline void gather_row(const uint8_t* src, float* dst, int n) {
  gemm::u8_to_f32(src, dst, static_cast<std::size_t>(n));  // bit for bit float(b) / 255.0f
}

// The epoch over rows of T (float, or uint8_t pixels read as byte / 255).
template <class T>
Status run_epoch(Model& model, Matrix<const T> data, ConstMatrixView target, Rng& rng, const EpochContext& ctx,
                 EpochCursor* cursor, double* mean_loss) {
  const bool separate = target.data != nullptr;
  if (data.rows <= 0 || data.cols != model.spec().input) return Status::shape_mismatch;
  if (separate && (target.rows != data.rows || target.cols != model.spec().output())) return Status::shape_mismatch;
  if (!separate && model.spec().output() != data.cols) return Status::shape_mismatch;
  if (!ctx.order || !ctx.gather || !ctx.step || !cursor || cursor->step < 0) return Status::invalid_argument;
  const uint32_t n = static_cast<uint32_t>(data.rows);
  for (uint32_t i = 0; i < n; ++i) ctx.order[i] = i;
  for (uint32_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    const uint32_t j = rng.below(i + 1);
    const uint32_t tmp = ctx.order[i];
    ctx.order[i] = ctx.order[j];
    ctx.order[j] = tmp;
  }
  const int b = model.batch();
  const int in_w = data.cols;
  const int out_w = model.spec().output();
  float* xb = ctx.gather;
  float* tb = separate ? ctx.gather + static_cast<std::size_t>(b) * in_w : nullptr;
  const int64_t steps = (static_cast<int64_t>(n) + b - 1) / b;
  if (cursor->step > steps) return Status::invalid_argument;
  for (int64_t s = cursor->step; s < steps; ++s) {
    const int r0 = static_cast<int>(s * b);
    const int rows = static_cast<int>(n) - r0 < b ? static_cast<int>(n) - r0 : b;
    for (int r = 0; r < rows; ++r) {
      const uint32_t src = ctx.order[r0 + r];
      gather_row(data.row(static_cast<int>(src)), xb + static_cast<std::size_t>(r) * in_w, in_w);
      if (tb) gather_row(target.row(static_cast<int>(src)), tb + static_cast<std::size_t>(r) * out_w, out_w);
    }
    // The next batch's rows are scattered over the whole data set (172 MB of
    // floats, 43 MB of bytes for Fashion-MNIST): ask for them now, so that the
    // next gather reads them from L2 while this step computes (~10 us of DRAM
    // latency per step).
    if (s + 1 < steps) {
      const int r1 = r0 + rows;
      const int next = static_cast<int>(n) - r1 < b ? static_cast<int>(n) - r1 : b;
      for (int r = 0; r < next; ++r) {
        prefetch_row(data.row(static_cast<int>(ctx.order[r1 + r])), static_cast<std::size_t>(in_w) * sizeof(T));
        if (tb)
          prefetch_row(target.row(static_cast<int>(ctx.order[r1 + r])), static_cast<std::size_t>(out_w) * sizeof(float));
      }
    }
    const ConstMatrixView x{xb, rows, in_w, in_w};
    const ConstMatrixView t = tb ? ConstMatrixView{tb, rows, out_w, out_w} : x;
    float loss = 0.0f;
    ++*ctx.step;
    bool weights_finite = true;
    const Status st = train_step(model, x, t, ctx.loss, ctx.optimizer, *ctx.step, &loss, &weights_finite);
    if (st != Status::ok) return st;
    if (ctx.check_weights && !weights_finite) return Status::non_finite;
    cursor->loss_sum += static_cast<double>(loss) * rows;
    cursor->rows += rows;
    cursor->step = s + 1;
    if (ctx.progress) ctx.progress(ctx.user, s + 1, steps, cursor->loss_sum / static_cast<double>(cursor->rows));
    if (ctx.stop && *ctx.stop) break;
  }
  if (mean_loss) *mean_loss = cursor->rows ? cursor->loss_sum / static_cast<double>(cursor->rows) : 0.0;
  return Status::ok;
}

}  // namespace

Status train_epoch(Model& model, ConstMatrixView data, ConstMatrixView target, Rng& rng, const EpochContext& ctx,
                   double* mean_loss) {
  EpochCursor cursor;
  return run_epoch(model, data, target, rng, ctx, &cursor, mean_loss);
}

Status train_epoch(Model& model, ByteMatrixView data, Rng& rng, const EpochContext& ctx, double* mean_loss) {
  EpochCursor cursor;
  return run_epoch(model, data, ConstMatrixView{}, rng, ctx, &cursor, mean_loss);
}

Status train_epoch_from(Model& model, ConstMatrixView data, ConstMatrixView target, Rng& rng, const EpochContext& ctx,
                        EpochCursor* cursor, double* mean_loss) {
  return run_epoch(model, data, target, rng, ctx, cursor, mean_loss);
}

Status train_epoch_from(Model& model, ByteMatrixView data, Rng& rng, const EpochContext& ctx, EpochCursor* cursor,
                        double* mean_loss) {
  return run_epoch(model, data, ConstMatrixView{}, rng, ctx, cursor, mean_loss);
}

}  // namespace mote
