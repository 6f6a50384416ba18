#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/backend.h"
#include "../kernels/vector.h"
#include "error.h"

size_t dtype_size(lola_dtype dt) {
  switch (dt) {
    case DT_F32:
      return 4;
    case DT_BF16:
      return 2;
    case DT_F16:
      return 2;
    case DT_I64:
      return 8;
    case DT_BOOL:
      return 1;
  }
  return 0;
}

const char *dtype_name(lola_dtype dt) {
  switch (dt) {
    case DT_F32:
      return "F32";
    case DT_BF16:
      return "BF16";
    case DT_F16:
      return "F16";
    case DT_I64:
      return "I64";
    case DT_BOOL:
      return "BOOL";
  }
  return "?";
}

int64_t shape_numel(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

const char *shape_str(int ndim, const int64_t *shape, char *buf, size_t size) {
  size_t used = (size_t)snprintf(buf, size, "(");
  for (int i = 0; i < ndim && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (used < size) snprintf(buf + used, size - used, ")");
  return buf;
}

/* ---- arenas ---- */

static uint64_t heap_allocations;

uint64_t arena_heap_allocations(void) { return heap_allocations; }

void arena_init(arena *a, size_t bytes, const char *name) {
  memset(a, 0, sizeof *a);
  snprintf(a->name, sizeof a->name, "%s", name);
  a->capacity = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
  if (a->capacity == 0) return;
  if (posix_memalign((void **)&a->base, ARENA_ALIGN, a->capacity) != 0)
    lola_die(LOLA_EXIT_RUNTIME, "out of memory reserving %zu bytes for arena '%s'", a->capacity, name);
  heap_allocations++;
}

void arena_init_device(arena *a, size_t bytes, const char *name) {
  if (!k_backend_on_device()) {
    arena_init(a, bytes, name);
    return;
  }
  memset(a, 0, sizeof *a);
  snprintf(a->name, sizeof a->name, "%s", name);
  a->capacity = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
  a->device = true;
  if (a->capacity == 0) return;
  a->base = k_device_alloc(a->capacity, name);
  heap_allocations++;
}

void *arena_alloc(arena *a, size_t bytes) {
  size_t rounded = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
  if (rounded > a->capacity - a->used)
    lola_die(LOLA_EXIT_RUNTIME, "arena '%s' exhausted: %zu bytes requested, %zu of %zu in use", a->name,
             bytes, a->used, a->capacity);
  void *p = a->base + a->used;
  a->used += rounded;
  if (a->used > a->high_water) a->high_water = a->used;
  return p;
}

float *arena_floats(arena *a, int64_t count) { return arena_alloc(a, (size_t)count * sizeof(float)); }

tensor arena_tensor(arena *a, lola_dtype dt, int ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > TENSOR_MAX_DIMS)
    lola_die(LOLA_EXIT_RUNTIME, "arena '%s': tensor of %d dims (at most %d)", a->name, ndim, TENSOR_MAX_DIMS);
  tensor t = {.dtype = dt, .ndim = ndim};
  memcpy(t.shape, shape, (size_t)ndim * sizeof *shape);
  t.data = arena_alloc(a, (size_t)shape_numel(ndim, shape) * dtype_size(dt));
  return t;
}

void arena_reset(arena *a) { a->used = 0; }

void arena_free(arena *a) {
  if (a->device)
    k_device_free(a->base);
  else
    free(a->base);
  a->base = NULL;
  a->capacity = a->used = 0;
}

float *host_floats(float **buf, int64_t *capacity, int64_t floats, const char *what) {
  if (floats > *capacity) {
    free(*buf);
    *buf = lola_malloc((size_t)floats * sizeof(float), what);
    *capacity = floats;
  }
  return *buf;
}

/* ---- parameter registry ---- */

void params_init(param_registry *r, int capacity) {
  memset(r, 0, sizeof *r);
  r->capacity = capacity;
  r->entries = lola_calloc((size_t)capacity, sizeof *r->entries, "parameter registry");
}

int params_add(param_registry *r, const char *name, int ndim, const int64_t *shape) {
  if (r->finalized)
    lola_die(LOLA_EXIT_RUNTIME, "parameter '%s' declared after the registry was finalized", name);
  if (r->count == r->capacity)
    lola_die(LOLA_EXIT_RUNTIME, "parameter registry full (%d entries) at '%s'", r->capacity, name);
  if (strlen(name) >= PARAM_NAME_MAX)
    lola_die(LOLA_EXIT_RUNTIME, "parameter name '%s' longer than %d characters", name, PARAM_NAME_MAX - 1);
  if (ndim < 0 || ndim > TENSOR_MAX_DIMS)
    lola_die(LOLA_EXIT_RUNTIME, "parameter '%s' has %d dims (at most %d)", name, ndim, TENSOR_MAX_DIMS);
  if (params_find(r, name) >= 0) lola_die(LOLA_EXIT_RUNTIME, "parameter '%s' declared twice", name);
  param_entry *e = &r->entries[r->count];
  snprintf(e->name, sizeof e->name, "%s", name);
  e->ndim = ndim;
  memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
  e->numel = shape_numel(ndim, shape);
  e->offset = r->total;
  r->total += (e->numel + PARAM_ALIGN_FLOATS - 1) / PARAM_ALIGN_FLOATS * PARAM_ALIGN_FLOATS;
  return r->count++;
}

void params_finalize(param_registry *r) {
  if (r->finalized) return;
  size_t bytes = (size_t)(r->total > 0 ? r->total : 1) * sizeof(float);
  float **arrays[4] = {&r->values, &r->grads, &r->m, &r->v};
  for (int i = 0; i < 4; i++) {
    if (posix_memalign((void **)arrays[i], ARENA_ALIGN, bytes) != 0)
      lola_die(LOLA_EXIT_RUNTIME, "out of memory reserving %zu bytes for %lld parameters", bytes,
               (long long)r->total);
    memset(*arrays[i], 0, bytes);
    heap_allocations++;
  }
  r->finalized = true;
}

int params_find(const param_registry *r, const char *name) {
  for (int i = 0; i < r->count; i++)
    if (strcmp(r->entries[i].name, name) == 0) return i;
  return -1;
}

static void require_finalized(const param_registry *r, int index) {
  if (!r->finalized || index < 0 || index >= r->count)
    lola_die(LOLA_EXIT_RUNTIME, "parameter %d requested before finalize or out of range (%d declared)", index,
             r->count);
}

float *params_value(const param_registry *r, int index) {
  require_finalized(r, index);
  return r->values + r->entries[index].offset;
}

float *params_grad(const param_registry *r, int index) {
  require_finalized(r, index);
  return r->grads + r->entries[index].offset;
}

void params_zero_grad(param_registry *r) {
  if (r->finalized) k_fill(r->grads, 0.0f, r->total);
}

void params_grads_final(const param_registry *r, int first, int end) {
  if (!r->grads_final || first >= end || first < 0 || end > r->count) return;
  int64_t lo = r->entries[first].offset;
  int64_t hi = end < r->count ? r->entries[end].offset : r->total; /* padding included */
  r->grads_final(r->grads_final_user, lo, hi - lo);
}

void params_to_device(param_registry *r) {
  if (!r->finalized || r->on_device || !k_backend_on_device()) return;
  size_t bytes = (size_t)(r->total > 0 ? r->total : 1) * sizeof(float);
  float **arrays[4] = {&r->values, &r->grads, &r->m, &r->v};
  for (int i = 0; i < 4; i++) {
    r->host[i] = *arrays[i];
    *arrays[i] = k_device_alloc(bytes, "parameters");
    if (i != 1) k_upload(*arrays[i], r->host[i], bytes);
  }
  r->on_device = true;
}

float *params_host(const param_registry *r, int which) {
  if (r->on_device || (r->sharded && (which == PARAM_M || which == PARAM_V))) return r->host[which];
  float *arrays[4] = {r->values, r->grads, r->m, r->v};
  return arrays[which];
}

/* The kernels' moments and the host's, both ways: the shard when sharded. */
static void moments_upload(const param_registry *r) {
  if (r->sharded) {
    size_t bytes = (size_t)(r->shard_hi - r->shard_lo) * sizeof(float);
    if (bytes == 0) return;
    k_upload(r->m, r->host[PARAM_M] + r->shard_lo, bytes);
    k_upload(r->v, r->host[PARAM_V] + r->shard_lo, bytes);
  } else if (r->on_device) {
    size_t bytes = (size_t)(r->total > 0 ? r->total : 1) * sizeof(float);
    k_upload(r->m, r->host[PARAM_M], bytes);
    k_upload(r->v, r->host[PARAM_V], bytes);
  }
}

static void moments_download(const param_registry *r) {
  if (r->sharded) {
    size_t bytes = (size_t)(r->shard_hi - r->shard_lo) * sizeof(float);
    if (bytes == 0) return;
    k_download(r->host[PARAM_M] + r->shard_lo, r->m, bytes);
    k_download(r->host[PARAM_V] + r->shard_lo, r->v, bytes);
  } else if (r->on_device) {
    size_t bytes = (size_t)(r->total > 0 ? r->total : 1) * sizeof(float);
    k_download(r->host[PARAM_M], r->m, bytes);
    k_download(r->host[PARAM_V], r->v, bytes);
  }
}

void params_upload(const param_registry *r) {
  if (r->on_device)
    k_upload(r->values, r->host[PARAM_VALUES], (size_t)(r->total > 0 ? r->total : 1) * sizeof(float));
  moments_upload(r);
}

float *params_download(const param_registry *r) {
  moments_download(r);
  if (!r->on_device) return r->values;
  k_download(r->host[PARAM_VALUES], r->values, (size_t)(r->total > 0 ? r->total : 1) * sizeof(float));
  return r->host[PARAM_VALUES];
}

void params_shard_moments(param_registry *r, int64_t lo, int64_t hi) {
  if (!r->finalized || r->sharded || lo < 0 || hi < lo || hi > r->total)
    lola_die(LOLA_EXIT_RUNTIME, "params_shard_moments: shard [%lld, %lld) of %lld floats", (long long)lo,
             (long long)hi, (long long)r->total);
  float *full[2] = {r->m, r->v};
  if (r->on_device) moments_download(r); /* current moments into host[M], host[V] */
  size_t bytes = (size_t)(hi - lo > 0 ? hi - lo : 1) * sizeof(float);
  float **kernels_side[2] = {&r->m, &r->v};
  for (int k = 0; k < 2; k++) {
    if (r->on_device) {
      k_device_free(full[k]);
      *kernels_side[k] = k_device_alloc(bytes, "optimiser moments (shard)");
    } else {
      r->host[PARAM_M + k] = full[k]; /* the full host arrays stay, for checkpoints */
      *kernels_side[k] = lola_calloc(1, bytes, "optimiser moments (shard)");
    }
  }
  r->sharded = true;
  r->shard_lo = lo;
  r->shard_hi = hi;
  moments_upload(r);
}

void params_free(param_registry *r) {
  free(r->entries);
  float *arrays[4] = {r->values, r->grads, r->m, r->v};
  for (int i = 0; i < 4; i++) {
    bool moment = i == PARAM_M || i == PARAM_V;
    if (r->on_device) {
      k_device_free(arrays[i]);
      free(r->host[i]);
    } else {
      free(arrays[i]);
      if (r->sharded && moment) free(r->host[i]);
    }
  }
  memset(r, 0, sizeof *r);
}
