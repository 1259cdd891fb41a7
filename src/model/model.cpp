#include "mote/model.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "layers/dense.h"
#include "mote/arena.h"
#include "mote/rng.h"

namespace mote {

namespace {
template <class T>
T* at(std::byte* base, std::size_t off) {
  return off == kNone ? nullptr : reinterpret_cast<T*>(base + off);
}
}  // namespace

Status Model::bind(const ModelSpec& spec, const PlanOptions& opts, void* arena, std::size_t arena_size,
                   const float* external, std::size_t external_floats) {
  bound_ = false;
  const Plan p = mote::plan(spec, opts);
  if (p.status != Status::ok) return p.status;
  if (opts.external_weights && (external == nullptr || external_floats < mote::param_count(spec)))
    return Status::invalid_argument;
  if (arena == nullptr && p.total > 0) return Status::arena_too_small;
  Arena a(arena, arena_size);
  std::byte* base = a.base();
  if (a.allocate_bytes(p.total) == nullptr && p.total > 0) return Status::arena_too_small;

  spec_ = spec;
  plan_ = p;
  params_ = at<float>(base, p.params);
  grads_ = at<float>(base, p.grads);
  opt_state_ = at<float>(base, p.opt_state);
  delta_[0] = at<float>(base, p.delta[0]);
  delta_[1] = at<float>(base, p.delta[1]);
  scratch_ = at<float>(base, p.scratch);
  if (params_ && p.param_floats) std::memset(params_, 0, p.param_floats * sizeof(float));
  if (opt_state_) std::memset(opt_state_, 0, p.trainable_floats * optimizer_slots(opts.optimizer) * sizeof(float));

  for (int i = 0; i < spec.num_layers; ++i) {
    const LayerPlan& lp = p.layers[i];
    BoundLayer& l = layers_[i];
    l = BoundLayer{};
    l.spec = spec.layers[i];
    if (l.spec.kind == LayerKind::dense) {
      l.kernel_rw = at<float>(base, lp.kernel);
      l.kernel = l.kernel_rw ? l.kernel_rw : external + lp.ext_kernel;
    }
    l.bias_rw = at<float>(base, lp.bias);
    l.bias = l.bias_rw ? l.bias_rw : external + lp.ext_bias;
    l.dbias = at<float>(base, lp.dbias);
    l.out = at<float>(base, lp.out);
    l.needs_backward = lp.needs_backward;
    l.needs_dx = lp.needs_dx;
  }
  // A DenseTranspose reads (and trains) its partner's kernel where it lies.
  for (int i = 0; i < spec.num_layers; ++i) {
    BoundLayer& l = layers_[i];
    const int owner = l.spec.kind == LayerKind::dense ? i : l.spec.tie;
    if (l.spec.kind == LayerKind::dense_transpose) l.kernel = layers_[owner].kernel;
    l.dkernel = at<float>(base, p.layers[owner].dkernel);
  }
  rows_ = 0;
  bound_ = true;
  return Status::ok;
}

void Model::init_glorot(uint64_t seed) {
  Rng rng(seed);
  for (int i = 0; i < spec_.num_layers; ++i) {
    BoundLayer& l = layers_[i];
    if (l.spec.kind == LayerKind::dense) {
      const float limit = std::sqrt(6.0f / static_cast<float>(l.spec.in + l.spec.out));
      const std::size_t n = kernel_floats(l.spec);
      if (l.kernel_rw)
        for (std::size_t j = 0; j < n; ++j) l.kernel_rw[j] = (2.0f * rng.uniform() - 1.0f) * limit;
      else
        for (std::size_t j = 0; j < n; ++j) rng.next();  // same stream whatever lives in the arena
    }
    if (l.bias_rw) std::memset(l.bias_rw, 0, static_cast<std::size_t>(l.spec.out) * sizeof(float));
  }
}

Status Model::set_params(const float* canonical, std::size_t n) {
  if (!bound_) return Status::invalid_argument;
  if (n != param_count()) return Status::shape_mismatch;
  for (int i = 0; i < spec_.num_layers; ++i) {
    const LayerPlan& lp = plan_.layers[i];
    BoundLayer& l = layers_[i];
    if (l.kernel_rw) std::memcpy(l.kernel_rw, canonical + lp.ext_kernel, kernel_floats(l.spec) * sizeof(float));
    if (l.bias_rw) std::memcpy(l.bias_rw, canonical + lp.ext_bias, static_cast<std::size_t>(l.spec.out) * sizeof(float));
  }
  return Status::ok;
}

Status Model::get_params(float* canonical, std::size_t n) const {
  if (!bound_) return Status::invalid_argument;
  if (n != param_count()) return Status::shape_mismatch;
  for (int i = 0; i < spec_.num_layers; ++i) {
    const LayerPlan& lp = plan_.layers[i];
    const BoundLayer& l = layers_[i];
    if (l.spec.kind == LayerKind::dense)
      std::memcpy(canonical + lp.ext_kernel, l.kernel, kernel_floats(l.spec) * sizeof(float));
    std::memcpy(canonical + lp.ext_bias, l.bias, static_cast<std::size_t>(l.spec.out) * sizeof(float));
  }
  return Status::ok;
}

Status Model::forward(ConstMatrixView x, ConstMatrixView* y) { return forward_partial(x, spec_.num_layers, y); }

Status Model::forward_partial(ConstMatrixView x, int upto, ConstMatrixView* y) {
  if (!bound_ || upto < 1 || upto > spec_.num_layers) return Status::invalid_argument;
  if (!batch_fits(x, spec_.input)) return Status::shape_mismatch;
  const layers::Scratch s{scratch_, plan_.scratch_floats};
  ConstMatrixView in = x;
  for (int i = 0; i < upto; ++i) {
    const BoundLayer& l = layers_[i];
    MatrixView out{l.out, x.rows, l.spec.out, l.spec.out};
    layers::forward(l, in, out, s);
    in = out;
  }
  rows_ = x.rows;
  if (y) *y = in;
  return Status::ok;
}

Status Model::forward_bce(ConstMatrixView x, ConstMatrixView t, double* loss_sum) {
  const int last = spec_.num_layers - 1;
  if (!bound_ || layers_[last].spec.act != Activation::sigmoid) return Status::invalid_argument;
  if (!batch_fits(x, spec_.input) || !batch_fits(t, spec_.output()) || t.rows != x.rows) return Status::shape_mismatch;
  ConstMatrixView in = x;
  if (last > 0) {
    const Status s = forward_partial(x, last, &in);
    if (s != Status::ok) return s;
  }
  const BoundLayer& l = layers_[last];
  const double n = static_cast<double>(x.rows) * l.spec.out;
  const double sum = layers::forward_bce(l, in, output_buffer(x.rows), t, static_cast<float>(1.0 / n),
                                         layers::Scratch{scratch_, plan_.scratch_floats});
  rows_ = x.rows;
  if (loss_sum) *loss_sum = sum;
  return Status::ok;
}

MatrixView Model::output_buffer(int rows) const {
  const BoundLayer& l = layers_[spec_.num_layers - 1];
  return {l.out, rows, l.spec.out, l.spec.out};
}

// db = 1^T dz, a 1 x out GEMM whose op(A) is the column of ones (A^T with
// lda 0 reads one 1.0f at every k): the last layer's bias gradient. Not
// inlined, so its problem is not on the stack during the layers' GEMMs.
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void column_sums(ConstMatrixView dz, float* db, layers::Scratch sc) {
  static const float kOne = 1.0f;
  gemm::GemmProblem p;
  p.m = 1;
  p.n = dz.cols;
  p.k = dz.rows;
  p.op_a = gemm::Op::T;
  p.a = &kOne;
  p.lda = 0;
  p.b = dz.data;
  p.ldb = dz.stride;
  p.c = db;
  p.ldc = dz.cols;
  gemm::run(p, sc.data, sc.floats);
}

// A batch of 1..batch rows of `cols` columns, rows at least cols apart.
bool Model::batch_fits(ConstMatrixView m, int cols) const {
  return m.rows >= 1 && m.rows <= plan_.batch && m.cols == cols && m.stride >= m.cols && m.data != nullptr;
}

// Whether layer i's kernel gradient is also written by an earlier layer that
// a backward pass reaches (every layer from it to i needs backward).
bool Model::tied_partner_reached(int i) const {
  for (int j = i - 1; j >= 0 && layers_[j].needs_backward; --j)
    if (layers_[j].dkernel == layers_[i].dkernel) return true;
  return false;
}

Status Model::backward(ConstMatrixView x, ConstMatrixView dz) { return backward_pass(x, dz, 0.0f, nullptr, nullptr); }

Status Model::backward_sgd(ConstMatrixView x, ConstMatrixView dz, float lr, bool* weights_finite) {
  unsigned flags = 0, fused = 0;
  const Status s = backward_pass(x, dz, lr, &flags, &fused);
  if (s != Status::ok) return s;  // refused before any update
  // The bias gradients (column sums, small) are checked before any bias moves.
  bool grads_finite = (flags & kernels::kUpdateGradNonFinite) == 0;
  for (int i = 0; i < spec_.num_layers && grads_finite; ++i)
    if (const float* db = layers_[i].dbias) grads_finite = gemm::all_finite(db, static_cast<std::size_t>(layers_[i].spec.out));
  if (!grads_finite) {  // undo: the fused kernels' gradient blocks hold their previous values
    for (int i = 0; i < spec_.num_layers; ++i)
      if (fused & (1u << i)) {
        const BoundLayer& l = layers_[i];
        std::memcpy(params_ + (l.dkernel - grads_), l.dkernel,
                    static_cast<std::size_t>(l.spec.in) * static_cast<std::size_t>(l.spec.out) * sizeof(float));
      }
    return Status::non_finite;
  }
  bool finite = (flags & kernels::kUpdateWeightNonFinite) == 0;
  for (int i = 0; i < spec_.num_layers; ++i)
    if (float* db = layers_[i].dbias)
      finite = gemm::sgd_update(params_ + (db - grads_), db, lr, static_cast<std::size_t>(layers_[i].spec.out)) && finite;
  if (weights_finite) *weights_finite = finite;
  return Status::ok;
}

Status Model::backward_pass(ConstMatrixView x, ConstMatrixView dz, float lr, unsigned* flags, unsigned* fused) {
  if (!bound_ || plan_.trainable_floats == 0 || grads_ == nullptr) return Status::invalid_argument;
  const int last = spec_.num_layers - 1;
  if (dz.rows != rows_ || x.rows != rows_ || dz.cols != spec_.output() || x.cols != spec_.input)
    return Status::shape_mismatch;
  // No pass clears the gradient block: every gradient is written by the
  // backward pass below (the planner makes it reach every trainable
  // parameter). The first writer of a kernel overwrites it, later ones (the
  // tied partner) accumulate; bias gradients are column sums, of dz for the
  // last layer and in the dx GEMM's epilogue for the others, which only
  // need their (small) bias vectors zeroed.
  const int rows = dz.rows;
  const layers::Scratch sc{scratch_, plan_.scratch_floats};
  if (float* db = layers_[last].dbias) column_sums(dz, db, sc);
  for (int i = last; i > 0 && layers_[i].needs_dx; --i)
    if (float* db = layers_[i - 1].dbias) std::memset(db, 0, static_cast<std::size_t>(layers_[i - 1].spec.out) * sizeof(float));
  const float* written[kMaxLayers] = {};
  int nwritten = 0;
  // The output layer's kernel-gradient product, when its kernel is shared
  // with an earlier layer this pass reaches (the tied decoder): deferred and
  // added in that layer's pass over the gradient (gemm::run_sum: one pass
  // over C with K = 2 x batch instead of two). Its dz (the output buffer)
  // and input (an activation) stay as they are until then. Only where GEMMs
  // pack (hosts): without packing the sum is two runs anyway, and the
  // deferral would only cost stack (Cortex-M).
  layers::DwShare deferred;
  ConstMatrixView cur = dz;
  int flip = 0;
  for (int i = last; i >= 0 && layers_[i].needs_backward; --i) {
    const BoundLayer& l = layers_[i];
    ConstMatrixView in = i == 0 ? x : ConstMatrixView{layers_[i - 1].out, rows, l.spec.in, l.spec.in};
    const MatrixView dx{l.needs_dx ? delta_[flip] : nullptr, rows, l.spec.in, l.spec.in};
    // The kernel's last gradient write (no earlier layer this pass reaches
    // shares it) takes the fused update; its last read, this layer's dx,
    // goes first then.
    const bool fuse = flags != nullptr && l.dkernel != nullptr && !tied_partner_reached(i);
    if (fuse && l.needs_dx) layers::backward_dx(l, in, cur, dx, layers_[i - 1].spec.act, layers_[i - 1].dbias, sc);
    if (MOTE_GEMM_PACKING && l.dkernel && i == last && tied_partner_reached(i)) {
      deferred = layers::DwShare{&l, in, cur};
    } else if (l.dkernel) {
      bool acc_dw = false;
      for (int w = 0; w < nwritten; ++w) acc_dw = acc_dw || written[w] == l.dkernel;
      if (!acc_dw) written[nwritten++] = l.dkernel;
      const bool also = deferred.layer != nullptr && deferred.layer->dkernel == l.dkernel;
      kernels::SgdUpdate update;
      if (fuse) {
        update = kernels::SgdUpdate{params_ + (l.dkernel - grads_), lr, flags};
        *fused |= 1u << i;
      }
      layers::backward_dw(l, in, cur, sc, acc_dw, also ? &deferred : nullptr, update);
      if (also) deferred.layer = nullptr;
    }
    if (!l.needs_dx) break;
    flip ^= 1;
    if (!fuse) layers::backward_dx(l, in, cur, dx, layers_[i - 1].spec.act, layers_[i - 1].dbias, sc);
    cur = dx;
  }
  return Status::ok;
}

}  // namespace mote
