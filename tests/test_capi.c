/* The C API from C99: specs, planning, binding in caller memory, inference,
 * training steps in every fine-tuning mode, weights in and out, and the
 * errors a C caller can make. Prints the kernel set that ran. */
#include "mote/mote.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    ++checks;                                                         \
    if (!(cond)) {                                                    \
      ++failures;                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)
#define CHECK_OK(expr) CHECK((expr) == MOTE_OK)

/* Deterministic data in [0, 1): a 32-bit LCG (seed printed on failure). */
static uint32_t lcg_state = 12345u;
static float next_unit(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return (float)(lcg_state >> 8) * (1.0f / 16777216.0f);
}

static unsigned char arena_a[512 * 1024] MOTE_ALIGNED;
static unsigned char arena_b[512 * 1024] MOTE_ALIGNED;
static float params_a[82414];
static float params_b[82414];
static float image[784];
static float y_copy[784];

/* A small tied autoencoder: 16 -> 8 SELU -> 16 sigmoid (decoder reads W0^T). */
static void small_tied(mote_spec* s) {
  mote_spec_init(s, 16);
  mote_spec_dense(s, 8, MOTE_SELU);
  mote_spec_dense_transpose(s, 0, MOTE_SIGMOID);
}

static void test_specs(void) {
  mote_spec s;
  mote_spec_tied(&s);
  CHECK_OK(mote_spec_validate(&s));
  CHECK(mote_spec_param_count(&s) == 82414u);
  CHECK(mote_spec_output(&s) == 784);

  /* A DenseTranspose must name an earlier Dense layer. */
  mote_spec_init(&s, 10);
  CHECK(mote_spec_dense_transpose(&s, 0, MOTE_SELU) == MOTE_INVALID_MODEL);
  CHECK_OK(mote_spec_dense(&s, 4, MOTE_SELU));
  CHECK(mote_spec_dense_transpose(&s, 1, MOTE_SELU) == MOTE_INVALID_MODEL);
  CHECK_OK(mote_spec_dense_transpose(&s, 0, MOTE_SIGMOID));
  CHECK(mote_spec_output(&s) == 10);
  CHECK(mote_spec_param_count(&s) == 10u * 4u + 4u + 10u);

  /* Full spec, bad enums and widths. */
  {
    int i;
    mote_spec_init(&s, 4);
    for (i = 0; i < MOTE_MAX_LAYERS; ++i) CHECK_OK(mote_spec_dense(&s, 4, MOTE_LINEAR));
    CHECK(mote_spec_dense(&s, 4, MOTE_LINEAR) == MOTE_INVALID_MODEL);
  }
  mote_spec_init(&s, 4);
  mote_spec_dense(&s, 4, MOTE_LINEAR);
  s.layers[0].act = 7;
  CHECK(mote_spec_validate(&s) == MOTE_INVALID_MODEL);
  CHECK(mote_spec_param_count(&s) == 0u);
  s.layers[0].act = MOTE_SELU;
  s.layers[0].out = 0;
  CHECK(mote_spec_validate(&s) == MOTE_INVALID_MODEL);
  s.num_layers = 99;
  CHECK(mote_spec_validate(&s) == MOTE_INVALID_MODEL);
  CHECK(mote_spec_validate(NULL) == MOTE_INVALID_ARGUMENT);
}

static void test_planning(void) {
  mote_spec s;
  mote_options o;
  size_t infer, biases, last, all;
  mote_spec_tied(&s);
  mote_options_init(&o);
  CHECK(o.batch == 1 && o.train == MOTE_TRAIN_NONE && o.external_weights == 0);
  o.external_weights = 1;
  infer = mote_arena_bytes(&s, &o);
  o.train = MOTE_TRAIN_BIASES;
  biases = mote_arena_bytes(&s, &o);
  o.train = MOTE_TRAIN_LAST_LAYER;
  last = mote_arena_bytes(&s, &o);
  o.external_weights = 0;
  o.train = MOTE_TRAIN_ALL;
  all = mote_arena_bytes(&s, &o);
  printf("test_capi: tied arena bytes at batch 1: inference %zu, biases %zu, last layer %zu, all %zu\n", infer,
         biases, last, all);
  /* The budgets: inference <= 8 KiB, bias-only fine-tuning < 16 KiB. */
  CHECK(infer > 0 && infer <= 8u * 1024u);
  CHECK(biases > infer && biases < 16u * 1024u);
  CHECK(last > biases && all > last);
  CHECK(all >= 2u * 82414u * sizeof(float)); /* weights and their gradients */

  o.batch = 0;
  CHECK(mote_arena_bytes(&s, &o) == 0u);
  o.batch = 1;
  o.train = 9;
  CHECK(mote_arena_bytes(&s, &o) == 0u);
  o.train = MOTE_TRAIN_NONE;
  o.external_weights = 2;
  CHECK(mote_arena_bytes(&s, &o) == 0u);
  CHECK(mote_arena_bytes(NULL, &o) == 0u);
}

static void test_errors(void) {
  mote_model m;
  mote_spec s;
  mote_options o;
  const float* y = NULL;
  float loss = 0.0f;
  mote_optimizer sgd;
  memset(&m, 0, sizeof m);
  mote_optimizer_init(&sgd, MOTE_SGD, 0.1f);

  /* Nothing works on a handle that was never bound. */
  CHECK(mote_model_forward(&m, image, 1, &y) == MOTE_INVALID_ARGUMENT);
  CHECK(mote_model_train_step(&m, image, NULL, 1, MOTE_LOSS_BCE, &sgd, 1, &loss) == MOTE_INVALID_ARGUMENT);
  CHECK(mote_model_param_count(&m) == 0u);
  CHECK(mote_model_init_glorot(&m, 1) == MOTE_INVALID_ARGUMENT);
  CHECK(mote_model_forward(NULL, image, 1, &y) == MOTE_INVALID_ARGUMENT);

  mote_spec_tied(&s);
  mote_options_init(&o);
  CHECK(mote_model_bind(&m, &s, &o, arena_a, 1000, NULL, 0) == MOTE_ARENA_TOO_SMALL);
  CHECK(mote_model_forward(&m, image, 1, &y) == MOTE_INVALID_ARGUMENT); /* a failed bind leaves it unbound */
  o.external_weights = 1;
  CHECK(mote_model_bind(&m, &s, &o, arena_a, sizeof arena_a, NULL, 0) == MOTE_INVALID_ARGUMENT);
  CHECK(mote_model_bind(&m, &s, &o, arena_a, sizeof arena_a, params_a, 100) == MOTE_INVALID_ARGUMENT);
  o.external_weights = 0;
  CHECK(mote_model_bind(NULL, &s, &o, arena_a, sizeof arena_a, NULL, 0) == MOTE_INVALID_ARGUMENT);

  CHECK_OK(mote_model_bind(&m, &s, &o, arena_a, sizeof arena_a, NULL, 0));
  CHECK(mote_model_forward(&m, image, 2, &y) == MOTE_SHAPE_MISMATCH); /* rows > batch */
  CHECK(mote_model_forward(&m, image, 0, &y) == MOTE_SHAPE_MISMATCH);
  CHECK(mote_model_forward(&m, NULL, 1, &y) == MOTE_INVALID_ARGUMENT);
  /* Planned for inference: no training step. */
  CHECK(mote_model_train_step(&m, image, NULL, 1, MOTE_LOSS_BCE, &sgd, 1, &loss) == MOTE_INVALID_ARGUMENT);
  CHECK(mote_model_set_params(&m, params_a, 5) == MOTE_SHAPE_MISMATCH);
  CHECK(strcmp(mote_status_message(MOTE_ARENA_TOO_SMALL), "arena too small") == 0);
  CHECK(strcmp(mote_status_message((mote_status)99), "unknown status") == 0);

  /* Adam needs state the arena was not planned with. */
  o.train = MOTE_TRAIN_BIASES;
  CHECK_OK(mote_model_bind(&m, &s, &o, arena_a, sizeof arena_a, NULL, 0));
  {
    mote_optimizer adam;
    mote_optimizer_init(&adam, MOTE_ADAM, 0.001f);
    CHECK(mote_model_train_step(&m, image, NULL, 1, MOTE_LOSS_BCE, &adam, 1, &loss) == MOTE_INVALID_ARGUMENT);
    CHECK(mote_model_train_step(&m, image, NULL, 1, MOTE_LOSS_BCE, &sgd, 0, &loss) == MOTE_INVALID_ARGUMENT);
    CHECK(mote_model_train_step(&m, image, NULL, 1, (mote_loss)5, &sgd, 1, &loss) == MOTE_INVALID_ARGUMENT);
  }
}

/* Weights out of one model and into another whose kernels stay in the
 * caller's blob: the same outputs, bit for bit. */
static void test_weights_round_trip(void) {
  mote_model full, flash;
  mote_spec s;
  mote_options o;
  const float* y = NULL;
  const float* y2 = NULL;
  size_t i, n;
  mote_spec_tied(&s);
  mote_options_init(&o);
  CHECK_OK(mote_model_bind(&full, &s, &o, arena_a, sizeof arena_a, NULL, 0));
  CHECK_OK(mote_model_init_glorot(&full, 42));
  n = mote_model_param_count(&full);
  CHECK(n == 82414u);
  for (i = 0; i < n; ++i) params_a[i] = -1.0f;
  CHECK_OK(mote_model_get_params(&full, params_a, n));
  for (i = 78400; i < 78500; ++i) CHECK(params_a[i] == 0.0f); /* layer 0's bias: Glorot zeroes it */
  for (i = 0; i < 784; ++i) image[i] = next_unit();
  CHECK_OK(mote_model_predict(&full, image, 1, y_copy));

  o.external_weights = 1;
  CHECK(mote_arena_bytes(&s, &o) <= 8u * 1024u);
  CHECK_OK(mote_model_bind(&flash, &s, &o, arena_b, 8u * 1024u, params_a, n));
  CHECK(mote_model_arena_used(&flash) == mote_arena_bytes(&s, &o));
  CHECK(mote_model_trainable_count(&flash) == 0u);
  CHECK_OK(mote_model_forward(&flash, image, 1, &y2));
  CHECK(y2 != NULL);
  {
    int same = 1;
    for (i = 0; i < 784; ++i) same &= y2[i] == y_copy[i];
    CHECK(same);
  }
  /* Reading back from the external model gives the blob. */
  CHECK_OK(mote_model_get_params(&flash, params_b, n));
  CHECK(memcmp(params_a, params_b, n * sizeof(float)) == 0);
  (void)y;
}

/* One fine-tuning mode on the small tied model, trained from a blob that
 * stays read-only: the loss on the batch goes down, the blob is untouched. */
static void fine_tune(int mode, int external, const char* name) {
  enum { kRows = 8, kIn = 16, kSteps = 200 };
  static float x[kRows * kIn];
  static float blob[16 * 8 + 8 + 16];
  static float blob_copy[16 * 8 + 8 + 16];
  mote_model ref, m;
  mote_spec s;
  mote_options o;
  mote_optimizer sgd;
  float before = 0.0f, after = 0.0f, step_loss = 0.0f, acc = 0.0f;
  int i, r, step;
  const size_t n = sizeof blob / sizeof blob[0];

  small_tied(&s);
  CHECK(mote_spec_param_count(&s) == n);
  /* Blob: a Glorot model from the API itself. */
  mote_options_init(&o);
  CHECK_OK(mote_model_bind(&ref, &s, &o, arena_a, sizeof arena_a, NULL, 0));
  mote_model_init_glorot(&ref, 7);
  CHECK_OK(mote_model_get_params(&ref, blob, n));
  memcpy(blob_copy, blob, sizeof blob);
  /* Data: two prototypes with noise, so the model has something to learn. */
  for (r = 0; r < kRows; ++r)
    for (i = 0; i < kIn; ++i) x[r * kIn + i] = (((i + r) & 1) ? 0.8f : 0.1f) + 0.1f * next_unit();

  mote_options_init(&o);
  o.batch = kRows;
  o.train = mode;
  o.external_weights = external;
  CHECK_OK(mote_model_bind(&m, &s, &o, arena_b, sizeof arena_b, blob, n));
  CHECK_OK(mote_model_set_params(&m, blob, n));
  CHECK(mote_model_batch(&m) == kRows);
  CHECK_OK(mote_model_evaluate(&m, x, NULL, kRows, MOTE_LOSS_BCE, &before, &acc));
  mote_optimizer_init(&sgd, MOTE_SGD, 0.5f);
  for (step = 1; step <= kSteps; ++step)
    CHECK_OK(mote_model_train_step(&m, x, NULL, kRows, MOTE_LOSS_BCE, &sgd, step, &step_loss));
  CHECK_OK(mote_model_evaluate(&m, x, NULL, kRows, MOTE_LOSS_BCE, &after, &acc));
  printf("test_capi: fine-tune %-10s (%s) trainable %4zu  loss %.5f -> %.5f\n", name,
         external ? "kernels external" : "all in arena", mote_model_trainable_count(&m), (double)before,
         (double)after);
  CHECK(isfinite(after));
  CHECK(after < before);
  CHECK(memcmp(blob, blob_copy, sizeof blob) == 0);
  /* The weights the model now has differ from the blob in what it trained. */
  {
    static float now[16 * 8 + 8 + 16];
    size_t k, changed_kernel = 0, changed_bias = 0;
    CHECK_OK(mote_model_get_params(&m, now, n));
    for (k = 0; k < 128; ++k) changed_kernel += now[k] != blob[k];
    for (k = 128; k < n; ++k) changed_bias += now[k] != blob[k];
    CHECK(changed_bias > 0);
    if (mode == MOTE_TRAIN_BIASES) CHECK(changed_kernel == 0);
    else CHECK(changed_kernel > 0);
  }
}

int main(void) {
  mote_log("test_capi: mote_log works (%d%%, %.2f)", 100, 0.5);
  printf("test_capi: kernels %s\n", mote_isa());
  printf("test_capi: data seed %u\n", (unsigned)lcg_state);
  test_specs();
  test_planning();
  test_errors();
  test_weights_round_trip();
  fine_tune(MOTE_TRAIN_BIASES, 1, "biases");
  fine_tune(MOTE_TRAIN_LAST_LAYER, 1, "last layer");
  fine_tune(MOTE_TRAIN_ALL, 0, "all");
  fine_tune(MOTE_TRAIN_BIASES, 0, "biases");
  printf("test_capi: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
