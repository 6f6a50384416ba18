/* The reference's large models that the GPU check and the benchmarks size
 * and time: one definition each. */
#ifndef LOLA_BENCH_REFERENCE_MODELS_H
#define LOLA_BENCH_REFERENCE_MODELS_H

#include "../../src/denoiser_loss.h"

/* configs/denoiser/vit_large.yaml on 64-channel latents. */
static inline denoiser_config vit_large_denoiser_config(void) {
  denoiser_config cfg = {.channels = 64,
                         .emb_features = 256,
                         .masked = true,
                         .schedule = schedule_default(SCHEDULE_LOG_LOGIT),
                         .arch = {.hid_channels = 1024,
                                  .hid_blocks = 16,
                                  .ffn_factor = 4,
                                  .attention_heads = 8,
                                  .spatial = 3,
                                  .patch = {1, 1, 1},
                                  .qk_norm = true,
                                  .rope = true,
                                  .dropout = 0.05f}};
  return cfg;
}

#endif
