/* Tensors, arenas and the parameter registry of the neural-network engine.
 *
 * Memory is allocated once: an arena is sized when a model and batch size are
 * known, handed out by bumping a pointer, and reset between steps; nothing is
 * allocated inside a training step. The registry keeps every parameter, its
 * gradient and its two AdamW moments in four contiguous float arrays with the
 * same offsets, so one all-reduce covers every gradient and the optimiser runs
 * over flat arrays. Parameters carry the dotted names of the reference's
 * PyTorch state_dict ("encoder.descent.0.0.weight"), which are the tensor
 * names of our safetensors checkpoints. */
#ifndef LOLA_TENSOR_H
#define LOLA_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TENSOR_MAX_DIMS = 6 };

typedef enum { DT_F32, DT_BF16, DT_F16, DT_I64, DT_BOOL } lola_dtype;

size_t dtype_size(lola_dtype dt);
const char *dtype_name(lola_dtype dt); /* safetensors spelling: "F32", "BF16", ... */

typedef struct {
  lola_dtype dtype;
  int ndim;
  int64_t shape[TENSOR_MAX_DIMS];
  void *data;
} tensor;

int64_t shape_numel(int ndim, const int64_t *shape);
static inline int64_t tensor_numel(const tensor *t) { return shape_numel(t->ndim, t->shape); }
/* "(2, 3, 4)" into buf, for messages. */
const char *shape_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* ---- arenas ---- */

enum { ARENA_ALIGN = 64 }; /* a cache line: every allocation is SIMD-aligned */

typedef struct {
  char name[64];
  char *base;
  size_t capacity, used, high_water;
  bool device; /* memory of the kernels' backend (kernels/backend.h), not the host */
} arena;

/* Reserve `bytes` on the heap once; dies naming the arena when it cannot. */
void arena_init(arena *a, size_t bytes, const char *name);
/* The same in the active backend's device memory (host memory on the CPU
 * backend): for activations, which only kernels touch. */
void arena_init_device(arena *a, size_t bytes, const char *name);
/* Bump allocation, ARENA_ALIGN-aligned, uninitialised; dies naming the arena
 * and the sizes when it is exhausted (it never falls back to the heap). */
void *arena_alloc(arena *a, size_t bytes);
float *arena_floats(arena *a, int64_t count);
tensor arena_tensor(arena *a, lola_dtype dt, int ndim, const int64_t *shape);
void arena_reset(arena *a); /* forget every allocation; high_water is kept */
void arena_free(arena *a);
/* How many times any arena went to the heap since the program started: a
 * training loop checks that this does not move after its first step. */
uint64_t arena_heap_allocations(void);

/* A host buffer of at least `floats` floats in *buf (its size in
 * *capacity), grown only when a larger request comes: for the small per-batch
 * vectors computed on the host (schedule coefficients) before their upload. */
float *host_floats(float **buf, int64_t *capacity, int64_t floats, const char *what);

/* ---- parameter registry ---- */

enum { PARAM_NAME_MAX = 160, PARAM_ALIGN_FLOATS = 16 };

typedef struct {
  char name[PARAM_NAME_MAX];
  int ndim;
  int64_t shape[TENSOR_MAX_DIMS];
  int64_t numel;
  int64_t offset; /* into values, grads, m and v alike */
} param_entry;

typedef struct {
  param_entry *entries;
  int count, capacity;
  bool finalized;
  int64_t total;                 /* floats in each array, padding included (padding stays 0) */
  float *values, *grads, *m, *v; /* where the kernels read them: the device once on it */
  bool on_device;
  float *host[4]; /* on the device: the host arrays of values, grads, m, v (for checkpoints) */
  /* ZeRO-1 (params_shard_moments): the kernels' m and v hold only the floats
   * [shard_lo, shard_hi) of the moments, m[i - shard_lo]; the full moments
   * are the host arrays host[PARAM_M], host[PARAM_V], read and written by
   * checkpoints. */
  bool sharded;
  int64_t shard_lo, shard_hi;
  /* Told when a backward pass has finished the gradients of a contiguous run
   * of parameters (params_grads_final), so that their all-reduce can start
   * while the backward goes on; NULL when nobody listens. */
  void (*grads_final)(void *user, int64_t offset, int64_t count);
  void *grads_final_user;
} param_registry;

void params_init(param_registry *r, int capacity);
/* Declare a parameter before params_finalize; returns its index. Dies on a
 * duplicate name, a full registry or a late declaration. */
int params_add(param_registry *r, const char *name, int ndim, const int64_t *shape);
/* Allocate the four arrays (zeroed) once every parameter is declared. */
void params_finalize(param_registry *r);
int params_find(const param_registry *r, const char *name); /* -1 when absent */
float *params_value(const param_registry *r, int index);
float *params_grad(const param_registry *r, int index);
void params_zero_grad(param_registry *r);
/* A backward pass is done with the gradients of parameters [first, end) (in
 * declaration order, so contiguous in the arrays): tell the listener, if any. */
void params_grads_final(const param_registry *r, int first, int end);
/* Move the four arrays into the active backend's device memory (values and
 * moments uploaded, gradients zeroed); params_value / params_grad return
 * device addresses afterwards. Nothing happens on the CPU backend. Parameters
 * are initialised (or loaded) on the host first. */
void params_to_device(param_registry *r);
/* Copy the device values and moments back into the host arrays (r->host) and
 * return the host values; on the host already, r->values. Sharded moments:
 * this rank's share only (params_gather_moments brings the rest). */
float *params_download(const param_registry *r);
/* Copy the host values and moments onto the device (after a checkpoint was
 * read into the host arrays); nothing happens on the host. Sharded moments:
 * this rank's share of the host arrays into the kernels' shard. */
void params_upload(const param_registry *r);
/* ZeRO-1: from now on the kernels keep only the moments [lo, hi) (taken from
 * the current ones); the full moments stay in host arrays. Call after
 * params_to_device. */
void params_shard_moments(param_registry *r, int64_t lo, int64_t hi);
/* The host array of the values, gradients or moments, where checkpoints are
 * read and written (the arrays themselves on the host; on the device, the
 * host copies, current after params_download). */
enum { PARAM_VALUES, PARAM_GRADS, PARAM_M, PARAM_V };
float *params_host(const param_registry *r, int which);
void params_free(param_registry *r);

#endif
