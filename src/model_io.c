/* Parameters and buffers in one safetensors file, by state_dict name. */
#include "model_io.h"

#include <stdlib.h>

#include "../io/safetensors.h"
#include "error.h"
#include "log.h"

void model_save(const char *path, const param_registry *params, const param_registry *buffers,
                const char *const *metadata) {
  const param_registry *regs[2] = {params, buffers};
  params_download(params); /* current host copies when the model trains on a device */
  if (buffers) params_download(buffers);
  int n = params->count + (buffers ? buffers->count : 0), k = 0;
  st_entry *entries = lola_calloc((size_t)(n ? n : 1), sizeof *entries, "model file entries");
  for (int g = 0; g < 2; g++)
    for (int i = 0; regs[g] && i < regs[g]->count; i++) {
      const param_entry *e = &regs[g]->entries[i];
      entries[k++] =
          (st_entry){e->name, DT_F32, e->ndim, e->shape, params_host(regs[g], PARAM_VALUES) + e->offset};
    }
  st_write(path, entries, n, metadata);
  free(entries);
}

int model_load(const char *path, param_registry *params, param_registry *buffers, bool strict,
               const char *what) {
  st_file f;
  st_open(&f, path);
  param_registry *regs[2] = {params, buffers};
  int loaded = 0;
  for (int g = 0; g < 2; g++)
    for (int i = 0; regs[g] && i < regs[g]->count; i++) {
      const param_entry *e = &regs[g]->entries[i];
      const st_info *t = st_find(&f, e->name);
      if (!t) {
        if (strict)
          lola_die(LOLA_EXIT_DATA, "safetensors file '%s' has no tensor '%s' (of the %s)", path, e->name,
                   what);
        lola_warn("%s: no tensor '%s'; it keeps its initial value", path, e->name);
        continue;
      }
      bool same = t->ndim == e->ndim;
      for (int d = 0; same && d < e->ndim; d++) same = t->shape[d] == e->shape[d];
      if (!same) {
        char want[96], got[96];
        lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensor '%s' has shape %s, the %s expects %s", path,
                 e->name, shape_str(t->ndim, t->shape, got, sizeof got), what,
                 shape_str(e->ndim, e->shape, want, sizeof want));
      }
      st_read_floats(&f, t, params_host(regs[g], PARAM_VALUES) + e->offset);
      loaded++;
    }
  for (int i = 0; i < f.count; i++) {
    const char *name = f.tensors[i].name;
    if (params_find(params, name) >= 0 || (buffers && params_find(buffers, name) >= 0)) continue;
    if (strict)
      lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensor '%s' is not in the %s", path, name, what);
    lola_warn("%s: tensor '%s' is not in the %s; ignored", path, name, what);
  }
  st_close(&f);
  params_upload(params);
  if (buffers) params_upload(buffers);
  return loaded;
}
