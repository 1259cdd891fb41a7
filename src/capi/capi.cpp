// The C API (include/mote/mote.h) over the C++ engine: conversions, a handle
// that lives in the caller's mote_model, and nothing that allocates.
#include "mote/mote.h"

#include <cstdarg>
#include <cstdio>
#include <new>

#include "gemm/gemm.h"
#include "mote/model.h"
#include "mote/platform.h"
#include "mote/train.h"

namespace {

using mote::Status;

constexpr uint32_t kMagic = 0x6d6f7465u;  // "mote"

struct Handle {
  uint32_t magic = kMagic;
  mote::Model model;
};
static_assert(sizeof(Handle) <= sizeof(mote_model), "mote_model::opaque is too small for this target");
static_assert(alignof(Handle) <= alignof(mote_model), "mote_model is under-aligned");
static_assert(MOTE_MAX_LAYERS == mote::kMaxLayers);
static_assert(MOTE_ARENA_ALIGN == mote::kAlign);
static_assert(static_cast<int>(MOTE_NON_FINITE) == static_cast<int>(Status::non_finite));

mote_status to_c(Status s) { return static_cast<mote_status>(s); }

Handle* handle(mote_model* m) {
  if (m == nullptr) return nullptr;
  auto* h = reinterpret_cast<Handle*>(m->opaque);
  return h->magic == kMagic ? h : nullptr;
}
const Handle* handle(const mote_model* m) { return handle(const_cast<mote_model*>(m)); }

// Converts a C spec, range-checking every enum; invalid input maps to a spec
// that validate() rejects.
mote::ModelSpec to_cpp(const mote_spec& c) {
  mote::ModelSpec s;
  s.input = c.input;
  s.num_layers = c.num_layers;
  if (c.num_layers < 0 || c.num_layers > mote::kMaxLayers) {
    s.num_layers = mote::kMaxLayers + 1;
    return s;
  }
  int32_t width = c.input;
  for (int i = 0; i < c.num_layers; ++i) {
    const mote_layer& l = c.layers[i];
    mote::LayerSpec& o = s.layers[i];
    if (l.kind < 0 || l.kind > 1 || l.act < 0 || l.act > 2 || l.tie < -1 || l.tie >= mote::kMaxLayers) {
      s.num_layers = mote::kMaxLayers + 1;
      return s;
    }
    o.kind = static_cast<mote::LayerKind>(l.kind);
    o.act = static_cast<mote::Activation>(l.act);
    o.tie = static_cast<int8_t>(l.tie);
    o.in = width;
    o.out = l.out;
    width = l.out;
  }
  return s;
}

bool to_cpp(const mote_options& c, mote::PlanOptions* o) {
  if (c.train < 0 || c.train > 3 || c.optimizer < 0 || c.optimizer > 3) return false;
  if (c.external_weights != 0 && c.external_weights != 1) return false;
  o->batch = c.batch;
  o->train = static_cast<mote::Trainable>(c.train);
  o->optimizer = static_cast<mote::Optimizer>(c.optimizer);
  o->external_weights = c.external_weights != 0;
  return true;
}

bool to_cpp(const mote_optimizer& c, mote::OptimizerConfig* o) {
  if (c.kind < 0 || c.kind > 3) return false;
  o->kind = static_cast<mote::Optimizer>(c.kind);
  o->lr = c.lr;
  o->momentum = c.momentum;
  o->beta1 = c.beta1;
  o->beta2 = c.beta2;
  o->epsilon = c.epsilon;
  return true;
}

mote::ConstMatrixView rows_of(const float* p, int32_t rows, int32_t cols) { return {p, rows, cols, cols}; }

}  // namespace

extern "C" {

void mote_spec_init(mote_spec* spec, int32_t input) {
  if (spec == nullptr) return;
  *spec = mote_spec{};
  spec->input = input;
}

mote_status mote_spec_dense(mote_spec* spec, int32_t out, mote_activation act) {
  if (spec == nullptr || spec->num_layers < 0 || spec->num_layers >= MOTE_MAX_LAYERS) return MOTE_INVALID_MODEL;
  spec->layers[spec->num_layers++] = mote_layer{MOTE_DENSE, static_cast<int32_t>(act), -1, out};
  return MOTE_OK;
}

mote_status mote_spec_dense_transpose(mote_spec* spec, int32_t partner, mote_activation act) {
  if (spec == nullptr || spec->num_layers < 0 || spec->num_layers >= MOTE_MAX_LAYERS) return MOTE_INVALID_MODEL;
  if (partner < 0 || partner >= spec->num_layers || spec->layers[partner].kind != MOTE_DENSE)
    return MOTE_INVALID_MODEL;
  const int32_t out = partner == 0 ? spec->input : spec->layers[partner - 1].out;
  spec->layers[spec->num_layers++] = mote_layer{MOTE_DENSE_TRANSPOSE, static_cast<int32_t>(act), partner, out};
  return MOTE_OK;
}

void mote_spec_tied(mote_spec* spec) {
  mote_spec_init(spec, 784);
  mote_spec_dense(spec, 100, MOTE_SELU);
  mote_spec_dense(spec, 30, MOTE_SELU);
  mote_spec_dense_transpose(spec, 1, MOTE_SELU);
  mote_spec_dense_transpose(spec, 0, MOTE_SIGMOID);
}

mote_status mote_spec_validate(const mote_spec* spec) {
  if (spec == nullptr) return MOTE_INVALID_ARGUMENT;
  return to_c(mote::validate(to_cpp(*spec)));
}

int32_t mote_spec_output(const mote_spec* spec) {
  if (spec == nullptr) return 0;
  return spec->num_layers > 0 && spec->num_layers <= MOTE_MAX_LAYERS ? spec->layers[spec->num_layers - 1].out
                                                                       : spec->input;
}

size_t mote_spec_param_count(const mote_spec* spec) {
  if (spec == nullptr) return 0;
  const mote::ModelSpec s = to_cpp(*spec);
  return mote::validate(s) == Status::ok ? mote::param_count(s) : 0;
}

void mote_options_init(mote_options* opt) {
  if (opt == nullptr) return;
  opt->batch = 1;
  opt->train = MOTE_TRAIN_NONE;
  opt->optimizer = MOTE_SGD;
  opt->external_weights = 0;
}

size_t mote_arena_bytes(const mote_spec* spec, const mote_options* opt) {
  if (spec == nullptr || opt == nullptr) return 0;
  mote::PlanOptions o;
  if (!to_cpp(*opt, &o)) return 0;
  return mote::arena_bytes(to_cpp(*spec), o);
}

mote_status mote_model_bind(mote_model* model, const mote_spec* spec, const mote_options* opt, void* arena,
                            size_t arena_size, const float* external, size_t external_floats) {
  if (model == nullptr || spec == nullptr || opt == nullptr) return MOTE_INVALID_ARGUMENT;
  mote::PlanOptions o;
  if (!to_cpp(*opt, &o)) return MOTE_INVALID_ARGUMENT;
  auto* h = new (model->opaque) Handle{};  // placement: the caller's storage
  const Status s = h->model.bind(to_cpp(*spec), o, arena, arena_size, external, external_floats);
  if (s != Status::ok) h->magic = 0;
  return to_c(s);
}

mote_status mote_model_init_glorot(mote_model* model, uint64_t seed) {
  Handle* h = handle(model);
  if (h == nullptr) return MOTE_INVALID_ARGUMENT;
  h->model.init_glorot(seed);
  return MOTE_OK;
}

mote_status mote_model_set_params(mote_model* model, const float* params, size_t n) {
  Handle* h = handle(model);
  if (h == nullptr || params == nullptr) return MOTE_INVALID_ARGUMENT;
  return to_c(h->model.set_params(params, n));
}

mote_status mote_model_get_params(const mote_model* model, float* params, size_t n) {
  const Handle* h = handle(model);
  if (h == nullptr || params == nullptr) return MOTE_INVALID_ARGUMENT;
  return to_c(h->model.get_params(params, n));
}

size_t mote_model_param_count(const mote_model* model) {
  const Handle* h = handle(model);
  return h ? h->model.param_count() : 0;
}

size_t mote_model_trainable_count(const mote_model* model) {
  const Handle* h = handle(model);
  return h ? h->model.trainable_count() : 0;
}

size_t mote_model_arena_used(const mote_model* model) {
  const Handle* h = handle(model);
  return h ? h->model.arena_used() : 0;
}

int32_t mote_model_batch(const mote_model* model) {
  const Handle* h = handle(model);
  return h ? h->model.batch() : 0;
}

mote_status mote_model_forward(mote_model* model, const float* x, int32_t rows, const float** y) {
  Handle* h = handle(model);
  if (h == nullptr || x == nullptr || y == nullptr) return MOTE_INVALID_ARGUMENT;
  mote::ConstMatrixView out;
  const Status s = h->model.forward(rows_of(x, rows, h->model.spec().input), &out);
  *y = s == Status::ok ? out.data : nullptr;
  return to_c(s);
}

mote_status mote_model_predict(mote_model* model, const float* x, int32_t rows, float* y) {
  if (y == nullptr) return MOTE_INVALID_ARGUMENT;
  const float* out = nullptr;
  const mote_status s = mote_model_forward(model, x, rows, &out);
  if (s != MOTE_OK) return s;
  const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(handle(model)->model.spec().output());
  for (std::size_t i = 0; i < n; ++i) y[i] = out[i];
  return MOTE_OK;
}

mote_status mote_model_train_step(mote_model* model, const float* x, const float* target, int32_t rows,
                                  mote_loss loss, const mote_optimizer* opt, int64_t step, float* mean_loss) {
  Handle* h = handle(model);
  mote::OptimizerConfig cfg;
  if (h == nullptr || x == nullptr || opt == nullptr || !to_cpp(*opt, &cfg) || step < 1) return MOTE_INVALID_ARGUMENT;
  if (loss != MOTE_LOSS_BCE && loss != MOTE_LOSS_MSE) return MOTE_INVALID_ARGUMENT;
  const auto l = static_cast<mote::Loss>(loss);
  Status s = mote::check_training_setup(h->model, l, cfg);
  if (s != Status::ok) return to_c(s);
  const mote::ModelSpec& spec = h->model.spec();
  const mote::ConstMatrixView xv = rows_of(x, rows, spec.input);
  const mote::ConstMatrixView tv = target ? rows_of(target, rows, spec.output()) : xv;
  if (target == nullptr && spec.input != spec.output()) return MOTE_SHAPE_MISMATCH;
  float mean = 0.0f;
  s = mote::train_step(h->model, xv, tv, l, cfg, step, &mean);
  if (mean_loss) *mean_loss = mean;
  return to_c(s);
}

mote_status mote_model_evaluate(mote_model* model, const float* x, const float* target, int32_t rows,
                                mote_loss loss, float* mean_loss, float* rounded_accuracy) {
  Handle* h = handle(model);
  if (h == nullptr || x == nullptr || rows < 1) return MOTE_INVALID_ARGUMENT;
  if (loss != MOTE_LOSS_BCE && loss != MOTE_LOSS_MSE) return MOTE_INVALID_ARGUMENT;
  const mote::ModelSpec& spec = h->model.spec();
  if (target == nullptr && spec.input != spec.output()) return MOTE_SHAPE_MISMATCH;
  mote::EvalResult r;
  const Status s = mote::evaluate(h->model, rows_of(x, rows, spec.input),
                                  target ? rows_of(target, rows, spec.output()) : mote::ConstMatrixView{},
                                  static_cast<mote::Loss>(loss), &r);
  if (s != Status::ok) return to_c(s);
  if (mean_loss) *mean_loss = static_cast<float>(r.loss);
  if (rounded_accuracy) *rounded_accuracy = static_cast<float>(r.rounded_accuracy);
  return MOTE_OK;
}

void mote_optimizer_init(mote_optimizer* opt, mote_optimizer_kind kind, float lr) {
  if (opt == nullptr) return;
  const mote::OptimizerConfig d;
  opt->kind = static_cast<int32_t>(kind);
  opt->lr = lr;
  opt->momentum = d.momentum;
  opt->beta1 = d.beta1;
  opt->beta2 = d.beta2;
  opt->epsilon = d.epsilon;
}

const char* mote_status_message(mote_status s) {
  // (Enums may be one byte on bare-metal EABI: compare as unsigned.)
  if (static_cast<unsigned>(s) > static_cast<unsigned>(MOTE_NON_FINITE)) return "unknown status";
  return mote::status_message(static_cast<Status>(s));
}

const char* mote_isa(void) { return mote::gemm::active_isa(); }

void mote_log(const char* fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  mote::platform::vformat(line, sizeof line, fmt, ap);
  va_end(ap);
  mote::platform::log("%s", line);
}

}  // extern "C"
