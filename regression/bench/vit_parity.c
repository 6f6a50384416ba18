/* The C side of the ViT-family parity check with PyTorch
 * (regression/torch/vit_parity.py drives it):
 *
 *   vit_parity WEIGHTS.safetensors INPUTS.safetensors OUT.safetensors OURS.safetensors
 *
 * WEIGHTS is a torch state_dict (loaded strictly, buffers included); INPUTS
 * holds "input.*" tensors and, in its metadata, the model family ("vit",
 * "surrogate", "denoiser", "denoiser_masked") and configuration. The program
 * runs forward and backward of Σ dy·y and writes "output.y", "grad.<input>"
 * and "grad.<parameter name>" to OUT, and its own weights (model_save) to
 * OURS, for torch to load back with strict=True. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/safetensors.h"
#include "../../parallel/comm.h"
#include "../../parallel/threads.h"
#include "../../src/denoiser.h"
#include "../../src/error.h"
#include "../../src/model_io.h"
#include "../../src/surrogate.h"
#include "../../src/vit.h"

static const st_file *meta_file;

static const char *meta(const char *key) {
  const char *v = st_metadata(meta_file, key);
  if (!v) lola_die(LOLA_EXIT_DATA, "%s: no metadata '%s'", meta_file->path, key);
  return v;
}
static long meta_int(const char *key) { return atol(meta(key)); }
static double meta_float(const char *key) { return atof(meta(key)); }
/* "a,b,c" into out[0..3); returns the count. */
static int meta_ints(const char *key, int *out) {
  int n = 0;
  for (const char *p = meta(key); *p && n < 3; n++) {
    out[n] = atoi(p);
    p = strchr(p, ',');
    if (!p) return n + 1;
    p++;
  }
  return n;
}

/* An input tensor as floats (NULL when absent), and its element count. */
static float *input(const char *name, int64_t *count) {
  const st_info *t = st_find(meta_file, name);
  if (!t) return NULL;
  int64_t n = shape_numel(t->ndim, t->shape);
  float *x = lola_malloc(sizeof *x * (size_t)(n ? n : 1), name);
  st_read_floats(meta_file, t, x);
  if (count) *count = n;
  return x;
}

static vit_config arch_config(void) {
  vit_config c = {.hid_channels = meta_int("hid_channels"),
                  .hid_blocks = meta_int("hid_blocks"),
                  .ffn_factor = meta_int("ffn_factor"),
                  .attention_heads = meta_int("attention_heads"),
                  .spatial = (int)meta_int("spatial"),
                  .qk_norm = meta_int("qk_norm") != 0,
                  .rope = meta_int("rope") != 0};
  meta_ints("patch", c.patch);
  meta_ints("window", c.window);
  return c;
}

typedef struct {
  st_entry e[64];
  int n;
  int64_t shapes[64][6];
} out_list;

static void out_add(out_list *o, const char *name, const float *data, int ndim, const int64_t *shape) {
  if (o->n == 64) lola_die(LOLA_EXIT_RUNTIME, "vit_parity: too many outputs");
  memcpy(o->shapes[o->n], shape, sizeof *shape * (size_t)ndim);
  o->e[o->n] = (st_entry){strdup(name), DT_F32, ndim, o->shapes[o->n], data};
  o->n++;
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  threads_init();
  if (argc != 5) lola_die(LOLA_EXIT_DECK, "usage: vit_parity WEIGHTS INPUTS OUT OURS");
  st_file in;
  st_open(&in, argv[2]);
  meta_file = &in;
  const char *family = meta("family");
  int64_t B = meta_int("batch"), shape[3] = {1, 1, 1}, S = 1;
  int sh[3] = {1, 1, 1}, N = meta_ints("shape", sh);
  for (int d = 0; d < N; d++) shape[d] = sh[d], S *= sh[d];

  param_registry params, buffers;
  params_init(&params, 1024);
  params_init(&buffers, 8);
  vit v;
  surrogate s;
  denoiser dn;
  int64_t nx = 0, ny = 0, ncond = 0, nmod = 0;
  float *x = NULL, *dy = input("input.dy", &ny), *y = lola_malloc(sizeof *y * (size_t)ny, "y");
  float *dx = NULL, *dmod = NULL, *dcond = NULL;
  int64_t yshape[5] = {B, 0, shape[0], shape[1], shape[2]};
  size_t bytes = 0;
  vit_config arch = arch_config();
  bool is_vit = !strcmp(family, "vit"), is_sur = !strcmp(family, "surrogate");
  bool is_den = !strncmp(family, "denoiser", 8), masked = !strcmp(family, "denoiser_masked");
  if (is_vit) {
    arch.in_channels = meta_int("in_channels");
    arch.out_channels = meta_int("out_channels");
    arch.cond_channels = meta_int("cond_channels");
    arch.mod_features = meta_int("mod_features");
    vit_declare(&v, &params, &buffers, "", &arch);
    yshape[1] = arch.out_channels;
  } else if (is_sur) {
    surrogate_config c = {.channels = meta_int("channels"),
                          .emb_features = meta_int("emb_features"),
                          .label_features = meta_int("label_features"),
                          .arch = arch};
    surrogate_declare(&s, &params, &buffers, &c);
    yshape[1] = c.channels;
  } else if (is_den) {
    denoiser_config c = {.channels = meta_int("channels"),
                         .emb_features = meta_int("emb_features"),
                         .label_features = meta_int("label_features"),
                         .masked = meta_int("masked") != 0,
                         .arch = arch};
    c.schedule = schedule_default(schedule_kind_from_name(meta("schedule")));
    c.schedule.sigma_min = meta_float("sigma_min");
    c.schedule.sigma_max = meta_float("sigma_max");
    c.schedule.scale = meta_float("scale");
    c.schedule.shift = meta_float("shift");
    denoiser_declare(&dn, &params, &buffers, &c);
    yshape[1] = c.channels;
  } else {
    lola_die(LOLA_EXIT_DATA, "%s: unknown family '%s'", argv[2], family);
  }
  params_finalize(&params);
  params_finalize(&buffers);
  model_load(argv[1], &params, &buffers, true, family);

  x = input(is_den ? "input.x_t" : "input.x", &nx);
  dx = lola_malloc(sizeof *dx * (size_t)nx, "dx");
  nn_mode mode = nn_mode_eval();
  arena act;
  if (is_vit) {
    float *mod = input("input.mod", &nmod), *cond = input("input.cond", &ncond);
    dmod = nmod ? lola_malloc(sizeof *dmod * (size_t)nmod, "dmod") : NULL;
    dcond = ncond ? lola_malloc(sizeof *dcond * (size_t)ncond, "dcond") : NULL;
    bytes = vit_activation_bytes(&v, B, shape);
    arena_init(&act, bytes, "parity activations");
    vit_forward(&v, &params, &buffers, &act, y, x, mod, cond, B, shape, &mode);
    vit_backward(&v, &params, &act, dx, dmod, dcond, dy);
  } else if (is_sur) {
    float *mask = input("input.mask", NULL), *label = input("input.label", NULL);
    arena_init(&act, surrogate_activation_bytes(&s, B, shape), "parity activations");
    surrogate_forward(&s, &params, &buffers, &act, y, x, mask, label, B, shape, &mode);
    surrogate_backward(&s, &params, &act, dx, dy);
  } else {
    float *t = input("input.t", NULL), *label = input("input.label", NULL), *mask = input("input.mask", NULL);
    float *var = lola_malloc(sizeof *var * (size_t)B, "var");
    arena_init(&act, denoiser_activation_bytes(&dn, B, shape), "parity activations");
    if (masked) {
      float *obs = input("input.y", NULL);
      denoiser_masked_forward(&dn, &params, &buffers, &act, y, var, x, t, label, obs, mask, B, shape, &mode);
      denoiser_masked_backward(&dn, &params, &act, dx, dy);
    } else {
      denoiser_forward(&dn, &params, &buffers, &act, y, var, x, t, label, mask, B, shape, &mode);
      denoiser_backward(&dn, &params, &act, dx, dy);
    }
  }

  out_list *o = lola_calloc(1, sizeof *o, "outputs");
  out_add(o, "output.y", y, 2 + N, yshape);
  int64_t flat[1] = {nx};
  out_add(o, "grad.x", dx, 1, flat);
  if (dmod) out_add(o, "grad.mod", dmod, 1, (int64_t[]){nmod});
  if (dcond) out_add(o, "grad.cond", dcond, 1, (int64_t[]){ncond});
  st_entry *all = lola_calloc((size_t)(o->n + params.count), sizeof *all, "output entries");
  memcpy(all, o->e, sizeof *all * (size_t)o->n);
  for (int i = 0; i < params.count; i++) {
    const param_entry *e = &params.entries[i];
    char *name = lola_malloc(strlen(e->name) + 6, "name");
    sprintf(name, "grad.%s", e->name);
    all[o->n + i] = (st_entry){name, DT_F32, e->ndim, e->shape, params_grad(&params, i)};
  }
  st_write(argv[3], all, o->n + params.count, NULL);
  model_save(argv[4], &params, &buffers, NULL);
  printf("vit_parity: %s, %d parameters, %d buffers, activations %.1f MiB\n", family, params.count,
         buffers.count, (double)act.high_water / (1 << 20));
  comm_finalize();
  return 0;
}
