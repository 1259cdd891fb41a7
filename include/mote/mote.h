/* mote/mote.h - the C API: mote from C firmware and other languages' FFIs.
 *
 *   #include "mote/mote.h"
 *
 *   static mote_model model;                           // the handle (no heap)
 *   static unsigned char arena[64 * 1024] MOTE_ALIGNED; // the caller's bytes
 *
 *   mote_spec spec;
 *   mote_spec_tied(&spec);                             // or mote_spec_init + _dense ...
 *   mote_options opt;
 *   mote_options_init(&opt);                           // batch 1, inference only
 *   opt.train = MOTE_TRAIN_BIASES;                     // fine-tune the biases ...
 *   opt.external_weights = 1;                          // ... kernels stay in flash
 *   size_t need = mote_arena_bytes(&spec, &opt);       // exact, before binding
 *   mote_status s = mote_model_bind(&model, &spec, &opt, arena, sizeof arena,
 *                                   flash_params, MOTE_PARAMS_COUNT);
 *   if (s != MOTE_OK) log("%s", mote_status_message(s));
 *   mote_model_set_params(&model, flash_params, n);   // arena copies of trained params
 *
 *   mote_optimizer sgd;
 *   mote_optimizer_init(&sgd, MOTE_SGD, 0.01f);
 *   float loss;
 *   mote_model_train_step(&model, x, NULL, 1, MOTE_LOSS_BCE, &sgd, ++step, &loss);
 *   const float* y;
 *   mote_model_forward(&model, x, 1, &y);             // y: [rows][output], in the arena
 *
 * Contract
 * - Valid C99 (and C++). Nothing here allocates: the handle is a caller object,
 *   the arena is caller memory laid out by the planner (mote/spec.h); bind
 *   validates everything once, later calls only check cheap shapes.
 * - Every fallible call returns a mote_status; a call on a handle that is not
 *   bound returns MOTE_INVALID_ARGUMENT.
 * - Parameters are exchanged in the canonical order: for each layer, a Dense
 *   layer's kernel [in][out] row-major then its bias [out]; a DenseTranspose
 *   (tied) layer's own bias [out] only.
 * - With external_weights, parameters that are not trained are read where the
 *   caller's blob lies (e.g. a const array in flash); the blob must outlive the
 *   model. Trainable ones live in the arena: load them with set_params.
 * - The arena must be MOTE_ARENA_ALIGN-aligned, or MOTE_ARENA_ALIGN - 1 bytes
 *   larger than mote_arena_bytes().
 */
#ifndef MOTE_MOTE_H
#define MOTE_MOTE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_MAX_LAYERS 8
#define MOTE_ARENA_ALIGN 64
#if defined(__GNUC__) || defined(__clang__)
#define MOTE_ALIGNED __attribute__((aligned(MOTE_ARENA_ALIGN)))
#else
#define MOTE_ALIGNED
#endif

typedef enum mote_status {
  MOTE_OK = 0,
  MOTE_INVALID_ARGUMENT = 1, /* a parameter is out of range, or the handle is not bound */
  MOTE_INVALID_MODEL = 2,    /* layer chain, tie reference or activation is wrong */
  MOTE_SHAPE_MISMATCH = 3,   /* an operand does not have the shape the model needs */
  MOTE_ARENA_TOO_SMALL = 4,  /* the caller's bytes are fewer than the plan needs */
  MOTE_BAD_FILE = 5,
  MOTE_IO_ERROR = 6,
  MOTE_UNSUPPORTED = 7,      /* valid, but not built into this configuration */
  MOTE_NON_FINITE = 8        /* a loss or gradient became NaN or inf (weights untouched) */
} mote_status;

typedef enum mote_activation { MOTE_LINEAR = 0, MOTE_SELU = 1, MOTE_SIGMOID = 2 } mote_activation;
typedef enum mote_layer_kind { MOTE_DENSE = 0, MOTE_DENSE_TRANSPOSE = 1 } mote_layer_kind;
/* What a training step updates; MOTE_TRAIN_NONE plans for inference only. */
typedef enum mote_trainable {
  MOTE_TRAIN_NONE = 0,
  MOTE_TRAIN_BIASES = 1,     /* every bias; kernels may stay in flash */
  MOTE_TRAIN_LAST_LAYER = 2, /* the last layer's bias and the kernel it reads */
  MOTE_TRAIN_ALL = 3
} mote_trainable;
typedef enum mote_optimizer_kind { MOTE_SGD = 0, MOTE_MOMENTUM = 1, MOTE_NESTEROV = 2, MOTE_ADAM = 3 } mote_optimizer_kind;
typedef enum mote_loss { MOTE_LOSS_BCE = 0, MOTE_LOSS_MSE = 1 } mote_loss;

/* One layer. `tie`: for MOTE_DENSE_TRANSPOSE, the index of the Dense layer
 * whose kernel it reads transposed (-1 for Dense). Its input width is the
 * previous layer's output (or the model input). */
typedef struct mote_layer {
  int32_t kind; /* mote_layer_kind */
  int32_t act;  /* mote_activation */
  int32_t tie;
  int32_t out;
} mote_layer;

typedef struct mote_spec {
  int32_t input;
  int32_t num_layers;
  mote_layer layers[MOTE_MAX_LAYERS];
} mote_spec;

typedef struct mote_options {
  int32_t batch;            /* rows per forward/step, >= 1 */
  int32_t train;            /* mote_trainable */
  int32_t optimizer;        /* mote_optimizer_kind the arena holds state for */
  int32_t external_weights; /* 0 or 1 */
} mote_options;

typedef struct mote_optimizer {
  int32_t kind; /* mote_optimizer_kind */
  float lr;
  float momentum; /* momentum, nesterov */
  float beta1;    /* adam */
  float beta2;
  float epsilon;
} mote_optimizer;

/* The model handle: caller-owned storage for the bound model. Zero it or not;
 * only mote_model_bind makes it usable. Do not copy a bound handle.
 * Sized per pointer width: the bound model is about 184 bytes of fixed-size
 * fields plus 155 pointer-sized ones (804 bytes on 32-bit targets, 1,424 on
 * 64-bit), so this reserves 832 and 1,472 bytes; src/capi/capi.cpp checks the
 * fit at compile time on every target. */
typedef struct mote_model {
  uint64_t opaque[(192 + 160 * sizeof(void*)) / 8];
} mote_model;

/* ------------------------------------------------------------ specs */
void mote_spec_init(mote_spec* spec, int32_t input);
/* Appends a layer; MOTE_INVALID_MODEL when full or `partner` is not a Dense layer before it. */
mote_status mote_spec_dense(mote_spec* spec, int32_t out, mote_activation act);
mote_status mote_spec_dense_transpose(mote_spec* spec, int32_t partner, mote_activation act);
/* The reference tied autoencoder: 784-100-30 SELU, decoder tied, sigmoid out. */
void mote_spec_tied(mote_spec* spec);
mote_status mote_spec_validate(const mote_spec* spec);
int32_t mote_spec_output(const mote_spec* spec);
size_t mote_spec_param_count(const mote_spec* spec); /* 0 when invalid */

/* ------------------------------------------------------------ planning */
/* batch 1, MOTE_TRAIN_NONE, MOTE_SGD, no external weights. */
void mote_options_init(mote_options* opt);
/* Exact arena bytes from a MOTE_ARENA_ALIGN-aligned start; 0 when invalid. */
size_t mote_arena_bytes(const mote_spec* spec, const mote_options* opt);

/* ------------------------------------------------------------ the model */
/* Lays the model out in `arena`. `external` (canonical order, external_floats
 * >= mote_spec_param_count) is required with opt->external_weights, else ignored.
 * Arena-resident parameters start at zero: call init_glorot or set_params. */
mote_status mote_model_bind(mote_model* model, const mote_spec* spec, const mote_options* opt, void* arena,
                            size_t arena_size, const float* external, size_t external_floats);
/* Glorot-uniform kernels, zero biases (arena-resident parameters only). */
mote_status mote_model_init_glorot(mote_model* model, uint64_t seed);
/* All parameters, canonical order; n must equal mote_model_param_count. set
 * copies the arena-resident ones (external ones are read from the blob). */
mote_status mote_model_set_params(mote_model* model, const float* params, size_t n);
mote_status mote_model_get_params(const mote_model* model, float* params, size_t n);
size_t mote_model_param_count(const mote_model* model);     /* 0 when not bound */
size_t mote_model_trainable_count(const mote_model* model); /* 0 when not bound */
size_t mote_model_arena_used(const mote_model* model);      /* 0 when not bound */
int32_t mote_model_batch(const mote_model* model);          /* 0 when not bound */

/* x: [rows][input] contiguous, 1 <= rows <= batch. *y views the output
 * [rows][output] inside the arena, valid until the next call on the model. */
mote_status mote_model_forward(mote_model* model, const float* x, int32_t rows, const float** y);
/* As forward, copying the output to y [rows][output]. */
mote_status mote_model_predict(mote_model* model, const float* x, int32_t rows, float* y);
/* One step of forward, loss, backward and update on rows (<= batch) examples.
 * target NULL: the input (autoencoder). `step` counts from 1 (Adam's bias
 * correction). The model must be bound with a train mode, and BCE needs a
 * sigmoid output. *mean_loss (may be NULL) gets the loss before the update. */
mote_status mote_model_train_step(mote_model* model, const float* x, const float* target, int32_t rows,
                                  mote_loss loss, const mote_optimizer* opt, int64_t step, float* mean_loss);
/* Mean loss (and rounded accuracy, may be NULL) over any number of rows, in
 * batches of the model's batch. target NULL: the input. */
mote_status mote_model_evaluate(mote_model* model, const float* x, const float* target, int32_t rows,
                                mote_loss loss, float* mean_loss, float* rounded_accuracy);

/* ------------------------------------------------------------ misc */
/* Keras defaults (momentum 0.9, beta1 0.9, beta2 0.999, epsilon 1e-7). */
void mote_optimizer_init(mote_optimizer* opt, mote_optimizer_kind kind, float lr);
const char* mote_status_message(mote_status s);
/* The kernel set this build runs ("scalar", "neon", "avx2", ...): the best
   this CPU runs, or the one the environment variable MOTE_ISA names if this
   CPU runs it (an unknown or unrunnable name leaves the best set). */
const char* mote_isa(void);
/* printf-style line through the platform's console (stderr, UART, semihosting). */
void mote_log(const char* fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOTE_MOTE_H */
