/* mote on a Cortex-M: a tied autoencoder trained on the host, embedded as a
 * const array in flash, runs inference on a few test images and fine-tunes on
 * the device from a static arena (no heap anywhere: see the link map).
 *
 * Build-time choices (examples/cortex-m/CMakeLists.txt builds one image each):
 *   FW_TRAIN  0 inference only, 1 biases only (kernels stay in flash),
 *             2 last layer (its bias + the tied kernel it reads, in RAM),
 *             3 everything (all weights copied to RAM)
 * The model header comes from `mote export --c-header --name tied`, the images
 * from tools/make_samples. Plain C99 over mote/mote.h: it builds for the host
 * too, which is how its learning rates were chosen. */
#include <stdint.h>

#include "mote/mote.h"

#if defined(MOTE_FW_BOARD)
#define MOTE_WEIGHTS_ATTR __attribute__((section(".weights"), aligned(16)))
#define MOTE_SAMPLES_ATTR __attribute__((section(".samples"), aligned(4)))
#endif
#include "samples.h"
#include "tied_model.h"

#if defined(MOTE_FW_BOARD)
#include <stddef.h>
size_t mote_fw_stack_used(void);     /* board/: high-water mark of the painted stack */
size_t mote_fw_stack_reserved(void); /* board/: bytes the linker script reserves */
#define LOG_STACK() \
  mote_log("stack used: %u of %u bytes", (unsigned)mote_fw_stack_used(), (unsigned)mote_fw_stack_reserved())
#else
#define LOG_STACK() ((void)0)
#endif

#ifndef FW_TRAIN
#define FW_TRAIN 1
#endif
#ifndef FW_EPOCHS
#define FW_EPOCHS 5
#endif

#if FW_TRAIN == 0
#define ARENA_BYTES TIED_ARENA_BYTES_INFERENCE
#define MODE_NAME "inference only"
#define FW_LR_DEFAULT 0.0f
#elif FW_TRAIN == 1
#define ARENA_BYTES TIED_ARENA_BYTES_BIASES
#define MODE_NAME "fine-tune biases"
#define FW_LR_DEFAULT 5.0f /* bias gradients are small: a step over 784 pixels' mean */
#elif FW_TRAIN == 2
#define ARENA_BYTES TIED_ARENA_BYTES_LAST_LAYER
#define MODE_NAME "fine-tune last layer"
#define FW_LR_DEFAULT 0.5f
#else
#define ARENA_BYTES TIED_ARENA_BYTES_ALL
#define MODE_NAME "fine-tune all"
#define FW_LR_DEFAULT 0.5f
#endif
#ifndef FW_LR
#define FW_LR FW_LR_DEFAULT
#endif

/* RAM: the handle, the arena and the stack; nothing else. The images are
 * const float arrays (flash) that mote reads where they lie. */
static mote_model model;
static unsigned char arena[ARENA_BYTES] MOTE_ALIGNED;

/* Mean BCE of n images, one at a time (the arena holds batch 1). */
static float mean_loss(const float (*images)[SAMPLES_PIXELS], int n, float* acc) {
  float sum = 0.0f, asum = 0.0f, l = 0.0f, a = 0.0f;
  int i;
  for (i = 0; i < n; ++i) {
    if (mote_model_evaluate(&model, images[i], NULL, 1, MOTE_LOSS_BCE, &l, &a) != MOTE_OK) return -1.0f;
    sum += l;
    asum += a;
  }
  if (acc) *acc = asum / (float)n;
  return sum / (float)n;
}

/* The input and its reconstruction side by side, 14x14 in characters. */
static void draw(const float* in, const float* out) {
  static const char shades[] = " .:-=+*#%@";
  char line[2 * 14 + 8];
  int r, c, k;
  for (r = 0; r < 28; r += 2) {
    k = 0;
    for (c = 0; c < 28; c += 2) line[k++] = shades[(int)(in[r * 28 + c] * 9.99f)];
    line[k++] = ' ';
    line[k++] = '|';
    line[k++] = ' ';
    for (c = 0; c < 28; c += 2) line[k++] = shades[(int)(out[r * 28 + c] * 9.99f)];
    line[k] = '\0';
    mote_log("  %s", line);
  }
}

static int fail(const char* what, mote_status s) {
  mote_log("firmware: %s: %s", what, mote_status_message(s));
  return 2;
}

int main(void) {
  mote_options opt;
  mote_status s;
  float acc = 0.0f;
  int i;
  const float* y = 0;

  mote_options_init(&opt);
  opt.batch = 1;
  opt.train = FW_TRAIN;
  opt.external_weights = FW_TRAIN != 3;
  mote_log("mote firmware: %s, kernels %s", MODE_NAME, mote_isa());
  s = mote_model_bind(&model, &tied_spec, &opt, arena, sizeof arena, tied_params, TIED_PARAM_COUNT);
  if (s != MOTE_OK) return fail("bind", s);
  /* Arena-resident parameters (what this mode trains) start from the flash copy. */
  s = mote_model_set_params(&model, tied_params, TIED_PARAM_COUNT);
  if (s != MOTE_OK) return fail("set_params", s);
  mote_log("model: %d -> %d, %u params in flash (%u bytes), %u trainable in RAM, arena %u bytes",
           TIED_INPUT, TIED_OUTPUT, (unsigned)TIED_PARAM_COUNT, (unsigned)(TIED_PARAM_COUNT * sizeof(float)),
           (unsigned)mote_model_trainable_count(&model), (unsigned)mote_model_arena_used(&model));

  /* Inference on a few test images. */
  for (i = 0; i < SAMPLES_INFER; ++i) {
    float l = mean_loss(&samples_infer[i], 1, &acc);
    mote_log("inference: test image %d: loss %.4f, rounded accuracy %.3f", i, (double)l, (double)acc);
  }
  s = mote_model_forward(&model, samples_infer[0], 1, &y);
  if (s != MOTE_OK) return fail("forward", s);
  mote_log("test image 0 and its reconstruction:");
  draw(samples_infer[0], y);

#if FW_TRAIN == 0
  LOG_STACK();
  mote_log("result: PASS (inference only)");
  return 0;
#else
  {
    mote_optimizer sgd;
    float before, after, held_before, held_after, l = 0.0f, epoch_sum;
    int64_t step = 0;
    int e;
    before = mean_loss(samples_tune, SAMPLES_TUNE, 0);
    held_before = mean_loss(samples_heldout, SAMPLES_HELDOUT, 0);
    mote_optimizer_init(&sgd, MOTE_SGD, FW_LR);
    mote_log("fine-tuning on %d images of class %d: %d epochs, batch 1, SGD lr %.2f", SAMPLES_TUNE, SAMPLES_CLASS,
             FW_EPOCHS, (double)FW_LR);
    for (e = 1; e <= FW_EPOCHS; ++e) {
      epoch_sum = 0.0f;
      for (i = 0; i < SAMPLES_TUNE; ++i) {
        s = mote_model_train_step(&model, samples_tune[i], NULL, 1, MOTE_LOSS_BCE, &sgd, ++step, &l);
        if (s != MOTE_OK) return fail("train step", s);
        epoch_sum += l;
      }
      mote_log("  epoch %d: mean step loss %.5f", e, (double)(epoch_sum / (float)SAMPLES_TUNE));
    }
    after = mean_loss(samples_tune, SAMPLES_TUNE, 0);
    held_after = mean_loss(samples_heldout, SAMPLES_HELDOUT, 0);
    mote_log("held-out images of class %d: loss before %.5f after %.5f", SAMPLES_CLASS, (double)held_before,
             (double)held_after);
    mote_log("reconstruction loss: before %.5f after %.5f", (double)before, (double)after);
    LOG_STACK();
    mote_log("result: %s", after < before ? "PASS" : "FAIL");
    return after < before ? 0 : 1;
  }
#endif
}
