/* Autoencoder decks (src/autoencoder_deck.h). */
#include "autoencoder_deck.h"

#include <string.h>

#define SATURATIONS "none|softclip|softclip2|tanh|arcsinh|rmsnorm"

const deck_key autoencoder_deck_keys[] = {
    {.path = "ae.name", .type = KEY_STRING, .fallback = "\"dcae\"", .help = "a name for the run's files"},
    {.path = "ae.arch",
     .type = KEY_STRING,
     .fallback = "\"dcae\"",
     .choices = "dcae",
     .help = "autoencoder architecture"},
    {.path = "ae.saturation",
     .type = KEY_STRING,
     .fallback = "\"softclip2\"",
     .choices = SATURATIONS,
     .help = "latent saturation"},
    {.path = "ae.latent_noise",
     .type = KEY_FLOAT,
     .fallback = "0.0",
     .min = 0,
     .has_min = true,
     .help = "standard deviation of the noise added to the latents before decoding in training"},
    {.path = "ae.lat_channels",
     .type = KEY_INT,
     .required = true,
     .min = 1,
     .has_min = true,
     .help = "latent channels"},
    {.path = "ae.hid_channels",
     .type = KEY_INT_LIST,
     .required = true,
     .min = 1,
     .has_min = true,
     .help = "channels at each level"},
    {.path = "ae.hid_blocks",
     .type = KEY_INT_LIST,
     .required = true,
     .min = 0,
     .has_min = true,
     .help = "ResBlocks at each level"},
    {.path = "ae.kernel_size",
     .type = KEY_INT,
     .fallback = "3",
     .min = 1,
     .has_min = true,
     .help = "kernel of every convolution (odd)"},
    {.path = "ae.stride",
     .type = KEY_INT,
     .fallback = "2",
     .min = 1,
     .has_min = true,
     .help = "down/upsampling factor between levels"},
    {.path = "ae.patch_size",
     .type = KEY_INT,
     .fallback = "1",
     .min = 1,
     .has_min = true,
     .help = "patch size of the input (pixel unshuffle before the first conv)"},
    {.path = "ae.pixel_shuffle",
     .type = KEY_BOOL,
     .fallback = "true",
     .help = "pixel (un)shuffle + conv between levels, else strided conv / nearest upsampling + conv"},
    {.path = "ae.norm",
     .type = KEY_STRING,
     .fallback = "\"layer\"",
     .choices = "layer|group",
     .help = "ResBlock normalisation"},
    {.path = "ae.attention_heads",
     .type = KEY_INT_LIST,
     .fallback = "[]",
     .min = 0,
     .has_min = true,
     .help = "attention heads per level (0 or missing: none); [] none anywhere"},
    {.path = "ae.ffn_factor",
     .type = KEY_INT,
     .fallback = "1",
     .min = 1,
     .has_min = true,
     .help = "channel factor of the ResBlock FFN"},
    {.path = "ae.dropout",
     .type = KEY_FLOAT,
     .fallback = "0.0",
     .min = 0,
     .max = 0.99,
     .has_min = true,
     .has_max = true,
     .help = "dropout rate in the ResBlocks (0: none)"},
    {.path = "ae.checkpointing",
     .type = KEY_BOOL,
     .fallback = "false",
     .help = "gradient checkpointing (the reference's memory saving; not supported: false)"},
    {.path = "ae.identity_init",
     .type = KEY_BOOL,
     .fallback = "true",
     .help = "initialise the down/upsampling and latent convs as identities"},
    {.path = "ae.periodic",
     .type = KEY_BOOL,
     .fallback = "false",
     .help = "circular padding (the reference's training script leaves it off)"},
    {.path = "ae.loss.losses",
     .type = KEY_STRING_LIST,
     .fallback = "[\"mse\"]",
     .choices = "mse|mae|vrmse|similarity",
     .help = "terms of the training loss"},
    {.path = "ae.loss.weights",
     .type = KEY_FLOAT_LIST,
     .fallback = "[1.0]",
     .help = "weight of each loss term"},
    {.path = NULL},
};

static void read_levels(const deck *d, dcae_config *c) {
  int levels = deck_list_len(d, "ae.hid_channels");
  if (levels < 1 || levels > DCAE_MAX_LEVELS)
    deck_fail(d, "ae.hid_channels", "%d levels; 1 to %d are supported", levels, DCAE_MAX_LEVELS);
  if (deck_list_len(d, "ae.hid_blocks") != levels)
    deck_fail(d, "ae.hid_blocks", "%d entries; ae.hid_channels has %d", deck_list_len(d, "ae.hid_blocks"),
              levels);
  int heads = deck_list_len(d, "ae.attention_heads");
  if (heads > levels) deck_fail(d, "ae.attention_heads", "%d entries for %d levels", heads, levels);
  c->levels = levels;
  for (int i = 0; i < levels; i++) {
    c->hid_channels[i] = deck_int_at(d, "ae.hid_channels", i);
    c->hid_blocks[i] = (int)deck_int_at(d, "ae.hid_blocks", i);
    if (c->hid_blocks[i] > DCAE_MAX_BLOCKS)
      deck_fail(d, "ae.hid_blocks", "%d blocks at level %d; at most %d", c->hid_blocks[i], i,
                DCAE_MAX_BLOCKS);
    c->attention_heads[i] = i < heads ? (int)deck_int_at(d, "ae.attention_heads", i) : 0;
    if (c->attention_heads[i] > 0 && c->hid_channels[i] % c->attention_heads[i] != 0)
      deck_fail(d, "ae.attention_heads", "%d heads do not divide the %lld channels of level %d",
                c->attention_heads[i], (long long)c->hid_channels[i], i);
  }
}

static void read_loss(const deck *d, ae_loss_config *loss) {
  int n = deck_list_len(d, "ae.loss.losses");
  if (n < 1 || n > AE_LOSS_MAX_TERMS)
    deck_fail(d, "ae.loss.losses", "%d terms; 1 to %d", n, AE_LOSS_MAX_TERMS);
  if (deck_list_len(d, "ae.loss.weights") != n)
    deck_fail(d, "ae.loss.weights", "%d weights for %d losses", deck_list_len(d, "ae.loss.weights"), n);
  loss->count = n;
  for (int i = 0; i < n; i++) {
    loss->kind[i] = (ae_loss_kind)ae_loss_kind_from_name(deck_string_at(d, "ae.loss.losses", i));
    loss->weight[i] = deck_float_at(d, "ae.loss.weights", i);
  }
}

void autoencoder_config_from_deck(const deck *d, int64_t pix_channels, int spatial, autoencoder_config *cfg,
                                  ae_loss_config *loss) {
  dcae_config c = dcae_config_default(spatial, pix_channels, deck_int(d, "ae.lat_channels"));
  read_levels(d, &c);
  int k = (int)deck_int(d, "ae.kernel_size");
  if (k % 2 == 0) deck_fail(d, "ae.kernel_size", "%d is even; the convolutions need an odd kernel", k);
  for (int dim = 0; dim < spatial; dim++) {
    c.kernel[dim] = k;
    c.stride[dim] = (int)deck_int(d, "ae.stride");
    c.patch[dim] = (int)deck_int(d, "ae.patch_size");
  }
  c.pixel_shuffle = deck_bool(d, "ae.pixel_shuffle");
  c.norm = (resblock_norm)resblock_norm_from_name(deck_string(d, "ae.norm"));
  c.ffn_factor = (int)deck_int(d, "ae.ffn_factor");
  c.dropout = (float)deck_float(d, "ae.dropout");
  c.identity_init = deck_bool(d, "ae.identity_init");
  c.periodic = deck_bool(d, "ae.periodic");
  if (deck_bool(d, "ae.checkpointing"))
    deck_fail(d, "ae.checkpointing", "gradient checkpointing is not supported; set it to false");
  if (c.norm == RESBLOCK_GROUP_NORM)
    for (int i = 0; i < c.levels; i++) {
      int64_t g = c.hid_channels[i] < RESBLOCK_GROUPS ? c.hid_channels[i] : RESBLOCK_GROUPS;
      if (c.hid_channels[i] % g != 0)
        deck_fail(d, "ae.hid_channels",
                  "GroupNorm of %lld groups does not divide the %lld channels of level %d", (long long)g,
                  (long long)c.hid_channels[i], i);
    }
  ae_saturation s = (ae_saturation)ae_saturation_from_name(deck_string(d, "ae.saturation"));
  *cfg = autoencoder_config_symmetric(&c, pix_channels, c.out_channels, s, deck_float(d, "ae.latent_noise"));
  if (loss) read_loss(d, loss);
}
