/* safetensors files (https://github.com/huggingface/safetensors), the
 * checkpoint format shared with the PyTorch reference:
 *   8 bytes   N, the header length, unsigned little-endian
 *   N bytes   JSON: {"__metadata__": {str: str}?, name: {"dtype": "F32",
 *             "shape": [..], "data_offsets": [begin, end]}, ...}
 *   the rest  raw little-endian tensor data; offsets are relative to it and the
 *             tensors tile it without gaps or overlaps.
 * Supported dtypes: F32, BF16, F16, I64, BOOL.
 *
 * A file is read whole and validated before any tensor is used: a bad header
 * length, malformed JSON, an unsupported dtype, offsets outside the data or not
 * matching the shape, overlapping tensors or gaps are fatal data errors
 * (lola_die, LOLA_EXIT_DATA) that name the file and the tensor; nothing is ever
 * read out of bounds. Writes are atomic (io/atomic_file.h). */
#ifndef LOLA_SAFETENSORS_H
#define LOLA_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernels/optim.h"
#include "../src/tensor.h"

typedef struct {
  char *name;
  lola_dtype dtype;
  int ndim;
  int64_t shape[TENSOR_MAX_DIMS];
  size_t begin, end; /* byte offsets into the data section */
} st_info;

typedef struct {
  char *path;
  unsigned char *bytes; /* the whole file */
  size_t size;
  size_t data_start; /* 8 + header length */
  st_info *tensors;
  int count;
  char **meta_keys, **meta_values;
  int meta_count;
} st_file;

/* Read and validate `path`; dies naming the file (and tensor) when malformed. */
void st_open(st_file *f, const char *path);
/* Validate an in-memory image (takes ownership of `bytes`, freed by st_close);
 * `path` is used in messages. */
void st_open_bytes(st_file *f, const char *path, unsigned char *bytes, size_t size);
void st_close(st_file *f);

const st_info *st_find(const st_file *f, const char *name); /* NULL when absent */
const char *st_metadata(const st_file *f, const char *key); /* NULL when absent */
const void *st_data(const st_file *f, const st_info *t);
/* Convert an F32, BF16 or F16 tensor to floats (dies naming the tensor otherwise). */
void st_read_floats(const st_file *f, const st_info *t, float *out);

typedef struct {
  const char *name;
  lola_dtype dtype;
  int ndim;
  const int64_t *shape;
  const void *data; /* numel · dtype_size bytes, little-endian */
} st_entry;

/* Write `count` tensors (in that order) and metadata pairs {key, value, ...,
 * NULL} (or NULL) to `path` atomically. */
void st_write(const char *path, const st_entry *entries, int count, const char *const *metadata);

/* float <-> bfloat16 (round to nearest even) and IEEE half. */
uint16_t st_float_to_bf16(float x);
float st_bf16_to_float(uint16_t h);
float st_f16_to_float(uint16_t h);

/* ---- the parameter registry ---- */

/* Every parameter under its name, F32. */
void st_save_params(const char *path, const param_registry *r, const char *const *metadata);
/* Load parameters by name. A shape mismatch or a non-float dtype is always
 * fatal. strict: a parameter missing from the file or a file tensor that is no
 * parameter is fatal too (torch's load_state_dict(strict=True)); otherwise
 * missing parameters keep their values and extra tensors are ignored, each
 * with a warning. Returns the number of parameters loaded. */
int st_load_params(const char *path, param_registry *r, bool strict);

/* AdamW moments as "<name>.exp_avg" / "<name>.exp_avg_sq", with the step and
 * skip counts in the metadata. Loading is always strict. */
void st_save_optimizer(const char *path, const param_registry *r, const adamw_state *st);
void st_load_optimizer(const char *path, param_registry *r, adamw_state *st);

#endif
