/* Reading, validating and writing safetensors files. */
#include "safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../src/error.h"
#include "atomic_file.h"
#include "safetensors_header.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors data is little-endian: add byte swapping");

static char *copy_string(const char *s) {
  char *c = lola_malloc(strlen(s) + 1, "string");
  strcpy(c, s);
  return c;
}

static FILE *open_for_reading(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) lola_die(LOLA_EXIT_DATA, "cannot open safetensors file '%s': %s", path, strerror(errno));
  return fp;
}

void st_open(st_file *f, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    lola_die(LOLA_EXIT_DATA, "cannot open safetensors file '%s': %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode)) lola_die(LOLA_EXIT_DATA, "safetensors file '%s' is not a regular file", path);
  FILE *fp = open_for_reading(path);
  if (fseek(fp, 0, SEEK_END) != 0) lola_die(LOLA_EXIT_DATA, "cannot seek in safetensors file '%s'", path);
  long size = ftell(fp);
  if (size < 0 || fseek(fp, 0, SEEK_SET) != 0)
    lola_die(LOLA_EXIT_DATA, "cannot size safetensors file '%s'", path);
  unsigned char *bytes = lola_malloc(size ? (size_t)size : 1, "safetensors file");
  if (fread(bytes, 1, (size_t)size, fp) != (size_t)size)
    lola_die(LOLA_EXIT_DATA, "cannot read the %ld bytes of safetensors file '%s'", size, path);
  fclose(fp);
  st_open_bytes(f, path, bytes, (size_t)size);
}

void st_open_bytes(st_file *f, const char *path, unsigned char *bytes, size_t size) {
  memset(f, 0, sizeof *f);
  f->path = copy_string(path);
  f->bytes = bytes;
  f->size = size;
  if (size < 8)
    lola_die(LOLA_EXIT_DATA, "safetensors file '%s' is %zu bytes long, shorter than its 8-byte header length",
             path, size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = n << 8 | bytes[i];
  if (n > size - 8)
    lola_die(LOLA_EXIT_DATA, "safetensors file '%s': header length %llu exceeds the %zu bytes after it", path,
             (unsigned long long)n, size - 8);
  f->data_start = 8 + (size_t)n;
  st_parse_header(f, (const char *)bytes + 8, (size_t)n, size - f->data_start);
}

void st_close(st_file *f) {
  for (int i = 0; i < f->count; i++) free(f->tensors[i].name);
  for (int i = 0; i < f->meta_count; i++) {
    free(f->meta_keys[i]);
    free(f->meta_values[i]);
  }
  free(f->tensors);
  free(f->meta_keys);
  free(f->meta_values);
  free(f->bytes);
  free(f->path);
  memset(f, 0, sizeof *f);
}

const st_info *st_find(const st_file *f, const char *name) {
  for (int i = 0; i < f->count; i++)
    if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
  return NULL;
}

const char *st_metadata(const st_file *f, const char *key) {
  for (int i = 0; i < f->meta_count; i++)
    if (strcmp(f->meta_keys[i], key) == 0) return f->meta_values[i];
  return NULL;
}

const void *st_data(const st_file *f, const st_info *t) { return f->bytes + f->data_start + t->begin; }

uint16_t st_float_to_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
  u += 0x7FFFu + ((u >> 16) & 1u);                                          /* round to nearest even */
  return (uint16_t)(u >> 16);
}

float st_bf16_to_float(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float x;
  memcpy(&x, &u, 4);
  return x;
}

float st_f16_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, u;
  if (exponent == 0x1F) {
    u = sign | 0x7F800000u | (mantissa << 13); /* inf / NaN */
  } else if (exponent == 0) {
    float x = (float)mantissa * 0x1p-24f; /* zero and subnormals */
    return sign ? -x : x;
  } else {
    u = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float x;
  memcpy(&x, &u, 4);
  return x;
}

void st_read_floats(const st_file *f, const st_info *t, float *out) {
  int64_t n = shape_numel(t->ndim, t->shape);
  const unsigned char *p = st_data(f, t);
  switch (t->dtype) {
    case DT_F32:
      memcpy(out, p, (size_t)n * 4);
      break;
    case DT_BF16:
    case DT_F16:
      for (int64_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        out[i] = t->dtype == DT_BF16 ? st_bf16_to_float(h) : st_f16_to_float(h);
      }
      break;
    default:
      lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensor '%s' is %s, not a floating-point tensor",
               f->path, t->name, dtype_name(t->dtype));
  }
}

/* ---- writing ---- */

typedef struct {
  char *s;
  size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n) {
  if (t->len + n + 1 > t->cap) {
    t->cap = 2 * (t->len + n + 1);
    t->s = realloc(t->s, t->cap);
    if (!t->s) lola_die(LOLA_EXIT_RUNTIME, "out of memory building a safetensors header");
  }
  memcpy(t->s + t->len, s, n);
  t->len += n;
  t->s[t->len] = '\0';
}

static void put_str(text *t, const char *s) { put(t, s, strlen(s)); }

static void put_json_string(text *t, const char *s) {
  put_str(t, "\"");
  for (; *s; s++) {
    char buf[8];
    if (*s == '"' || *s == '\\') {
      buf[0] = '\\';
      buf[1] = *s;
      put(t, buf, 2);
    } else if ((unsigned char)*s < 0x20) {
      snprintf(buf, sizeof buf, "\\u%04x", (unsigned char)*s);
      put_str(t, buf);
    } else {
      put(t, s, 1);
    }
  }
  put_str(t, "\"");
}

void st_write(const char *path, const st_entry *entries, int count, const char *const *metadata) {
  text h = {0};
  char buf[64];
  put_str(&h, "{");
  if (metadata && metadata[0]) {
    put_str(&h, "\"__metadata__\":{");
    for (int i = 0; metadata[i]; i += 2) {
      if (!metadata[i + 1])
        lola_die(LOLA_EXIT_RUNTIME, "writing '%s': metadata key '%s' has no value", path, metadata[i]);
      if (i) put_str(&h, ",");
      put_json_string(&h, metadata[i]);
      put_str(&h, ":");
      put_json_string(&h, metadata[i + 1]);
    }
    put_str(&h, "}");
  }
  size_t offset = 0;
  for (int i = 0; i < count; i++) {
    const st_entry *e = &entries[i];
    if (e->ndim < 0 || e->ndim > TENSOR_MAX_DIMS)
      lola_die(LOLA_EXIT_RUNTIME, "writing '%s': tensor '%s' has %d dims", path, e->name, e->ndim);
    size_t bytes = (size_t)shape_numel(e->ndim, e->shape) * dtype_size(e->dtype);
    if (h.len > 1) put_str(&h, ",");
    put_json_string(&h, e->name);
    snprintf(buf, sizeof buf, ":{\"dtype\":\"%s\",\"shape\":[", dtype_name(e->dtype));
    put_str(&h, buf);
    for (int d = 0; d < e->ndim; d++) {
      snprintf(buf, sizeof buf, d ? ",%lld" : "%lld", (long long)e->shape[d]);
      put_str(&h, buf);
    }
    snprintf(buf, sizeof buf, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
    put_str(&h, buf);
    offset += bytes;
  }
  put_str(&h, "}");
  while (h.len % 8) put_str(&h, " "); /* the data section starts 8-byte aligned, as the reference pads */

  unsigned char length[8];
  for (int i = 0; i < 8; i++) length[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
  atomic_file af;
  atomic_open(&af, path);
  bool ok = fwrite(length, 1, 8, af.fp) == 8 && fwrite(h.s, 1, h.len, af.fp) == h.len;
  for (int i = 0; ok && i < count; i++) {
    size_t bytes = (size_t)shape_numel(entries[i].ndim, entries[i].shape) * dtype_size(entries[i].dtype);
    ok = fwrite(entries[i].data, 1, bytes, af.fp) == bytes;
  }
  free(h.s);
  if (!ok) {
    atomic_abandon(&af);
    lola_die(LOLA_EXIT_RUNTIME, "cannot write safetensors file '%s' (disk full?)", path);
  }
  atomic_commit(&af);
}
