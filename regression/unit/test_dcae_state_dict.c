/* The autoencoder presets of inputs/presets/ae/ declare exactly the reference's
 * state_dict: every name with its shape, buffers included, as listed once from
 * PyTorch by regression/torch/ae_state_dict_keys.py into regression/data/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/atomic_file.h"
#include "../../src/autoencoder_deck.h"
#include "harness.h"

static deck *load_preset(const char *preset, const char *loss) {
  char path[1024], text[1024];
  snprintf(path, sizeof path, "%s/ae_%s.cfg", harness_tmpdir(), preset);
  snprintf(
      text, sizeof text,
      "ae = {\n@include \"presets/ae/%s.cfg\"\n  loss = {\n@include \"presets/ae/loss/%s.cfg\"\n  };\n};\n",
      preset, loss);
  atomic_write(path, text, strlen(text));
  const deck_schema schemas[] = {{"autoencoder", autoencoder_deck_keys}};
  return deck_load(path, 0, NULL, schemas, 1);
}

/* The shape "d0,d1,..." of `name` in our registries, or NULL. */
static const char *our_shape(const autoencoder *ae, const char *name, char *buf, size_t n) {
  const param_registry *regs[2] = {&ae->params, &ae->buffers};
  for (int g = 0; g < 2; g++) {
    int i = params_find(regs[g], name);
    if (i < 0) continue;
    const param_entry *e = &regs[g]->entries[i];
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < e->ndim; d++)
      used += (size_t)snprintf(buf + used, n - used, d ? ",%lld" : "%lld", (long long)e->shape[d]);
    return buf;
  }
  return NULL;
}

static void check_preset(const char *preset, int64_t pix, int spatial) {
  deck *d = load_preset(preset, "similarity");
  autoencoder_config cfg;
  ae_loss_config loss;
  autoencoder_config_from_deck(d, pix, spatial, &cfg, &loss);
  CHECK(loss.count == 2 && loss.kind[1] == AE_LOSS_SIMILARITY && loss.weight[1] == 0.1);
  CHECK(cfg.saturation == AE_SAT_SOFTCLIP2 && cfg.latent_noise == 0.01 && cfg.encoder.dropout == 0.05f);
  autoencoder ae;
  autoencoder_declare(&ae, &cfg); /* names and shapes only: the large presets are not allocated */

  char path[1024], line[512], shape[128];
  snprintf(path, sizeof path, "%s/../regression/data/state_dict/ae_%s.txt", LOLA_INPUTS_DIR, preset);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  int count = 0, bad = 0;
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *space = strchr(line, ' ');
    if (!space) continue;
    *space = '\0';
    const char *want = space + 1, *got = our_shape(&ae, line, shape, sizeof shape);
    count++;
    if (!got || strcmp(got, want) != 0) {
      if (bad++ < 5)
        fprintf(stderr, "  %s: %s has %s, the reference %s\n", preset, line, got ? got : "nothing", want);
    }
  }
  if (f) fclose(f);
  CHECK(bad == 0);
  CHECK(count > 0 && count == ae.params.count + ae.buffers.count);
  autoencoder_free(&ae);
  deck_free(d);
}

TEST(dcae_state_dict_f32c64_large) { check_preset("dcae_f32c64_large", 5, 2); }
TEST(dcae_state_dict_f32c64_small) { check_preset("dcae_f32c64_small", 5, 2); }
TEST(dcae_state_dict_3d_f8c64_large) { check_preset("dcae_3d_f8c64_large", 6, 3); }
TEST(dcae_state_dict_f4c8_laptop) { check_preset("dcae_f4c8_laptop", 5, 2); }

/* Bad autoencoder decks end in a deck error that names the key at fault. */
static bool deck_fails_naming(const char *body, const char *key) {
  char path[1024];
  snprintf(path, sizeof path, "%s/ae_bad.cfg", harness_tmpdir());
  atomic_write(path, body, strlen(body));
  const deck_schema schemas[] = {{"autoencoder", autoencoder_deck_keys}};
  lola_error_trap trap;
  deck *volatile d = NULL;
  bool died = EXPECT_DIE(trap, LOLA_EXIT_DECK, {
    d = deck_load(path, 0, NULL, schemas, 1);
    autoencoder_config cfg;
    ae_loss_config loss;
    autoencoder_config_from_deck(d, 5, 2, &cfg, &loss);
  });
  if (d) deck_free(d);
  bool named = died && strstr(trap.message, key) != NULL;
  if (!named)
    fprintf(stderr, "  expected a deck error naming %s, got: %s\n", key, died ? trap.message : "none");
  return named;
}

TEST(dcae_deck_errors_name_the_key) {
  CHECK(deck_fails_naming("ae = { lat_channels = 4; hid_channels = [8, 16]; hid_blocks = [1]; };\n",
                          "ae.hid_blocks"));
  CHECK(deck_fails_naming(
      "ae = { lat_channels = 4; hid_channels = [8, 16]; hid_blocks = [1, 1]; attention_heads = [0, 3]; };\n",
      "ae.attention_heads"));
  CHECK(deck_fails_naming(
      "ae = { lat_channels = 4; hid_channels = [8, 16]; hid_blocks = [1, 1]; kernel_size = 4; };\n",
      "ae.kernel_size"));
  CHECK(deck_fails_naming(
      "ae = { lat_channels = 4; hid_channels = [8, 16]; hid_blocks = [1, 1]; saturation = \"clip\"; };\n",
      "ae.saturation"));
  CHECK(
      deck_fails_naming("ae = { lat_channels = 4; hid_channels = [8, 16]; hid_blocks = [1, 1];\n"
                        "       loss = { losses = [\"mse\", \"mae\"]; weights = [1.0]; }; };\n",
                        "ae.loss.weights"));
  CHECK(deck_fails_naming(
      "ae = { lat_channels = 4; hid_channels = [8, 16]; hid_blocks = [1, 1]; checkpointing = true; };\n",
      "ae.checkpointing"));
  CHECK(deck_fails_naming("ae = { hid_channels = [8, 16]; hid_blocks = [1, 1]; };\n", "ae.lat_channels"));
}
