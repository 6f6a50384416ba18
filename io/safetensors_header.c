/* A strict little JSON reader for the one shape of document a safetensors
 * header is: an object of objects, string and integer arrays. Every read is
 * bounded by the header length; every failure names the file and, once known,
 * the tensor. */
#include "safetensors_header.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/error.h"

typedef struct {
  const char *path;
  const char *s;
  size_t len, pos;
  const char *tensor; /* the entry being read, for messages */
} json_reader;

#define FAIL(r, ...) fail_at(r, __VA_ARGS__)

__attribute__((format(printf, 2, 3))) static _Noreturn void fail_at(const json_reader *r, const char *fmt,
                                                                    ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (r->tensor) lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensor '%s': %s", r->path, r->tensor, what);
  lola_die(LOLA_EXIT_DATA, "safetensors file '%s': malformed header at byte %zu: %s", r->path, r->pos + 8,
           what);
}

static void skip_space(json_reader *r) {
  while (r->pos < r->len &&
         (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' || r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
    r->pos++;
}

static char peek(json_reader *r) {
  skip_space(r);
  return r->pos < r->len ? r->s[r->pos] : '\0';
}

static void expect(json_reader *r, char c) {
  if (peek(r) != c) FAIL(r, "expected '%c'", c);
  r->pos++;
}

static int hex_digit(json_reader *r) {
  if (r->pos >= r->len) FAIL(r, "truncated \\u escape");
  char c = r->s[r->pos++];
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  FAIL(r, "bad hex digit in \\u escape");
}

static void put_utf8(char *out, size_t *n, unsigned cp) {
  if (cp < 0x80) {
    out[(*n)++] = (char)cp;
  } else if (cp < 0x800) {
    out[(*n)++] = (char)(0xC0 | (cp >> 6));
    out[(*n)++] = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out[(*n)++] = (char)(0xE0 | (cp >> 12));
    out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[(*n)++] = (char)(0x80 | (cp & 0x3F));
  } else {
    out[(*n)++] = (char)(0xF0 | (cp >> 18));
    out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[(*n)++] = (char)(0x80 | (cp & 0x3F));
  }
}

/* A JSON string, unescaped into a new buffer (decoded text is never longer
 * than its escaped form). */
static char *read_string(json_reader *r) {
  expect(r, '"');
  size_t start = r->pos;
  while (r->pos < r->len && r->s[r->pos] != '"') r->pos += r->s[r->pos] == '\\' ? 2 : 1;
  if (r->pos >= r->len) FAIL(r, "unterminated string");
  size_t end = r->pos;
  char *out = lola_malloc(end - start + 1, "safetensors header string");
  size_t n = 0;
  r->pos = start;
  while (r->pos < end) {
    char c = r->s[r->pos++];
    if ((unsigned char)c < 0x20) FAIL(r, "control character in string");
    if (c != '\\') {
      out[n++] = c;
      continue;
    }
    char e = r->s[r->pos++];
    switch (e) {
      case '"':
        out[n++] = '"';
        break;
      case '\\':
        out[n++] = '\\';
        break;
      case '/':
        out[n++] = '/';
        break;
      case 'b':
        out[n++] = '\b';
        break;
      case 'f':
        out[n++] = '\f';
        break;
      case 'n':
        out[n++] = '\n';
        break;
      case 'r':
        out[n++] = '\r';
        break;
      case 't':
        out[n++] = '\t';
        break;
      case 'u': {
        if (end - r->pos < 4) FAIL(r, "truncated \\u escape");
        unsigned cp = 0;
        for (int i = 0; i < 4; i++) cp = cp * 16 + (unsigned)hex_digit(r);
        /* A surrogate pair is 12 escaped bytes for 4 decoded ones. */
        if (cp >= 0xD800 && cp < 0xDC00 && end - r->pos >= 6 && r->s[r->pos] == '\\' &&
            r->s[r->pos + 1] == 'u') {
          r->pos += 2;
          unsigned lo = 0;
          for (int i = 0; i < 4; i++) lo = lo * 16 + (unsigned)hex_digit(r);
          if (lo < 0xDC00 || lo > 0xDFFF) FAIL(r, "bad surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(out, &n, cp);
        break;
      }
      default:
        FAIL(r, "bad escape '\\%c'", e);
    }
  }
  out[n] = '\0';
  r->pos = end + 1;
  return out;
}

static uint64_t read_uint(json_reader *r) {
  skip_space(r);
  if (r->pos >= r->len || r->s[r->pos] < '0' || r->s[r->pos] > '9')
    FAIL(r, "expected a non-negative integer");
  uint64_t v = 0;
  while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') {
    unsigned d = (unsigned)(r->s[r->pos++] - '0');
    if (v > (UINT64_MAX - d) / 10) FAIL(r, "integer too large");
    v = v * 10 + d;
  }
  return v;
}

/* Skip any JSON value (unknown fields are tolerated, as by the reference reader). */
static void skip_value(json_reader *r, int depth) {
  if (depth > 32) FAIL(r, "nesting too deep");
  char c = peek(r);
  if (c == '"') {
    free(read_string(r));
  } else if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    r->pos++;
    if (peek(r) == close) {
      r->pos++;
      return;
    }
    for (;;) {
      if (close == '}') {
        free(read_string(r));
        expect(r, ':');
      }
      skip_value(r, depth + 1);
      if (peek(r) == ',') {
        r->pos++;
        continue;
      }
      expect(r, close);
      return;
    }
  } else {
    size_t start = r->pos;
    while (r->pos < r->len && strchr(",}] \t\r\n", r->s[r->pos]) == NULL) r->pos++;
    if (r->pos == start) FAIL(r, "expected a value");
  }
}

static int parse_dtype(json_reader *r, const char *name) {
  static const struct {
    const char *name;
    lola_dtype dt;
  } known[] = {{"F32", DT_F32}, {"BF16", DT_BF16}, {"F16", DT_F16}, {"I64", DT_I64}, {"BOOL", DT_BOOL}};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (strcmp(name, known[i].name) == 0) return (int)known[i].dt;
  FAIL(r, "unsupported dtype '%s' (supported: F32, BF16, F16, I64, BOOL)", name);
}

static void read_tensor(json_reader *r, st_info *t, size_t data_size) {
  bool have_dtype = false, have_shape = false, have_offsets = false;
  uint64_t begin = 0, end = 0;
  expect(r, '{');
  while (peek(r) != '}') {
    char *key = read_string(r);
    expect(r, ':');
    if (strcmp(key, "dtype") == 0) {
      char *dt = read_string(r);
      t->dtype = (lola_dtype)parse_dtype(r, dt);
      free(dt);
      have_dtype = true;
    } else if (strcmp(key, "shape") == 0) {
      expect(r, '[');
      t->ndim = 0;
      while (peek(r) != ']') {
        if (t->ndim == TENSOR_MAX_DIMS) FAIL(r, "more than %d dimensions", TENSOR_MAX_DIMS);
        uint64_t d = read_uint(r);
        if (d > (uint64_t)INT64_MAX) FAIL(r, "dimension too large");
        t->shape[t->ndim++] = (int64_t)d;
        if (peek(r) == ',')
          r->pos++;
        else if (peek(r) != ']')
          FAIL(r, "expected ',' or ']' in shape");
      }
      r->pos++;
      have_shape = true;
    } else if (strcmp(key, "data_offsets") == 0) {
      expect(r, '[');
      begin = read_uint(r);
      expect(r, ',');
      end = read_uint(r);
      expect(r, ']');
      have_offsets = true;
    } else {
      skip_value(r, 1);
    }
    free(key);
    if (peek(r) == ',')
      r->pos++;
    else if (peek(r) != '}')
      FAIL(r, "expected ',' or '}'");
  }
  r->pos++;
  if (!have_dtype || !have_shape || !have_offsets) FAIL(r, "entry lacks dtype, shape or data_offsets");
  if (begin > end || end > data_size)
    FAIL(r, "data_offsets [%llu, %llu] outside the %zu bytes of data", (unsigned long long)begin,
         (unsigned long long)end, data_size);
  uint64_t bytes = dtype_size(t->dtype);
  for (int i = 0; i < t->ndim; i++)
    if (__builtin_mul_overflow(bytes, (uint64_t)t->shape[i], &bytes)) FAIL(r, "shape too large");
  if (bytes != end - begin)
    FAIL(r, "data_offsets [%llu, %llu] hold %llu bytes but the shape and dtype need %llu",
         (unsigned long long)begin, (unsigned long long)end, (unsigned long long)(end - begin),
         (unsigned long long)bytes);
  t->begin = (size_t)begin;
  t->end = (size_t)end;
}

static void read_metadata(json_reader *r, st_file *f) {
  expect(r, '{');
  while (peek(r) != '}') {
    char *key = read_string(r);
    expect(r, ':');
    if (peek(r) != '"') FAIL(r, "__metadata__ value of '%s' is not a string", key);
    char *value = read_string(r);
    f->meta_keys = realloc(f->meta_keys, (size_t)(f->meta_count + 1) * sizeof *f->meta_keys);
    f->meta_values = realloc(f->meta_values, (size_t)(f->meta_count + 1) * sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values) lola_die(LOLA_EXIT_RUNTIME, "out of memory reading '%s'", f->path);
    f->meta_keys[f->meta_count] = key;
    f->meta_values[f->meta_count++] = value;
    if (peek(r) == ',')
      r->pos++;
    else if (peek(r) != '}')
      FAIL(r, "expected ',' or '}' in __metadata__");
  }
  r->pos++;
}

static int by_begin(const void *a, const void *b) {
  const st_info *x = *(st_info *const *)a, *y = *(st_info *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* Tensors must tile the data section: sorted by offset, each begins where the
 * previous ended (overlaps and gaps are rejected, as by the reference reader). */
static void check_tiling(const st_file *f, size_t data_size) {
  st_info **order = lola_malloc((size_t)(f->count ? f->count : 1) * sizeof *order, "safetensors validation");
  for (int i = 0; i < f->count; i++) order[i] = &f->tensors[i];
  qsort(order, (size_t)f->count, sizeof *order, by_begin);
  size_t expected = 0;
  for (int i = 0; i < f->count; i++) {
    const st_info *t = order[i];
    if (t->begin < expected)
      lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensor '%s' overlaps tensor '%s'", f->path, t->name,
               order[i - 1]->name);
    if (t->begin > expected)
      lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensor '%s' leaves a gap of %zu bytes before it",
               f->path, t->name, t->begin - expected);
    expected = t->end;
  }
  free(order);
  if (expected != data_size)
    lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensors cover %zu of the %zu data bytes", f->path,
             expected, data_size);
}

void st_parse_header(st_file *f, const char *json, size_t len, size_t data_size) {
  json_reader r = {.path = f->path, .s = json, .len = len};
  int capacity = 0;
  expect(&r, '{');
  while (peek(&r) != '}') {
    char *name = read_string(&r);
    expect(&r, ':');
    if (strcmp(name, "__metadata__") == 0) {
      free(name);
      read_metadata(&r, f);
    } else {
      for (int i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
          lola_die(LOLA_EXIT_DATA, "safetensors file '%s': tensor '%s' appears twice", f->path, name);
      if (f->count == capacity) {
        capacity = capacity ? 2 * capacity : 64;
        f->tensors = realloc(f->tensors, (size_t)capacity * sizeof *f->tensors);
        if (!f->tensors) lola_die(LOLA_EXIT_RUNTIME, "out of memory reading '%s'", f->path);
      }
      st_info *t = &f->tensors[f->count++];
      memset(t, 0, sizeof *t);
      t->name = name;
      r.tensor = name;
      read_tensor(&r, t, data_size);
      r.tensor = NULL;
    }
    if (peek(&r) == ',')
      r.pos++;
    else if (peek(&r) != '}')
      FAIL(&r, "expected ',' or '}'");
  }
  r.pos++;
  skip_space(&r);
  if (r.pos != r.len) FAIL(&r, "trailing characters after the header object");
  check_tiling(f, data_size);
}
