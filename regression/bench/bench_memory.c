/* Training activation memory of the two large models, as the arenas
 * are sized (the sizing functions the training stages allocate with; nothing
 * is allocated here, so it runs on any machine):
 *   vit_large denoiser (1024 channels, 16 blocks, 8 heads, QK-RMSNorm, RoPE,
 *     dropout 0.05) on 64 x (5 x 16 x 16) latent windows, batch 32;
 *   dcae_f32c64_large autoencoder (dropout 0.05) on 5 x 256 x 256, batch 8.
 *
 *   make CUDA=0 BUILD=build/cpu build/cpu/bench/bench_memory && build/cpu/bench/bench_memory  */
#include <stdio.h>

#include "../../src/autoencoder.h"
#include "reference_models.h"

static double vit_large_gib(void) {
  denoiser_config cfg = vit_large_denoiser_config();
  param_registry params, buffers;
  params_init(&params, 1024);
  params_init(&buffers, 8);
  denoiser d;
  denoiser_declare(&d, &params, &buffers, &cfg);
  const int64_t shape[3] = {5, 16, 16};
  const double gib = (double)denoiser_loss_activation_bytes(&d, 32, shape) / (1 << 30);
  params_free(&params);
  params_free(&buffers);
  return gib;
}

static double dcae_large_gib(void) {
  static const int64_t hid[6] = {64, 128, 256, 512, 768, 1024};
  dcae_config c = dcae_config_default(2, 5, 64);
  c.levels = 6;
  for (int i = 0; i < 6; i++) c.hid_channels[i] = hid[i], c.hid_blocks[i] = 3, c.attention_heads[i] = 0;
  c.dropout = 0.05f;
  autoencoder_config cfg = autoencoder_config_symmetric(&c, 5, 64, AE_SAT_SOFTCLIP2, 0.01);
  autoencoder ae;
  autoencoder_declare(&ae, &cfg);
  const dcae_grid grid = {.dims = 2, .ext = {256, 256}};
  const double gib = (double)autoencoder_activation_bytes(&ae, 8, &grid, true) / (1 << 30);
  autoencoder_free(&ae);
  return gib;
}

int main(void) {
  printf("bench: training activations, vit_large denoiser, batch 32, 5x16x16     %8.3f GiB\n",
         vit_large_gib());
  printf("bench: training activations, dcae_f32c64_large, batch 8, 256x256      %8.3f GiB\n",
         dcae_large_gib());
  return 0;
}
