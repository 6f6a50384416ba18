/* What the three training stages (train_ae, train_surrogate, train_diffusion)
 * share: their deck keys and the train_spec they describe.
 *
 * Each stage reads its own group, whose body mirrors the reference's
 * experiments/configs/train_<x>.yaml (so one deck can run every stage with
 * different batch sizes and learning rates):
 *   train_ae = {
 *     seed = 0;
 *     train = { epochs = 1024; epoch_size = 16384; batch_size = 64; accumulation = 1; };
 *     valid = { epoch_size = 4096; batch_size = 256; };
 *     optim = { @include "presets/optim/adamw.cfg" };
 *     fork  = { run = ""; target = "last"; strict = true; freeze = []; };
 *   };
 * Checkpoints and metrics go to <run.dir>/<stage>/. */
#ifndef LOLA_TRAIN_COMMON_H
#define LOLA_TRAIN_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "deck.h"
#include "train_loop.h"

/* clang-format off */
#define TRAIN_COMMON_KEYS(g)                                                                                      \
  {.path = g ".seed", .type = KEY_INT, .fallback = "0", .has_min = true, .min = 0,                                \
   .help = "seed of initialisation, data order, augmentations, masks and noise"},                                \
  {.path = g ".train.epochs", .type = KEY_INT, .fallback = "1024", .has_min = true, .min = 1,                     \
   .help = "training epochs"},                                                                                    \
  {.path = g ".train.epoch_size", .type = KEY_INT, .fallback = "16384", .has_min = true, .min = 1,                \
   .help = "training samples per epoch (a multiple of batch_size)"},                                              \
  {.path = g ".train.batch_size", .type = KEY_INT, .fallback = "64", .has_min = true, .min = 1,                   \
   .help = "global samples per optimiser step (a multiple of ranks x accumulation)"},                             \
  {.path = g ".train.accumulation", .type = KEY_INT, .fallback = "1", .has_min = true, .min = 1,                  \
   .help = "micro-batches per optimiser step on each rank"},                                                      \
  {.path = g ".train.prefetch", .type = KEY_BOOL, .fallback = "true",                                             \
   .help = "read the next batch on a helper thread while this one computes (ranks open the files themselves)"},   \
  {.path = g ".train.shard_optimizer", .type = KEY_BOOL, .fallback = "false",                                     \
   .help = "ZeRO-1: each rank gets the mean gradients of 1/ranks of the weights, keeps their AdamW moments, "       \
           "updates them and all-gathers the weights"},                                                              \
  {.path = g ".valid.epoch_size", .type = KEY_INT, .fallback = "4096", .has_min = true, .min = 1,                 \
   .help = "validation samples per epoch (a multiple of valid.batch_size)"},                                      \
  {.path = g ".valid.batch_size", .type = KEY_INT, .fallback = "256", .has_min = true, .min = 1,                  \
   .help = "global validation batch (a multiple of the rank count)"},                                             \
  {.path = g ".optim.name", .type = KEY_STRING, .fallback = "\"adamw\"", .help = "preset name (informative)"},   \
  {.path = g ".optim.optimizer", .type = KEY_STRING, .fallback = "\"adamw\"", .choices = "adamw",                 \
   .help = "optimiser (the reference's psgd and soap are not implemented)"},                                      \
  {.path = g ".optim.learning_rate", .type = KEY_FLOAT, .fallback = "1e-4", .has_min = true, .min = 0,            \
   .help = "base learning rate"},                                                                                 \
  {.path = g ".optim.betas", .type = KEY_FLOAT_LIST, .fallback = "[0.9, 0.99]", .has_min = true, .min = 0,        \
   .has_max = true, .max = 0.999999, .help = "AdamW (beta1, beta2)"},                                            \
  {.path = g ".optim.eps", .type = KEY_FLOAT, .fallback = "1e-8", .has_min = true, .min = 0,                      \
   .help = "AdamW epsilon (torch's default)"},                                                                    \
  {.path = g ".optim.weight_decay", .type = KEY_FLOAT, .fallback = "0.0", .has_min = true, .min = 0,              \
   .help = "decoupled weight decay"},                                                                             \
  {.path = g ".optim.warmup", .type = KEY_INT, .fallback = "0", .has_min = true, .min = 0,                        \
   .help = "epochs of linear learning-rate warmup"},                                                              \
  {.path = g ".optim.scheduler", .type = KEY_STRING, .fallback = "\"cosine\"",                                    \
   .choices = "none|linear|cosine|exponential", .help = "learning-rate schedule over the epochs"},       \
  {.path = g ".optim.grad_clip", .type = KEY_FLOAT, .fallback = "1.0",                                            \
   .help = "bound of the global gradient norm; <= 0 no clipping"},                                                \
  {.path = g ".fork.run", .type = KEY_STRING, .fallback = "\"\"",                                                 \
   .help = "run.dir of a run whose weights (of this stage) start this one; \"\" none"},                           \
  {.path = g ".fork.target", .type = KEY_STRING, .fallback = "\"last\"", .choices = "last|best",                  \
   .help = "which checkpoint of fork.run"},                                                                       \
  {.path = g ".fork.strict", .type = KEY_BOOL, .fallback = "true",                                                \
   .help = "every weight must match (torch's strict load_state_dict)"},                                           \
  {.path = g ".fork.freeze", .type = KEY_STRING_LIST, .fallback = "[]",                                           \
   .help = "parameter name prefixes kept frozen (\"encoder\", \"decoder\", \"backbone.blocks.0\")"}

/* The emulator stages' data keys (experiments/configs/train_{surrogate,diffusion}.yaml). */
#define EMULATOR_DATA_KEYS(g)                                                                                     \
  {.path = g ".ae_run", .type = KEY_STRING, .fallback = "\"\"",                                                   \
   .help = "run.dir of the train_ae + cache_latents run whose latents to learn; \"\" pixels"},                    \
  {.path = g ".ae_checkpoint", .type = KEY_STRING, .fallback = "\"last\"", .choices = "last|best",                \
   .help = "which autoencoder checkpoint the caches must have been made with"},                                   \
  {.path = g ".trajectory.length", .type = KEY_INT, .fallback = "5", .has_min = true, .min = 2,                   \
   .help = "states per training window"},                                                                         \
  {.path = g ".trajectory.stride", .type = KEY_INT, .fallback = "4", .has_min = true, .min = 1,                   \
   .help = "time steps between the states of a window"},                                                          \
  {.path = g ".trajectory.context.lmbda", .type = KEY_FLOAT, .fallback = "1.0", .has_min = true, .min = 0,        \
   .help = "Poisson mean of the context length (random_context_mask)"},                                          \
  {.path = g ".trajectory.context.rho", .type = KEY_FLOAT, .fallback = "0.66", .has_min = true, .min = 0,         \
   .has_max = true, .max = 1, .help = "probability that the context is at the start (forward emulation)"},       \
  {.path = g ".trajectory.context.atleast", .type = KEY_INT, .fallback = "1", .has_min = true, .min = 0,          \
   .help = "minimum context states (< trajectory.length)"}
/* clang-format on */

/* The train_spec of group `g` (checkpoints in <run_dir>/<g>/, `dir` a caller
 * buffer). Model, dataset lengths and fingerprint are the caller's to set. */
void train_spec_from_deck(train_spec *s, const deck *d, const char *g, const char *run_dir, char *dir,
                          int dir_size);
void train_spec_free(train_spec *s);
/* The largest batch one objective call takes on this rank: a training
 * micro-batch or a validation batch (at least 1), for sizing buffers. */
int64_t train_spec_largest_batch(const train_spec *s);

/* FNV-1a fingerprint of the values of `keys` in the deck (and of `extra`),
 * for resume checks: the same model keys give the same number. */
uint64_t deck_keys_fingerprint(const deck *d, const deck_key *keys, const char *extra);

/* fork.run: load <fork.run>/<g>/<fork.target>/model.safetensors into
 * params (buffers may be NULL). A missing run is a deck error naming the key. */
void train_fork(const deck *d, const char *g, param_registry *params, param_registry *buffers);

/* Global sample index of slot i of a step's batch. */
static inline uint64_t train_sample_index(const train_spec *s, int64_t step, bool training, long slot) {
  return (uint64_t)(step * (training ? s->batch_size : s->valid_batch_size) + slot);
}

/* The global sample index of batch t's first sample; dies (naming `stage`)
 * unless its samples are contiguous in the global batch, as the objectives'
 * per-sample randomness assumes. */
uint64_t train_batch_first(const train_spec *s, const batch_ticket *t, const char *stage);

/* The seed of a batch's randomness: validation draws differ from training
 * draws of the same step number. */
static inline uint64_t train_batch_seed(const train_spec *s, bool training) {
  return training ? s->seed : s->seed ^ 0x76616cULL;
}

#endif
