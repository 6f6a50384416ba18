/* The C side of the autoencoder parity check with PyTorch
 * (regression/torch/ae_parity.py drives it):
 *
 *   ae_parity WEIGHTS.safetensors INPUTS.safetensors OUT.safetensors OURS.safetensors
 *
 * WEIGHTS is the reference AutoEncoder's state_dict (loaded strictly, eps
 * buffers included). INPUTS holds "input.x", "input.dy", "input.dz" and, in
 * its metadata, the configuration. The program writes to OUT:
 *   output.y, output.z          y, z = autoencoder(x) (eval: no dropout, no noise)
 *   grad.x, grad.<parameter>    gradients of Σ dy·y + Σ dz·z
 *   loss.value, loss.terms      AutoEncoderLoss(autoencoder, x) and its terms
 *   lossgrad.<parameter>        the loss's parameter gradients
 * and its own weights to OURS, for torch to load back with strict=True. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/safetensors.h"
#include "../../parallel/comm.h"
#include "../../parallel/threads.h"
#include "../../src/autoencoder.h"
#include "../../src/error.h"

static const st_file *meta_file;

static const char *meta(const char *key) {
  const char *v = st_metadata(meta_file, key);
  if (!v) lola_die(LOLA_EXIT_DATA, "%s: no metadata '%s'", meta_file->path, key);
  return v;
}
static long meta_int(const char *key) { return atol(meta(key)); }
/* "a,b,c" into out (at most `cap`); returns the count ("" gives 0). */
static int meta_list(const char *key, double *out, int cap) {
  int n = 0;
  for (const char *p = meta(key); *p && n < cap;) {
    out[n++] = atof(p);
    p = strchr(p, ',');
    if (!p) break;
    p++;
  }
  return n;
}

static autoencoder_config config_from_meta(ae_loss_config *loss, int64_t *batch, dcae_grid *grid) {
  int spatial = (int)meta_int("spatial");
  dcae_config c = dcae_config_default(spatial, 0, 0);
  double v[DCAE_MAX_LEVELS];
  c.levels = meta_list("hid_channels", v, DCAE_MAX_LEVELS);
  for (int i = 0; i < c.levels; i++) c.hid_channels[i] = (int64_t)v[i];
  meta_list("hid_blocks", v, DCAE_MAX_LEVELS);
  for (int i = 0; i < c.levels; i++) c.hid_blocks[i] = (int)v[i];
  int heads = meta_list("attention_heads", v, DCAE_MAX_LEVELS);
  for (int i = 0; i < c.levels; i++) c.attention_heads[i] = i < heads ? (int)v[i] : 0;
  for (int d = 0; d < spatial; d++) {
    c.kernel[d] = (int)meta_int("kernel_size");
    c.stride[d] = (int)meta_int("stride");
    c.patch[d] = (int)meta_int("patch_size");
  }
  c.pixel_shuffle = meta_int("pixel_shuffle") != 0;
  c.norm = (resblock_norm)resblock_norm_from_name(meta("norm"));
  c.ffn_factor = (int)meta_int("ffn_factor");
  c.periodic = meta_int("periodic") != 0;
  c.identity_init = true;
  ae_saturation s = (ae_saturation)ae_saturation_from_name(meta("saturation"));
  /* the losses: "mse,vrmse" and "1,0.5" */
  char kinds[128];
  snprintf(kinds, sizeof kinds, "%s", meta("losses"));
  loss->count = 0;
  for (char *tok = strtok(kinds, ","); tok && loss->count < AE_LOSS_MAX_TERMS; tok = strtok(NULL, ","))
    loss->kind[loss->count++] = (ae_loss_kind)ae_loss_kind_from_name(tok);
  meta_list("weights", loss->weight, AE_LOSS_MAX_TERMS);
  *batch = meta_int("batch");
  double shape[3];
  grid->dims = meta_list("shape", shape, 3);
  for (int d = 0; d < 3; d++) grid->ext[d] = d < grid->dims ? (int64_t)shape[d] : 1;
  return autoencoder_config_symmetric(&c, meta_int("pix_channels"), meta_int("lat_channels"), s, 0.0);
}

static float *read_input(const st_file *f, const char *name, int64_t want) {
  const st_info *t = st_find(f, name);
  if (!t) lola_die(LOLA_EXIT_DATA, "%s: no tensor '%s'", f->path, name);
  int64_t n = shape_numel(t->ndim, t->shape);
  if (n != want)
    lola_die(LOLA_EXIT_DATA, "%s: '%s' has %lld values, expected %lld", f->path, name, (long long)n,
             (long long)want);
  float *v = lola_malloc(sizeof(float) * (size_t)n, name);
  st_read_floats(f, t, v);
  return v;
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  threads_init();
  if (argc != 5) lola_die(LOLA_EXIT_DECK, "usage: ae_parity WEIGHTS INPUTS OUT OURS");
  st_file in;
  st_open(&in, argv[2]);
  meta_file = &in;
  ae_loss_config loss;
  int64_t B;
  dcae_grid grid, lat;
  autoencoder_config cfg = config_from_meta(&loss, &B, &grid);
  autoencoder ae;
  autoencoder_create(&ae, &cfg);
  autoencoder_load(&ae, argv[1], true);

  int64_t L = autoencoder_latent_shape(&ae, &grid, &lat);
  int64_t nx = B * cfg.encoder.in_channels * dcae_grid_volume(&grid), nz = B * L * dcae_grid_volume(&lat);
  float *x = read_input(&in, "input.x", nx), *dy = read_input(&in, "input.dy", nx);
  float *dz = read_input(&in, "input.dz", nz);
  arena act, scratch;
  arena_init(&act, autoencoder_activation_bytes(&ae, B, &grid, false), "activations");
  arena_init(&scratch, autoencoder_scratch_bytes(&ae, B, &grid), "scratch");
  dcae_pass p = {.act = &act, .scratch = &scratch, .train = false};

  /* 1. y, z = autoencoder(x); gradients of Σ dy·y + Σ dz·z */
  float *z = autoencoder_encode(&ae, &p, x, B, &grid);
  float *y = autoencoder_decode(&ae, &p, z, B, &lat, false);
  float *gz = lola_malloc(sizeof(float) * (size_t)nz, "dz"),
        *gx = lola_malloc(sizeof(float) * (size_t)nx, "dx");
  autoencoder_decode_backward(&ae, &p, gz, dy);
  for (int64_t i = 0; i < nz; i++) gz[i] += dz[i];
  autoencoder_encode_backward(&ae, &p, gx, gz);
  float *out_y = lola_malloc(sizeof(float) * (size_t)nx, "y"),
        *out_z = lola_malloc(sizeof(float) * (size_t)nz, "z");
  memcpy(out_y, y, sizeof(float) * (size_t)nx);
  memcpy(out_z, z, sizeof(float) * (size_t)nz);
  float *grads = lola_malloc(sizeof(float) * (size_t)ae.params.total, "grads");
  memcpy(grads, ae.params.grads, sizeof(float) * (size_t)ae.params.total);

  /* 2. the loss and its parameter gradients */
  params_zero_grad(&ae.params);
  arena_reset(&act);
  double terms[AE_LOSS_MAX_TERMS];
  double value = autoencoder_loss_step(&ae, &loss, &p, x, B, &grid, false, 1.0, terms);
  float loss_value = (float)value, loss_terms[AE_LOSS_MAX_TERMS];
  for (int i = 0; i < loss.count; i++) loss_terms[i] = (float)terms[i];

  int n = 6 + 2 * ae.params.count, k = 0;
  st_entry *all = lola_calloc((size_t)n, sizeof *all, "outputs");
  char **names = lola_calloc((size_t)n, sizeof *names, "output names");
  int64_t one = 1, nterms = loss.count, xshape[5] = {B, cfg.encoder.in_channels, 1, 1, 1},
          zshape[5] = {B, L, 1, 1, 1};
  for (int d = 0; d < grid.dims; d++) {
    xshape[2 + d] = grid.ext[d];
    zshape[2 + d] = lat.ext[d];
  }
  all[k++] = (st_entry){"output.y", DT_F32, 2 + grid.dims, xshape, out_y};
  all[k++] = (st_entry){"output.z", DT_F32, 2 + grid.dims, zshape, out_z};
  all[k++] = (st_entry){"grad.x", DT_F32, 2 + grid.dims, xshape, gx};
  all[k++] = (st_entry){"loss.value", DT_F32, 1, &one, &loss_value};
  all[k++] = (st_entry){"loss.terms", DT_F32, 1, &nterms, loss_terms};
  for (int i = 0; i < ae.params.count; i++) {
    const param_entry *e = &ae.params.entries[i];
    for (int g = 0; g < 2; g++) {
      size_t len = strlen(e->name) + 16;
      names[k] = lola_malloc(len, "name");
      snprintf(names[k], len, "%s.%s", g ? "lossgrad" : "grad", e->name);
      all[k] = (st_entry){names[k], DT_F32, e->ndim, e->shape, (g ? ae.params.grads : grads) + e->offset};
      k++;
    }
  }
  st_write(argv[3], all, k, NULL);
  autoencoder_save(&ae, argv[4], NULL);
  printf("ae_parity: %d tensors written, loss %.6g\n", k, value);
  for (int i = 0; i < k; i++) free(names[i]);
  free(names);
  free(all);
  st_close(&in);
  comm_finalize();
  return 0;
}
