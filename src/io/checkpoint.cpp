#include "io/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "io/model_file.h"
#include "mote/model_image.h"

namespace mote::io {

namespace {

constexpr uint32_t kTrainStateVersion = 1;

struct Writer {
  unsigned char* p;
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) *p++ = static_cast<unsigned char>(v >> (8 * i));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) *p++ = static_cast<unsigned char>(v >> (8 * i));
  }
  void f32(float v) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    u32(u);
  }
  void f64(double v) {
    uint64_t u;
    std::memcpy(&u, &v, 8);
    u64(u);
  }
};
struct Reader {
  const unsigned char* p;
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{*p++} << (8 * i);
    return v;
  }
  uint64_t u64() {
    const uint64_t lo = u32();
    return lo | (uint64_t{u32()} << 32);
  }
  float f32() {
    const uint32_t u = u32();
    float v;
    std::memcpy(&v, &u, 4);
    return v;
  }
  double f64() {
    const uint64_t u = u64();
    double v;
    std::memcpy(&v, &u, 8);
    return v;
  }
};

}  // namespace

int schedule_stages(const char* model) { return std::strcmp(model, "greedy") == 0 ? kGreedyStages : 1; }

const ModelSpec* greedy_stage_spec(int stage) {
  switch (stage) {
    case 0: return &reference::greedy_ae1;
    case 1: return &reference::greedy_ae2;
    case 2: return &reference::stacked;
    default: return nullptr;
  }
}

bool same_spec(const ModelSpec& a, const ModelSpec& b) {
  if (a.input != b.input || a.num_layers != b.num_layers) return false;
  for (int i = 0; i < a.num_layers && i < kMaxLayers; ++i) {
    const LayerSpec &x = a.layers[i], &y = b.layers[i];
    if (x.kind != y.kind || x.act != y.act || x.tie != y.tie || x.in != y.in || x.out != y.out) return false;
  }
  return true;
}

void encode_train_state(const TrainState& s, unsigned char out[kTrainStateBytes]) {
  std::memset(out, 0, kTrainStateBytes);
  Writer w{out};
  w.u32(kTrainStateVersion);
  // The name up to its NUL, zero after it (at most 15 characters: byte 15 is always NUL).
  for (int i = 0, end = 0; i < 16; ++i) {
    end = end || s.model[i] == '\0' || i == 15;
    *w.p++ = end ? 0 : static_cast<unsigned char>(s.model[i]);
  }
  w.u64(s.seed);
  w.u32(static_cast<uint32_t>(s.batch));
  w.u32(static_cast<uint32_t>(s.limit));
  w.u32(static_cast<uint32_t>(s.loss));
  w.u32(static_cast<uint32_t>(s.optimizer.kind));
  w.f32(s.optimizer.lr);
  w.f32(s.optimizer.momentum);
  w.f32(s.optimizer.beta1);
  w.f32(s.optimizer.beta2);
  w.f32(s.optimizer.epsilon);
  w.u32(static_cast<uint32_t>(s.stage));
  w.u32(static_cast<uint32_t>(s.epochs_done));
  w.u64(static_cast<uint64_t>(s.step_in_epoch));
  w.u64(static_cast<uint64_t>(s.global_step));
  w.u64(s.rng_state);
  w.u64(s.rng_inc);
  w.f64(s.loss_sum);
  w.u64(static_cast<uint64_t>(s.rows_seen));
  w.u32(s.flags);
  // 4 + 16 + 8 + 4*10 + 8*6 + 4 = 120 bytes used, the rest reserved (zero)
}

const char* decode_train_state(const unsigned char* in, std::size_t n, TrainState* s) {
  if (n != kTrainStateBytes) return "training state: wrong size";
  Reader r{in};
  if (r.u32() != kTrainStateVersion) return "training state: unknown version";
  TrainState t;
  std::memcpy(t.model, r.p, 16);
  r.p += 16;
  if (t.model[15] != '\0') return "training state: model name is not terminated";
  for (std::size_t i = std::strlen(t.model); i < 16; ++i)
    if (t.model[i] != '\0') return "training state: bytes after the model name are not zero";
  t.seed = r.u64();
  const uint32_t batch = r.u32(), limit = r.u32(), loss = r.u32(), kind = r.u32();
  if (batch < 1 || batch > (1u << 20)) return "training state: batch out of range";
  if (limit > INT32_MAX) return "training state: limit out of range";
  if (loss > 1) return "training state: unknown loss";
  if (kind > 3) return "training state: unknown optimizer";
  t.batch = static_cast<int32_t>(batch);
  t.limit = static_cast<int32_t>(limit);
  t.loss = static_cast<Loss>(loss);
  t.optimizer.kind = static_cast<Optimizer>(kind);
  t.optimizer.lr = r.f32();
  t.optimizer.momentum = r.f32();
  t.optimizer.beta1 = r.f32();
  t.optimizer.beta2 = r.f32();
  t.optimizer.epsilon = r.f32();
  if (!std::isfinite(t.optimizer.lr) || !std::isfinite(t.optimizer.momentum) || !std::isfinite(t.optimizer.beta1) ||
      !std::isfinite(t.optimizer.beta2) || !std::isfinite(t.optimizer.epsilon) || t.optimizer.lr < 0)
    return "training state: optimizer settings are not finite";
  const uint32_t stage = r.u32(), epochs = r.u32();
  if (stage > 16) return "training state: stage out of range";
  if (epochs > 1000000) return "training state: epoch count out of range";
  t.stage = static_cast<int32_t>(stage);
  t.epochs_done = static_cast<int32_t>(epochs);
  const uint64_t step_in_epoch = r.u64(), global = r.u64();
  if (step_in_epoch > (uint64_t{1} << 40) || global > (uint64_t{1} << 60)) return "training state: step out of range";
  t.step_in_epoch = static_cast<int64_t>(step_in_epoch);
  t.global_step = static_cast<int64_t>(global);
  t.rng_state = r.u64();
  t.rng_inc = r.u64();
  if ((t.rng_inc & 1u) == 0) return "training state: RNG increment must be odd";
  t.loss_sum = r.f64();
  if (!std::isfinite(t.loss_sum) || t.loss_sum < 0) return "training state: partial loss is not finite";
  const uint64_t rows = r.u64();
  if (rows > (uint64_t{1} << 40)) return "training state: row count out of range";
  t.rows_seen = static_cast<int64_t>(rows);
  t.flags = r.u32();
  if (t.flags & ~kTrainFixedLr) return "training state: unknown flags";
  for (const unsigned char* q = r.p; q < in + kTrainStateBytes; ++q)
    if (*q != 0) return "training state: reserved bytes are not zero";
  *s = t;
  return nullptr;
}

Status save_checkpoint(const char* path, const Checkpoint& c, Error* err) {
  unsigned char layers[kLayerTableMaxBytes];
  const std::size_t lb = encode_layer_table(c.spec, layers);
  if (lb == 0) return err->set(Status::invalid_model, "%s: refusing to save an invalid model", path);
  if (c.params.size() != param_count(c.spec))
    return err->set(Status::shape_mismatch, "%s: %zu parameters for a model of %zu", path, c.params.size(),
                    param_count(c.spec));
  unsigned char prev_layers[kLayerTableMaxBytes];
  std::size_t plb = 0;
  if (!c.prev_params.empty()) {
    plb = encode_layer_table(c.prev_spec, prev_layers);
    if (plb == 0) return err->set(Status::invalid_model, "%s: refusing to save an invalid earlier-stage model", path);
    if (c.prev_params.size() != param_count(c.prev_spec))
      return err->set(Status::shape_mismatch, "%s: %zu parameters for an earlier-stage model of %zu", path,
                      c.prev_params.size(), param_count(c.prev_spec));
  }
  unsigned char state[kTrainStateBytes];
  encode_train_state(c.state, state);
  const ImageSection sections[] = {
      {kTagLayers, ImageDtype::bytes, layers, lb, 0, 0},
      {kTagParams, ImageDtype::f32, reinterpret_cast<const unsigned char*>(c.params.data()),
       c.params.size() * sizeof(float), 0, 0},
      {kTagTrainState, ImageDtype::bytes, state, sizeof state, 0, 0},
      {kTagOptState, ImageDtype::f32, reinterpret_cast<const unsigned char*>(c.opt_state.data()),
       c.opt_state.size() * sizeof(float), 0, 0},
      {kTagHistory, ImageDtype::f64, reinterpret_cast<const unsigned char*>(c.history.data()),
       c.history.size() * sizeof(double), 0, 0},
      {kTagPrevLayers, ImageDtype::bytes, prev_layers, plb, 0, 0},
      {kTagPrevParams, ImageDtype::f32, reinterpret_cast<const unsigned char*>(c.prev_params.data()),
       c.prev_params.size() * sizeof(float), 0, 0},
  };
  return write_image_file(path, sections, plb ? 7 : 5, err);
}

Status load_checkpoint(const char* path, Checkpoint* c, Error* err) {
  std::vector<unsigned char> b;
  Status s = read_file(path, kMaxModelFileBytes, &b, err);
  if (s != Status::ok) return s;
  return parse_checkpoint(path, b.data(), b.size(), c, err);
}

Status parse_checkpoint(const char* path, const unsigned char* data, std::size_t size, Checkpoint* c, Error* err) {
  ModelImage img;
  ImageError why;
  if (parse_model_image(data, size, &img, &why) != Status::ok) return image_error(path, why, err);
  const ImageSection* ts = img.image.find(kTagTrainState);
  const ImageSection* os = img.image.find(kTagOptState);
  const ImageSection* hs = img.image.find(kTagHistory);
  const ImageSection* pl = img.image.find(kTagPrevLayers);
  const ImageSection* pp = img.image.find(kTagPrevParams);
  if (!ts || !os || !hs)
    return err->set(Status::bad_file, "%s: a model file, not a checkpoint (no training state)", path);
  for (int i = 0; i < img.image.count; ++i) {
    const uint32_t tag = img.image.sections[i].tag;
    if (tag != kTagLayers && tag != kTagParams && tag != kTagTrainState && tag != kTagOptState &&
        tag != kTagHistory && tag != kTagPrevLayers && tag != kTagPrevParams)
      return err->set(Status::bad_file, "%s: checkpoint section %d has an unknown tag", path, i);
  }
  if (ts->dtype != ImageDtype::bytes || os->dtype != ImageDtype::f32 || hs->dtype != ImageDtype::f64 ||
      (pl && pl->dtype != ImageDtype::bytes) || (pp && pp->dtype != ImageDtype::f32))
    return err->set(Status::bad_file, "%s: checkpoint sections have the wrong dtype", path);
  TrainState st;
  if (const char* bad = decode_train_state(ts->data, ts->bytes, &st))
    return err->set(Status::bad_file, "%s: %s", path, bad);
  if (hs->bytes / sizeof(double) != 3 * static_cast<std::size_t>(st.epochs_done))
    return err->set(Status::bad_file, "%s: history holds %zu values for %d completed epochs", path,
                    hs->bytes / sizeof(double), st.epochs_done);
  // The schedule: the stage exists, and a greedy run in stage 1 carries AE1
  // (an autoencoder whose codings are the stage's input), nothing else does.
  const int stages = schedule_stages(st.model);
  if (st.stage >= stages)
    return err->set(Status::bad_file, "%s: training state: stage %d of a '%s' run, which has %d", path, st.stage,
                    st.model, stages);
  const bool needs_prev = stages == kGreedyStages && st.stage == 1;
  if (!needs_prev && (pl || pp))
    return err->set(Status::bad_file, "%s: an earlier stage's model in a checkpoint of %s stage %d, which has none",
                    path, st.model, st.stage);
  ModelSpec prev{};
  if (needs_prev) {
    if (!pl || !pp)
      return err->set(Status::bad_file, "%s: a greedy checkpoint in stage 1 without the first stage's model (PLYR, PPRM)",
                      path);
    if (parse_layer_table(pl->data, pl->bytes, &prev, &why) != Status::ok) {
      char what[160];
      std::snprintf(what, sizeof what, "first stage's %s", why.what);
      why.what = what;
      return image_error(path, why, err);
    }
    if (pp->bytes / sizeof(float) != param_count(prev))
      return err->set(Status::bad_file, "%s: the first stage's model has %zu parameters, its section holds %zu", path,
                      param_count(prev), pp->bytes / sizeof(float));
    if (prev.output() != prev.input || prev.layers[0].out != img.spec.input)
      return err->set(Status::bad_file,
                      "%s: the first stage's model (%d -> %d, codings %d) is not an autoencoder whose codings feed "
                      "this stage's %d inputs",
                      path, prev.input, prev.output(), prev.layers[0].out, img.spec.input);
  }
  c->spec = img.spec;
  c->params.resize(img.param_floats);
  if (img.param_floats) std::memcpy(c->params.data(), img.params, img.param_floats * sizeof(float));
  c->opt_state.resize(os->bytes / sizeof(float));
  if (os->bytes) std::memcpy(c->opt_state.data(), os->data, os->bytes);
  c->history.resize(hs->bytes / sizeof(double));
  if (hs->bytes) std::memcpy(c->history.data(), hs->data, hs->bytes);
  c->prev_spec = prev;
  c->prev_params.resize(needs_prev ? pp->bytes / sizeof(float) : 0);
  if (needs_prev && pp->bytes) std::memcpy(c->prev_params.data(), pp->data, pp->bytes);
  c->state = st;
  return Status::ok;
}

}  // namespace mote::io
