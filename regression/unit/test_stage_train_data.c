/* Training samples from physical data (src/train_data.h) on the Well fixture:
 * channel-first (C, L, points) windows of the transformed, normalised fields
 * (values known in closed form), and augmentations that are a function of
 * (step, global sample index) only, as rank-count independence needs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/atomic_file.h"
#include "../../src/dataset_deck.h"
#include "../../src/train_data.h"
#include "harness.h"
#include "well_fixture.h"

enum { T = 4, NX = 4, NY = 4, P = NX * NY };

static const deck_key common[] = {
    {.path = "stages", .type = KEY_STRING_LIST, .required = true, .choices = "t"},
    {.path = NULL},
};
static const deck_schema schemas[] = {{"run", common}, {"t", dataset_keys}};

static deck *fixture_deck(const char *dir, const char *augment) {
  char text[2048], path[1200];
  snprintf(text, sizeof text,
           "stages = [\"t\"];\ndataset: { path = \"%s\"; physics = [\"euler_open\"];\n"
           "  fields = [\"density\", \"energy\"]; transform = [\"log\"];\n"
           "  stats = { mean = [0.5, 1.0]; std = [2.0, 4.0]; }; augment = %s; };\n",
           dir, augment);
  snprintf(path, sizeof path, "%s/train_data_%d.cfg", harness_tmpdir(), (int)strlen(augment));
  atomic_write(path, text, strlen(text));
  return deck_load(path, 0, NULL, schemas, 2);
}

TEST(stage_train_data_pixels_channel_first_and_normalised) {
  char *dir = well_fixture_dir("train_data");
  well_fixture_tree(dir, T, NX, NY);
  deck *d = fixture_deck(dir, "[]");
  sample_source s;
  source_open_pixels(&s, d, "train", 2, 2, 0, false);
  /* a.hdf5: 2 trajectories x 2 starts, then b.hdf5: 3 x 2 */
  CHECK(source_len(&s) == 10 && s.C == 2 && s.L == 2 && s.points == P);
  float *x = malloc(sizeof(float) * (size_t)source_sample_floats(&s));
  float label[16];
  double worst = 0;
  for (long index = 0; index < source_len(&s); index++) {
    source_sample(&s, index, false, 0, (uint64_t)index, x, label);
    int file = index < 4 ? 0 : 1;
    long local = index < 4 ? index : index - 4, traj = local / 2, start = local % 2;
    for (int l = 0; l < 2; l++)
      for (long i = 0; i < NX; i++)
        for (long j = 0; j < NY; j++) {
          long t = start + 2 * l, p = i * NY + j;
          double rho = well_fixture_value(file, FX_DENSITY, 0, traj, t, i, j);
          double e = well_fixture_value(file, FX_ENERGY, 0, traj, t, i, j);
          worst = fmax(worst, fabs(x[(0 * 2 + l) * P + p] - (log(rho) - 0.5) / 2.0));
          worst = fmax(worst, fabs(x[(1 * 2 + l) * P + p] - (e - 1.0) / 4.0));
        }
  }
  CHECK(worst < 1e-6);
  free(x);
  source_close(&s);
  deck_free(d);
  free(dir);
}

TEST(stage_train_data_augmentation_is_keyed_by_step_and_sample) {
  char *dir = well_fixture_dir("train_data_aug");
  well_fixture_tree(dir, T, NX, NY);
  deck *d = fixture_deck(dir, "[\"random_axis_flip\", \"random_axis_permute\"]");
  sample_source s;
  source_open_pixels(&s, d, "train", 1, 1, 42, true);
  const long n = source_sample_floats(&s);
  float *a = malloc(sizeof(float) * (size_t)n), *b = malloc(sizeof(float) * (size_t)n);
  float *plain = malloc(sizeof(float) * (size_t)n);
  int changed = 0, equal_again = 1;
  for (uint64_t sample = 0; sample < 16; sample++) {
    source_sample(&s, 3, true, 7, sample, a, NULL);
    source_sample(&s, 5, true, 7, sample + 100, b, NULL); /* another read in between */
    source_sample(&s, 3, true, 7, sample, b, NULL);
    equal_again &= memcmp(a, b, sizeof(float) * (size_t)n) == 0;
    source_sample(&s, 3, false, 7, sample, plain, NULL);
    changed += memcmp(a, plain, sizeof(float) * (size_t)n) != 0;
    /* a flip or permutation moves values around: the multiset is kept */
    double sa = 0, sp = 0;
    for (long k = 0; k < n; k++) sa += a[k], sp += plain[k];
    CHECK_NEAR(sa, sp, 1e-3);
  }
  CHECK(equal_again);
  CHECK(changed >= 8); /* 1 in 8 draws is the identity for flip x flip x permute */
  free(a);
  free(b);
  free(plain);
  source_close(&s);
  deck_free(d);
  free(dir);
}
