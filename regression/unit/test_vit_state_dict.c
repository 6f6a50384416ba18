/* Parameter and buffer names and shapes of the surrogates and denoisers built
 * from the presets of inputs/presets/{surrogate,denoiser}/ equal the reference's
 * state_dict, as listed once with PyTorch by regression/torch/
 * vit_state_dict_keys.py into regression/data/state_dict/ (the same data
 * channels and labels: 64 latent channels, 5 for vit_pixel, 8 for vit_tiny,
 * 5 label features, 3 token axes). Only declared: no memory for the weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/atomic_file.h"
#include "../../src/vit_deck.h"
#include "harness.h"

static const deck_key common_keys[] = {{.path = "stages", .type = KEY_STRING_LIST, .required = true},
                                       {.path = NULL}};
static const deck_key model_keys[] = {
    VIT_DECK_KEYS("surrogate"), DENOISER_DECK_KEYS("denoiser"), {.path = NULL}};
static const deck_schema schemas[] = {{"run", common_keys}, {"model", model_keys}};

/* "name d0,d1" lines of our registries, sorted as the reference file is. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int registry_lines(const param_registry *const *regs, int nregs, char **lines) {
  int n = 0;
  for (int g = 0; g < nregs; g++)
    for (int i = 0; i < regs[g]->count; i++) {
      const param_entry *e = &regs[g]->entries[i];
      char shape[128] = "";
      for (int d = 0; d < e->ndim; d++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? "," : "",
                 (long long)e->shape[d]);
      lines[n] = malloc(PARAM_NAME_MAX + sizeof shape + 2);
      snprintf(lines[n], PARAM_NAME_MAX + sizeof shape + 2, "%s %s", e->name, shape);
      n++;
    }
  qsort(lines, (size_t)n, sizeof *lines, cmp_str);
  return n;
}

static bool same_as_reference(const char *family, const char *preset, const param_registry *params,
                              const param_registry *buffers) {
  char path[1024], line[512];
  snprintf(path, sizeof path, "%s/../regression/data/state_dict/%s_%s.txt", LOLA_INPUTS_DIR, family, preset);
  FILE *f = fopen(path, "r");
  if (!CHECK(f != NULL)) return false;
  char *ours[1024];
  const param_registry *regs[2] = {params, buffers};
  int n = registry_lines(regs, 2, ours), i = 0;
  bool ok = true;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (i >= n || strcmp(ours[i], line)) {
      fprintf(stderr, "  %s %s: reference has '%s', we have '%s'\n", family, preset, line,
              i < n ? ours[i] : "(none)");
      ok = false;
      break;
    }
    i++;
  }
  if (ok && i != n)
    fprintf(stderr, "  %s %s: %d tensors, the reference %d\n", family, preset, n, i), ok = false;
  fclose(f);
  for (int k = 0; k < n; k++) free(ours[k]);
  return ok;
}

static deck *preset_deck(const char *preset) {
  char path[1024], text[512];
  snprintf(path, sizeof path, "%s/model.cfg", harness_tmpdir());
  snprintf(text, sizeof text,
           "stages = [\"model\"];\nsurrogate = {\n@include \"presets/surrogate/%s.cfg\"\n};\n"
           "denoiser = {\n@include \"presets/denoiser/%s.cfg\"\n"
           "  schedule = {\n@include \"presets/denoiser/schedule/log_logit.cfg\"\n  };\n"
           "  loss = {\n@include \"presets/denoiser/loss/kumaraswamy.cfg\"\n  };\n};\n",
           preset, preset);
  atomic_write(path, text, strlen(text));
  return deck_load(path, 0, NULL, schemas, 2);
}

static void check_preset(const char *preset, int64_t channels) {
  deck *d = preset_deck(preset);
  param_registry params, buffers;

  surrogate_config sc = surrogate_config_from_deck(d, "surrogate", channels, 5, 3);
  surrogate s;
  params_init(&params, 512);
  params_init(&buffers, 8);
  surrogate_declare(&s, &params, &buffers, &sc);
  CHECK(same_as_reference("surrogate", preset, &params, &buffers));
  surrogate_free(&s);
  params_free(&params);
  params_free(&buffers);

  denoiser_config dc = denoiser_config_from_deck(d, "denoiser", channels, 5, 3, true);
  CHECK(dc.schedule.kind == SCHEDULE_LOG_LOGIT && dc.schedule.sigma_max == 1e3);
  time_prior p = time_prior_from_deck(d, "denoiser");
  CHECK(p.kind == TIME_PRIOR_KUMARASWAMY && p.a == 1.0 && p.b == 0.5);
  denoiser m;
  params_init(&params, 512);
  params_init(&buffers, 8);
  denoiser_declare(&m, &params, &buffers, &dc);
  CHECK(same_as_reference("denoiser", preset, &params, &buffers));
  denoiser_free(&m);
  params_free(&params);
  params_free(&buffers);
  deck_free(d);
}

TEST(vit_state_dict_large) { check_preset("vit_large", 64); }
TEST(vit_state_dict_small) { check_preset("vit_small", 64); }
TEST(vit_state_dict_pixel) { check_preset("vit_pixel", 5); }
TEST(vit_state_dict_tiny) { check_preset("vit_tiny", 8); }

TEST(vit_deck_patch_lists) {
  deck *d = preset_deck("vit_pixel");
  vit_config c = vit_config_from_deck(d, "surrogate", 3);
  CHECK(c.patch[0] == 1 && c.patch[1] == 16 && c.patch[2] == 16);
  CHECK(c.window[0] == 0 && c.window[1] == 0 && c.window[2] == 0);
  CHECK(c.hid_channels == 2048 && c.attention_heads == 16 && c.hid_blocks == 16 && c.ffn_factor == 4);
  CHECK(c.dropout == 0.05f && c.qk_norm && c.rope);
  deck_free(d);
  d = preset_deck("vit_tiny");
  c = vit_config_from_deck(d, "surrogate", 3);
  CHECK(c.patch[0] == 1 && c.patch[1] == 1 && c.patch[2] == 1);
  deck_free(d);
}
