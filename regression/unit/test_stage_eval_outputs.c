/* The eval stage's outputs: CSV rows of a trajectory (src/eval_score.h) on
 * hand-made fields, the HDF5 record read back, and the pictures' sizes. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/eval_record.h"
#include "../../src/eval_render.h"
#include "../../src/eval_score.h"
#include "gradcheck.h"
#include "harness.h"

enum { C = 2, L = 3, M = 2, N = 4, P = N * N };

/* Column `col` (0-based) of CSV line `row` (0-based) of text, as a string. */
static void column(const char *text, int row, int col, char *out, size_t n) {
  const char *s = text;
  for (int r = 0; r < row; r++) s = strchr(s, '\n') + 1;
  for (int c = 0; c < col; c++) s = strchr(s, ',') + 1;
  size_t k = strcspn(s, ",\n");
  snprintf(out, n, "%.*s", (int)(k < n ? k : n - 1), s);
}

static double number(const char *text, int row, int col) {
  char buf[64];
  column(text, row, col, buf, sizeof buf);
  return strtod(buf, NULL);
}

TEST(eval_rows_follow_fields_lead_times_and_relative_flags) {
  /* truth 0 everywhere; members 1 and 3 (mean 2); reconstruction 2 (= the mean). */
  float truth[C * L * P] = {0}, recon[C * L * P], members[M * C * L * P];
  for (int i = 0; i < C * L * P; i++) {
    recon[i] = 2;
    members[i] = 1;
    members[C * L * P + i] = 3;
  }
  const float label[1] = {0.25f};
  stats_row_key key = {.run = "r",
                       .target = "last",
                       .method = "diffusion",
                       .settings = "ab4",
                       .guidance = "None",
                       .split = "test",
                       .compression = 4,
                       .speed = 0.5,
                       .context = 2,
                       .overlap = 1,
                       .index = 7,
                       .start = 3,
                       .seed = 9,
                       .labels = 1,
                       .label = label};
  eval_score_layout lay = {
      .C = C, .ndims = 2, .members = M, .context = 2, .stride = 4, .L = L, .shape = {N, N}};
  char *rows = eval_score_rows(&lay, &key, truth, recon, members);
  int lines = 0;
  for (const char *s = rows; *s; s++) lines += *s == '\n';
  CHECK(lines == C * (L - 2 + 1) * 2); /* fields x states from context-1 x relative */
  char buf[64];
  /* Row order: field 0 lead 0 (False, True), field 0 lead 4, field 1 ... */
  CHECK(number(rows, 0, 13) == 0 && number(rows, 0, 14) == 0);
  column(rows, 0, 15, buf, sizeof buf);
  CHECK(strcmp(buf, "False") == 0);
  column(rows, 1, 15, buf, sizeof buf);
  CHECK(strcmp(buf, "True") == 0);
  CHECK(number(rows, 2, 14) == 4); /* (t - context + 1) x stride */
  CHECK(number(rows, 4, 13) == 1 && number(rows, 4, 14) == 0);
  /* Against the truth: rmse = |0 - 2| = 2, spread = sqrt(3/1 * 1) = sqrt 3, m1 = m2 = 0. */
  CHECK_NEAR(number(rows, 0, 19), 2, 1e-9);
  CHECK_NEAR(number(rows, 0, 18), sqrt(3.0), 1e-6);
  CHECK(number(rows, 0, 16) == 0 && number(rows, 0, 17) == 0);
  /* Against the reconstruction: the mean is exact; m1 = 2, m2 = 4. */
  CHECK(number(rows, 1, 19) == 0);
  CHECK_NEAR(number(rows, 1, 16), 2, 1e-12);
  CHECK_NEAR(number(rows, 1, 17), 4, 1e-12);
  column(rows, 0, 4, buf, sizeof buf);
  CHECK(strcmp(buf, "ab4") == 0);
  CHECK_NEAR(number(rows, 0, 31), 0.25, 1e-9); /* the label after the eight spectral columns */
  free(rows);
}

static void read_back(hid_t f, const char *name, float *out) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
  H5Dclose(d);
}

TEST(eval_record_holds_truth_and_members) {
  float truth[C * L * P], members[M * C * L * P], t2[C * L * P], m2[M * C * L * P];
  fill_uniform(truth, C * L * P, 1);
  fill_uniform(members, M * C * L * P, 2);
  const char *fields[C] = {"density", "pressure"};
  eval_record_layout lay = {.method = "surrogate",
                            .index = 3,
                            .start = 0,
                            .stride = 2,
                            .context = 1,
                            .C = C,
                            .ndims = 2,
                            .members = M,
                            .L = L,
                            .shape = {N, N},
                            .fields = fields};
  char path[4200];
  snprintf(path, sizeof path, "%s/record.h5", harness_tmpdir());
  eval_record_write(path, &lay, truth, members);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  CHECK(f >= 0);
  hid_t d = H5Dopen2(f, "members", H5P_DEFAULT);
  hid_t s = H5Dget_space(d);
  hsize_t dims[8];
  CHECK(H5Sget_simple_extent_ndims(s) == 5);
  H5Sget_simple_extent_dims(s, dims, NULL);
  CHECK(dims[0] == M && dims[1] == C && dims[2] == L && dims[3] == N && dims[4] == N);
  H5Sclose(s);
  H5Dclose(d);
  read_back(f, "truth", t2);
  read_back(f, "members", m2);
  H5Fclose(f);
  CHECK(memcmp(t2, truth, sizeof truth) == 0);
  CHECK(memcmp(m2, members, sizeof members) == 0);
}

static long png_dim(const char *path, int which) { /* IHDR width (0) or height (1) */
  unsigned char b[24] = {0};
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t n = fread(b, 1, sizeof b, f);
  fclose(f);
  if (n < 24) return -1;
  const unsigned char *p = b + 16 + 4 * which;
  return ((long)p[0] << 24) | ((long)p[1] << 16) | ((long)p[2] << 8) | p[3];
}

TEST(eval_pictures_have_a_cell_per_state_and_member) {
  float truth[C * L * P], members[M * C * L * P];
  fill_uniform(truth, C * L * P, 3);
  fill_uniform(members, M * C * L * P, 4);
  const char *fields[C] = {"density", "pressure"};
  char prefix[4200], png[4300], gif[4300];
  snprintf(prefix, sizeof prefix, "%s/pic", harness_tmpdir());
  int64_t shape[2] = {N, N};
  eval_render(prefix, truth, members, M, C, L, 2, shape, fields, 50);
  const int zoom = eval_render_zoom(N, N), cell = N * zoom;
  CHECK(zoom == 32);
  snprintf(png, sizeof png, "%s_pressure.png", prefix);
  CHECK(png_dim(png, 0) == L * (cell + 2) - 2);       /* states across */
  CHECK(png_dim(png, 1) == (1 + M) * (cell + 2) - 2); /* truth, then members */
  snprintf(gif, sizeof gif, "%s.gif", prefix);
  unsigned char h[10] = {0};
  FILE *f = fopen(gif, "rb");
  CHECK(f != NULL);
  if (f) {
    CHECK(fread(h, 1, sizeof h, f) == sizeof h);
    fclose(f);
  }
  CHECK(memcmp(h, "GIF89a", 6) == 0);
  CHECK((h[6] | h[7] << 8) == C * (cell + 2) - 2); /* fields across */
}
