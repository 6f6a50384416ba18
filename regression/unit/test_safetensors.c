/* safetensors: round trips, a file laid out as Python's safetensors writes
 * it, every kind of malformed file, and checkpoints of the registry. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/safetensors.h"
#include "harness.h"

/* A path in the test's scratch directory; the buffer is the caller's. */
static const char *tmp_path_in(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", harness_tmpdir(), name);
  return buf;
}
#define tmp_path(name) tmp_path_in((char[1024]){0}, 1024, name)

/* A file from a header (padded with spaces to 8 bytes, as the Python writer
 * does) and a data section; `length_delta` corrupts the declared length. */
static void write_raw(const char *path, const char *header, const void *data, size_t data_bytes,
                      long length_delta) {
  size_t n = strlen(header), padded = (n + 7) / 8 * 8;
  uint64_t declared = (uint64_t)((long)padded + length_delta);
  FILE *fp = fopen(path, "wb");
  for (int i = 0; i < 8; i++) fputc((int)((declared >> (8 * i)) & 0xFF), fp);
  fwrite(header, 1, n, fp);
  for (size_t i = n; i < padded; i++) fputc(' ', fp);
  fwrite(data, 1, data_bytes, fp);
  fclose(fp);
}

TEST(safetensors_reads_a_file_as_python_writes_it) {
  /* The layout of safetensors.torch.save_file({...}, metadata={"format": "pt"}):
   * compact JSON, __metadata__ first, 8-byte alignment by trailing spaces. */
  const char *header =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
      "\"encoder.descent.0.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,1,1],\"data_offsets\":[8,16]},"
      "\"latent.bf16\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[16,22]},"
      "\"latent.f16\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[22,30]},"
      "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[30,32]}}";
  unsigned char data[32] = {0x2A, 0,    0,    0,    0,    0,    0,    0,    /* 42 */
                            0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0, /* 1.0f, -2.5f */
                            0x80, 0x3F, 0x00, 0xC0, 0x49, 0x40,             /* bf16 1, -2, 3.140625 */
                            0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, /* f16 1, -2, 65504, 2^-24 */
                            1,    0};
  const char *path = tmp_path("python_layout.safetensors");
  write_raw(path, header, data, sizeof data, 0);
  st_file f;
  st_open(&f, path);
  CHECK(f.count == 5);
  CHECK(f.data_start % 8 == 0);
  CHECK(st_metadata(&f, "format") && strcmp(st_metadata(&f, "format"), "pt") == 0);
  const st_info *step = st_find(&f, "step");
  CHECK(step && step->dtype == DT_I64 && step->ndim == 0);
  int64_t s;
  memcpy(&s, st_data(&f, step), 8);
  CHECK(s == 42);
  const st_info *w = st_find(&f, "encoder.descent.0.0.weight");
  CHECK(w && w->ndim == 3 && w->shape[0] == 2 && w->shape[2] == 1);
  float out[4];
  st_read_floats(&f, w, out);
  CHECK(out[0] == 1.0f && out[1] == -2.5f);
  st_read_floats(&f, st_find(&f, "latent.bf16"), out);
  CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == 3.140625f);
  st_read_floats(&f, st_find(&f, "latent.f16"), out);
  CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == 65504.0f && out[3] == 0x1p-24f);
  const unsigned char *mask = st_data(&f, st_find(&f, "mask"));
  CHECK(mask[0] == 1 && mask[1] == 0);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, st_read_floats(&f, step, out)));
  CHECK(strstr(trap.message, "step") && strstr(trap.message, "python_layout"));
  st_close(&f);
}

TEST(safetensors_round_trip_every_dtype) {
  float f32[6] = {1.5f, -2.25f, 3e-8f, 1e30f, 0.0f, -0.0f};
  uint16_t bf16[3] = {st_float_to_bf16(1.0f), st_float_to_bf16(-3.0f), st_float_to_bf16(1.00390625f)};
  uint16_t f16[2] = {0x3C00, 0x3555}; /* 1, ~0.333 */
  int64_t i64[2] = {-7, INT64_MAX};
  unsigned char bools[3] = {1, 0, 1};
  int64_t s6[2] = {2, 3}, s3[1] = {3}, s2[1] = {2}, s0[1] = {0};
  st_entry e[6] = {{"a.weight", DT_F32, 2, s6, f32}, {"b \"quoted\" \\ name", DT_BF16, 1, s3, bf16},
                   {"c", DT_F16, 1, s2, f16},        {"d", DT_I64, 1, s2, i64},
                   {"e", DT_BOOL, 1, s3, bools},     {"empty", DT_F32, 1, s0, f32}};
  const char *meta[] = {"epoch", "12", "note", "tab\there", NULL};
  const char *path = tmp_path("round_trip.safetensors");
  st_write(path, e, 6, meta);
  st_file f;
  st_open(&f, path);
  CHECK(f.count == 6 && f.data_start % 8 == 0 && f.bytes[8] == '{');
  CHECK(st_find(&f, "empty")->begin == st_find(&f, "empty")->end);
  CHECK(strcmp(st_metadata(&f, "epoch"), "12") == 0 && strcmp(st_metadata(&f, "note"), "tab\there") == 0);
  float out[6];
  st_read_floats(&f, st_find(&f, "a.weight"), out);
  CHECK(memcmp(out, f32, sizeof f32) == 0);
  const st_info *b = st_find(&f, "b \"quoted\" \\ name");
  CHECK(b != NULL);
  st_read_floats(&f, b, out);
  CHECK(out[0] == 1.0f && out[1] == -3.0f && out[2] == 1.0f); /* 1 + 2^-8 rounds to even */
  st_read_floats(&f, st_find(&f, "c"), out);
  CHECK(out[0] == 1.0f && fabsf(out[1] - 1.0f / 3.0f) < 1e-3f);
  CHECK(memcmp(st_data(&f, st_find(&f, "d")), i64, sizeof i64) == 0);
  CHECK(memcmp(st_data(&f, st_find(&f, "e")), bools, sizeof bools) == 0);
  st_close(&f);
  /* The write left no temporary file behind. */
  DIR *dir = opendir(harness_tmpdir());
  bool leftovers = false;
  for (struct dirent *d; (d = readdir(dir));) leftovers |= strstr(d->d_name, ".tmp") != NULL;
  closedir(dir);
  CHECK(!leftovers);
}

/* Expect st_open(path) to die with a data error whose message names the file
 * and contains `needle`. */
static void check_rejected(const char *name, const char *header, size_t data_bytes, long length_delta,
                           const char *needle) {
  unsigned char data[64] = {0};
  const char *path = tmp_path(name);
  write_raw(path, header, data, data_bytes, length_delta);
  st_file f = {0};
  lola_error_trap trap;
  bool died = EXPECT_DIE(trap, LOLA_EXIT_DATA, st_open(&f, path));
  bool named = died && strstr(trap.message, name) && strstr(trap.message, needle);
  if (died && !named) fprintf(stderr, "  %s: message: %s\n", name, trap.message);
  CHECK(named);
}

TEST(safetensors_rejects_malformed_files) {
  const char *ok_tensor = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
  char h[512];
  snprintf(h, sizeof h, "{%s}", ok_tensor);
  check_rejected("length_too_big.st", h, 8, 1000, "header length");
  check_rejected("truncated_data.st", h, 4, 0, "'w'"); /* offsets past the end of the file */
  check_rejected("not_json.st", "[1, 2]", 0, 0, "malformed header");
  check_rejected("unterminated.st", "{\"w\":{\"dtype\":\"F3", 0, 0, "unterminated string");
  check_rejected("unknown_dtype.st", "{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, 0,
                 "unsupported dtype 'F64'");
  check_rejected("size_mismatch.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0,
                 "need 12");
  check_rejected("reversed.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, 0,
                 "outside");
  check_rejected("overlap.st",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                 12, 0, "overlaps");
  check_rejected("gap.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0, "gap");
  check_rejected("tail.st", h, 12, 0, "cover 8 of the 12");
  check_rejected("duplicate.st",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                 8, 0, "twice");
  check_rejected("seven_dims.st",
                 "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, 0,
                 "dimensions");
  check_rejected("huge_shape.st",
                 "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, 0,
                 "too large");
  check_rejected("missing_offsets.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, 0, "lacks");
  check_rejected("bad_metadata.st", "{\"__metadata__\":{\"n\":3}}", 0, 0, "not a string");
  check_rejected("trailing.st", "{} x", 0, 0, "trailing");
  /* Shorter than the length field itself. */
  const char *path = tmp_path("tiny.st");
  FILE *fp = fopen(path, "wb");
  fputs("abc", fp);
  fclose(fp);
  st_file f;
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, st_open(&f, path)));
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, st_open(&f, tmp_path("does_not_exist.st"))));
  CHECK(strstr(trap.message, "does_not_exist.st") != NULL);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, st_open(&f, harness_tmpdir())));
  CHECK(strstr(trap.message, "not a regular file") != NULL);
}

static void make_registry(param_registry *r, bool with_extra) {
  params_init(r, 4);
  int64_t w[2] = {3, 2}, b[1] = {3}, e[1] = {5};
  params_add(r, "net.0.weight", 2, w);
  params_add(r, "net.0.bias", 1, b);
  if (with_extra) params_add(r, "net.extra", 1, e);
  params_finalize(r);
}

TEST(safetensors_checkpoints_the_registry_and_the_optimizer) {
  param_registry a, b;
  make_registry(&a, false);
  for (int64_t i = 0; i < a.total; i++)
    a.values[i] = (float)i * 0.5f, a.m[i] = (float)i, a.v[i] = (float)(2 * i);
  const char *model = tmp_path("model.safetensors");
  st_save_params(model, &a, NULL);
  adamw_state st = {.steps = 17, .skipped = 2}, back = {0};
  const char *opt_path = tmp_path("optimizer.safetensors");
  st_save_optimizer(opt_path, &a, &st);

  make_registry(&b, false);
  CHECK(st_load_params(model, &b, true) == 2);
  CHECK(memcmp(params_value(&b, 0), params_value(&a, 0), 6 * sizeof(float)) == 0);
  CHECK(memcmp(params_value(&b, 1), params_value(&a, 1), 3 * sizeof(float)) == 0);
  st_load_optimizer(opt_path, &b, &back);
  CHECK(back.steps == 17 && back.skipped == 2);
  CHECK(b.m[a.entries[1].offset + 2] == a.m[a.entries[1].offset + 2]);
  CHECK(b.v[a.entries[0].offset + 5] == a.v[a.entries[0].offset + 5]);
  st_file f;
  st_open(&f, opt_path);
  CHECK(st_find(&f, "net.0.bias.exp_avg_sq") != NULL);
  st_close(&f);

  /* A model with one more parameter: strict fails naming it, non-strict loads the rest. */
  param_registry c;
  make_registry(&c, true);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, st_load_params(model, &c, true)));
  CHECK(strstr(trap.message, "net.extra") && strstr(trap.message, "model.safetensors"));
  CHECK(st_load_params(model, &c, false) == 2);
  CHECK(params_value(&c, 1)[2] == params_value(&a, 1)[2]);
  /* ... and the other way: a file tensor that is no parameter. */
  const char *bigger = tmp_path("bigger.safetensors");
  st_save_params(bigger, &c, NULL);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, st_load_params(bigger, &b, true)));
  CHECK(strstr(trap.message, "net.extra") != NULL);
  CHECK(st_load_params(bigger, &b, false) == 2);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, st_load_optimizer(opt_path, &c, &back)));

  /* A parameter of the wrong shape is fatal in either mode. */
  param_registry d;
  params_init(&d, 2);
  int64_t w[2] = {2, 3}, bias[1] = {3};
  params_add(&d, "net.0.weight", 2, w);
  params_add(&d, "net.0.bias", 1, bias);
  params_finalize(&d);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, st_load_params(model, &d, false)));
  CHECK(strstr(trap.message, "net.0.weight") && strstr(trap.message, "(3, 2)") &&
        strstr(trap.message, "(2, 3)"));
  params_free(&a), params_free(&b), params_free(&c), params_free(&d);
}

/* 0: the image loaded, 1: it was rejected with a data error, 2: anything else. */
static int open_outcome(unsigned char *bytes, size_t n) {
  lola_error_trap trap = {0};
  st_file g = {0};
  if (EXPECT_DIE(trap, LOLA_EXIT_DATA, st_open_bytes(&g, "fuzz.safetensors", bytes, n))) return 1;
  if (trap.code != 0) return 2;
  st_close(&g);
  return 0;
}

TEST(safetensors_survives_random_corruption) {
  /* Mutated or truncated copies of a valid file either load or die with a data
   * error; never a crash or an out-of-bounds read (the SAN build checks). */
  float w[6] = {1, 2, 3, 4, 5, 6};
  int64_t bf[1] = {3}, ws[2] = {2, 3};
  uint16_t h[3] = {0x3F80, 0x4000, 0x4040};
  st_entry e[2] = {{"layer.weight", DT_F32, 2, ws, w}, {"layer.bias", DT_BF16, 1, bf, h}};
  const char *meta[] = {"format", "pt", NULL};
  const char *path = tmp_path("fuzz.safetensors");
  st_write(path, e, 2, meta);
  st_file f;
  st_open(&f, path);
  size_t size = f.size, header_end = f.data_start;
  unsigned char *good = malloc(size);
  memcpy(good, f.bytes, size);
  st_close(&f);
  uint64_t state = 12345;
  int loaded = 0, rejected = 0, other = 0;
  for (int it = 0; it < 400; it++) {
    unsigned char *bytes = malloc(size);
    memcpy(bytes, good, size);
    size_t n = size;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    if (it % 4 == 0) {
      n = (size_t)(state >> 33) % size; /* truncated */
    } else {
      for (int k = 0; k <= it % 3; k++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t at = (size_t)(state >> 33) % header_end;
        bytes[at] = (unsigned char)(state >> 17);
      }
    }
    int outcome = open_outcome(bytes, n);
    loaded += outcome == 0, rejected += outcome == 1, other += outcome == 2;
  }
  CHECK(other == 0);
  CHECK(rejected > 100); /* most corruptions are caught */
  CHECK(loaded + rejected == 400);
  free(good);
}
