/* Checkpoints of the parameter registry and of the AdamW state. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/error.h"
#include "../src/log.h"
#include "safetensors.h"

void st_save_params(const char *path, const param_registry *r, const char *const *metadata) {
  params_download(r);
  st_entry *entries = lola_calloc((size_t)(r->count ? r->count : 1), sizeof *entries, "checkpoint entries");
  for (int i = 0; i < r->count; i++) {
    const param_entry *p = &r->entries[i];
    entries[i] = (st_entry){p->name, DT_F32, p->ndim, p->shape, params_host(r, PARAM_VALUES) + p->offset};
  }
  st_write(path, entries, r->count, metadata);
  free(entries);
}

static bool same_shape(const st_info *t, const param_entry *p) {
  if (t->ndim != p->ndim) return false;
  for (int d = 0; d < p->ndim; d++)
    if (t->shape[d] != p->shape[d]) return false;
  return true;
}

/* Copy tensor `name` of f into dst after checking it has the parameter's shape. */
static void load_checked(const st_file *f, const st_info *t, const param_entry *p, float *dst) {
  if (!same_shape(t, p)) {
    char want[96], got[96];
    lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensor '%s' has shape %s, the model expects %s", f->path,
             t->name, shape_str(t->ndim, t->shape, got, sizeof got),
             shape_str(p->ndim, p->shape, want, sizeof want));
  }
  st_read_floats(f, t, dst);
}

int st_load_params(const char *path, param_registry *r, bool strict) {
  st_file f;
  st_open(&f, path);
  int loaded = 0;
  for (int i = 0; i < r->count; i++) {
    const param_entry *p = &r->entries[i];
    const st_info *t = st_find(&f, p->name);
    if (!t) {
      if (strict)
        lola_die(LOLA_EXIT_DATA, "safetensors file '%s' has no tensor '%s' (a model parameter)", path,
                 p->name);
      lola_warn("%s: no tensor '%s'; the parameter keeps its initial value", path, p->name);
      continue;
    }
    load_checked(&f, t, p, params_host(r, PARAM_VALUES) + p->offset);
    loaded++;
  }
  for (int i = 0; i < f.count; i++) {
    if (params_find(r, f.tensors[i].name) >= 0) continue;
    if (strict)
      lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensor '%s' is not a parameter of the model", path,
               f.tensors[i].name);
    lola_warn("%s: tensor '%s' is not a parameter of the model; ignored", path, f.tensors[i].name);
  }
  st_close(&f);
  params_upload(r);
  return loaded;
}

void st_save_optimizer(const char *path, const param_registry *r, const adamw_state *st) {
  int n = r->count;
  params_download(r);
  st_entry *entries = lola_calloc((size_t)(2 * n + 1), sizeof *entries, "optimizer checkpoint entries");
  char **names = lola_calloc((size_t)(2 * n + 1), sizeof *names, "optimizer checkpoint names");
  for (int i = 0; i < n; i++) {
    const param_entry *p = &r->entries[i];
    for (int k = 0; k < 2; k++) {
      size_t len = strlen(p->name) + 16;
      names[2 * i + k] = lola_malloc(len, "optimizer tensor name");
      snprintf(names[2 * i + k], len, "%s.%s", p->name, k ? "exp_avg_sq" : "exp_avg");
      entries[2 * i + k] = (st_entry){names[2 * i + k], DT_F32, p->ndim, p->shape,
                                      params_host(r, k ? PARAM_V : PARAM_M) + p->offset};
    }
  }
  char steps[32], skipped[32];
  snprintf(steps, sizeof steps, "%" PRId64, st->steps);
  snprintf(skipped, sizeof skipped, "%" PRId64, st->skipped);
  const char *meta[] = {"format", "lola-adamw", "steps", steps, "skipped", skipped, NULL};
  st_write(path, entries, 2 * n, meta);
  for (int i = 0; i < 2 * n; i++) free(names[i]);
  free(names);
  free(entries);
}

static int64_t metadata_count(const st_file *f, const char *key) {
  const char *v = st_metadata(f, key);
  char *end = NULL;
  long long n = v ? strtoll(v, &end, 10) : -1;
  if (!v || *end || n < 0)
    lola_die(LOLA_EXIT_DATA, "safetensors file '%s': optimizer metadata '%s' missing or not a count", f->path,
             key);
  return (int64_t)n;
}

static const st_info *required_tensor(const st_file *f, const char *name) {
  const st_info *t = st_find(f, name);
  if (!t) lola_die(LOLA_EXIT_DATA, "safetensors file '%s' has no tensor '%s'", f->path, name);
  return t;
}

void st_load_optimizer(const char *path, param_registry *r, adamw_state *st) {
  st_file f;
  st_open(&f, path);
  const char *format = st_metadata(&f, "format");
  if (!format || strcmp(format, "lola-adamw") != 0)
    lola_die(LOLA_EXIT_DATA, "safetensors file '%s' is not an AdamW state (metadata format '%s')", path,
             format ? format : "(none)");
  if (f.count != 2 * r->count)
    lola_die(LOLA_EXIT_DATA, "safetensors file '%s' holds %d tensors, the AdamW state of this model has %d",
             path, f.count, 2 * r->count);
  for (int i = 0; i < r->count; i++) {
    const param_entry *p = &r->entries[i];
    for (int k = 0; k < 2; k++) {
      char name[PARAM_NAME_MAX + 16];
      snprintf(name, sizeof name, "%s.%s", p->name, k ? "exp_avg_sq" : "exp_avg");
      load_checked(&f, required_tensor(&f, name), p, params_host(r, k ? PARAM_V : PARAM_M) + p->offset);
    }
  }
  st->steps = metadata_count(&f, "steps");
  st->skipped = metadata_count(&f, "skipped");
  st_close(&f);
  params_upload(r);
}
