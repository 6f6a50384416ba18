/* Deck keys of the ViT emulators and their reading: the `surrogate` and
 * `denoiser` groups mirror the reference's YAML configs
 * (experiments/configs/{surrogate,denoiser}/<preset>.yaml, denoiser/schedule,
 * denoiser/loss); inputs/presets/{surrogate,denoiser}/ hold the presets.
 *
 * A stage that builds one of these models puts VIT_DECK_KEYS("surrogate") or
 * DENOISER_DECK_KEYS("denoiser") in its key array. */
#ifndef LOLA_VIT_DECK_H
#define LOLA_VIT_DECK_H

#include <stdint.h>

#include "deck.h"
#include "denoiser.h"
#include "denoiser_loss.h"
#include "surrogate.h"

/* clang-format off */
#define VIT_DECK_KEYS(g)                                                                                         \
  {.path = g ".name", .type = KEY_STRING, .fallback = "\"vit\"", .help = "preset name (informative)"},          \
  {.path = g ".arch", .type = KEY_STRING, .fallback = "\"vit\"", .choices = "vit|dit",                          \
   .help = "backbone architecture (the reference's vit / dit)"},                                                  \
  {.path = g ".emb_features", .type = KEY_INT, .fallback = "256", .has_min = true, .min = 2,                     \
   .help = "modulation features of the label (and time) embeddings"},                                             \
  {.path = g ".hid_channels", .type = KEY_INT, .required = true, .has_min = true, .min = 2,                      \
   .help = "token channels"},                                                                                     \
  {.path = g ".hid_blocks", .type = KEY_INT, .required = true, .has_min = true, .min = 0,                        \
   .help = "transformer blocks"},                                                                                 \
  {.path = g ".ffn_factor", .type = KEY_INT, .fallback = "4", .has_min = true, .min = 1,                         \
   .help = "hidden channels of the FFN, as a multiple of hid_channels"},                                         \
  {.path = g ".attention_heads", .type = KEY_INT, .fallback = "1", .has_min = true, .min = 1,                    \
   .help = "attention heads (must divide hid_channels)"},                                                         \
  {.path = g ".qk_norm", .type = KEY_BOOL, .fallback = "true", .help = "RMS-normalise queries and keys"},        \
  {.path = g ".rope", .type = KEY_BOOL, .fallback = "true", .help = "rotary position embedding, learned angles"}, \
  {.path = g ".patch_size", .type = KEY_INT_LIST, .fallback = "[1]", .has_min = true, .min = 1,                  \
   .help = "patch extent per axis (time first); one value applies to every axis"},                               \
  {.path = g ".window_size", .type = KEY_INT_LIST, .fallback = "[]", .has_min = true, .min = 0,                  \
   .help = "local attention window per axis; [] global attention"},                                              \
  {.path = g ".dropout", .type = KEY_FLOAT, .fallback = "0.0", .has_min = true, .min = 0, .has_max = true,       \
   .max = 0.99, .help = "FFN dropout rate during training"},                                                      \
  {.path = g ".checkpointing", .type = KEY_BOOL, .fallback = "false",                                            \
   .help = "the reference's gradient checkpointing: accepted, no effect (activations are kept)"}

#define DENOISER_DECK_KEYS(g)                                                                                    \
  VIT_DECK_KEYS(g),                                                                                               \
  {.path = g ".schedule.name", .type = KEY_STRING, .fallback = "\"log_logit\"", .choices = "log_linear|log_logit", \
   .help = "EDM noise schedule"},                                                                                 \
  {.path = g ".schedule.sigma_min", .type = KEY_FLOAT, .fallback = "1e-3", .has_min = true, .min = 1e-12,        \
   .help = "smallest noise scale"},                                                                               \
  {.path = g ".schedule.sigma_max", .type = KEY_FLOAT, .fallback = "1e3", .has_min = true, .min = 1e-12,         \
   .help = "largest noise scale"},                                                                                \
  {.path = g ".schedule.scale", .type = KEY_FLOAT, .fallback = "1.0", .has_min = true, .min = 1e-12,             \
   .help = "log_logit: factor of the logit"},                                                                     \
  {.path = g ".schedule.shift", .type = KEY_FLOAT, .fallback = "0.0", .help = "log_logit: shift of log sigma"},   \
  {.path = g ".loss.distribution", .type = KEY_STRING, .fallback = "\"uniform\"",                                \
   .choices = "uniform|beta|kumaraswamy", .help = "time prior of the denoiser loss"},                            \
  {.path = g ".loss.a", .type = KEY_FLOAT, .fallback = "0.0", .help = "uniform lower bound, or first concentration"}, \
  {.path = g ".loss.b", .type = KEY_FLOAT, .fallback = "1.0", .help = "uniform upper bound, or second concentration"}
/* clang-format on */

/* The architecture of group `g` for `spatial` token axes (physical dims + 1). */
vit_config vit_config_from_deck(const deck *d, const char *g, int spatial);
/* channels and label_features come from the data, as in the reference's training scripts. */
surrogate_config surrogate_config_from_deck(const deck *d, const char *g, int64_t channels,
                                            int64_t label_features, int spatial);
denoiser_config denoiser_config_from_deck(const deck *d, const char *g, int64_t channels,
                                          int64_t label_features, int spatial, bool masked);
time_prior time_prior_from_deck(const deck *d, const char *g);

#endif
