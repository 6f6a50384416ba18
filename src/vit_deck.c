/* Reading the surrogate / denoiser deck groups. */
#include "vit_deck.h"

#include <stdio.h>

static const char *key(char *buf, size_t n, const char *g, const char *k) {
  snprintf(buf, n, "%s.%s", g, k);
  return buf;
}

/* An int list of 1 (broadcast) or `spatial` values; `none` fills an empty list. */
static void axis_list(const deck *d, const char *path, int spatial, int none, int *out) {
  int n = deck_list_len(d, path);
  if (n == 0) {
    for (int i = 0; i < spatial; i++) out[i] = none;
    return;
  }
  if (n != 1 && n != spatial)
    deck_fail(d, path, "has %d values; give 1 (every axis) or %d (one per axis, time first)", n, spatial);
  for (int i = 0; i < spatial; i++) out[i] = (int)deck_int_at(d, path, n == 1 ? 0 : i);
}

vit_config vit_config_from_deck(const deck *d, const char *g, int spatial) {
  char k[160];
  if (spatial < 1 || spatial > VIT_MAX_SPATIAL)
    deck_fail(d, key(k, sizeof k, g, "hid_channels"),
              "the data gives %d token axes; the ViT supports 1 to %d", spatial, VIT_MAX_SPATIAL);
  vit_config c = {.hid_channels = deck_int(d, key(k, sizeof k, g, "hid_channels")),
                  .hid_blocks = deck_int(d, key(k, sizeof k, g, "hid_blocks")),
                  .ffn_factor = deck_int(d, key(k, sizeof k, g, "ffn_factor")),
                  .attention_heads = deck_int(d, key(k, sizeof k, g, "attention_heads")),
                  .spatial = spatial,
                  .qk_norm = deck_bool(d, key(k, sizeof k, g, "qk_norm")),
                  .rope = deck_bool(d, key(k, sizeof k, g, "rope")),
                  .dropout = (float)deck_float(d, key(k, sizeof k, g, "dropout"))};
  if (c.hid_channels % 2) deck_fail(d, key(k, sizeof k, g, "hid_channels"), "must be even (sine encodings)");
  if (c.hid_channels % c.attention_heads)
    deck_fail(d, key(k, sizeof k, g, "attention_heads"), "%lld does not divide hid_channels %lld",
              (long long)c.attention_heads, (long long)c.hid_channels);
  if (c.rope && (c.hid_channels / c.attention_heads) % 2)
    deck_fail(d, key(k, sizeof k, g, "rope"),
              "needs an even head size (hid_channels / attention_heads = %lld)",
              (long long)(c.hid_channels / c.attention_heads));
  axis_list(d, key(k, sizeof k, g, "patch_size"), spatial, 1, c.patch);
  axis_list(d, key(k, sizeof k, g, "window_size"), spatial, 0, c.window);
  return c;
}

surrogate_config surrogate_config_from_deck(const deck *d, const char *g, int64_t channels,
                                            int64_t label_features, int spatial) {
  char k[160];
  return (surrogate_config){.channels = channels,
                            .emb_features = deck_int(d, key(k, sizeof k, g, "emb_features")),
                            .label_features = label_features,
                            .arch = vit_config_from_deck(d, g, spatial)};
}

denoiser_config denoiser_config_from_deck(const deck *d, const char *g, int64_t channels,
                                          int64_t label_features, int spatial, bool masked) {
  char k[160];
  denoiser_config c = {.channels = channels,
                       .emb_features = deck_int(d, key(k, sizeof k, g, "emb_features")),
                       .label_features = label_features,
                       .masked = masked,
                       .arch = vit_config_from_deck(d, g, spatial)};
  if (c.emb_features % 2)
    deck_fail(d, key(k, sizeof k, g, "emb_features"), "must be even (time sine encoding)");
  c.schedule = schedule_default(
      (schedule_kind)schedule_kind_from_name(deck_string(d, key(k, sizeof k, g, "schedule.name"))));
  c.schedule.sigma_min = deck_float(d, key(k, sizeof k, g, "schedule.sigma_min"));
  c.schedule.sigma_max = deck_float(d, key(k, sizeof k, g, "schedule.sigma_max"));
  c.schedule.scale = deck_float(d, key(k, sizeof k, g, "schedule.scale"));
  c.schedule.shift = deck_float(d, key(k, sizeof k, g, "schedule.shift"));
  if (c.schedule.sigma_min >= c.schedule.sigma_max)
    deck_fail(d, key(k, sizeof k, g, "schedule.sigma_max"), "%g must exceed sigma_min %g",
              c.schedule.sigma_max, c.schedule.sigma_min);
  return c;
}

time_prior time_prior_from_deck(const deck *d, const char *g) {
  char k[160];
  time_prior p = {
      .kind = (time_prior_kind)time_prior_from_name(deck_string(d, key(k, sizeof k, g, "loss.distribution"))),
      .a = deck_float(d, key(k, sizeof k, g, "loss.a")),
      .b = deck_float(d, key(k, sizeof k, g, "loss.b"))};
  if (p.kind == TIME_PRIOR_UNIFORM && !(p.a >= 0 && p.a < p.b && p.b <= 1))
    deck_fail(d, key(k, sizeof k, g, "loss.b"), "uniform time prior needs 0 <= a < b <= 1 (a = %g, b = %g)",
              p.a, p.b);
  if (p.kind != TIME_PRIOR_UNIFORM && !(p.a > 0 && p.b > 0))
    deck_fail(d, key(k, sizeof k, g, "loss.a"),
              "the %s time prior needs positive concentrations (a = %g, b = %g)",
              p.kind == TIME_PRIOR_BETA ? "beta" : "kumaraswamy", p.a, p.b);
  return p;
}
