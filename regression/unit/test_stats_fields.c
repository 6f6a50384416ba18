/* The stats stage's computation: Chan/Welford merges, and per-field mean/std
 * over a split checked against a direct two-pass computation from the fixture's
 * closed-form values, on 1, 2 and 3 ranks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../parallel/comm.h"
#include "../../src/dataset_stats.h"
#include "harness.h"
#include "well_fixture.h"

TEST(stats_chan_merge_matches_two_pass) {
  enum { N = 1000 };
  double v[N], sum = 0, dev = 0;
  for (int i = 0; i < N; i++) v[i] = 1e4 + sin(0.37 * i) * 3.0 + (i % 7) * 0.01, sum += v[i];
  double mean = sum / N;
  for (int i = 0; i < N; i++) dev += (v[i] - mean) * (v[i] - mean);
  int cuts[] = {0, 1, 333, 334, 999, 1000};
  moments total = {0};
  for (int k = 0; k + 1 < 6; k++) {
    moments part = {0};
    for (int i = cuts[k]; i < cuts[k + 1]; i++) { /* Welford one value at a time */
      moments one = {.n = 1, .mean = v[i], .m2 = 0, .min = v[i], .max = v[i]};
      moments_merge(&part, &one);
    }
    moments_merge(&total, &part);
  }
  CHECK(total.n == N);
  CHECK_REL(total.mean, mean, 1e-14);
  CHECK_REL(total.m2, dev, 1e-9);
}

enum { NSTEPS = 6, NX = 5, NY = 4 };
static const char *const physics[] = {"euler_open", "euler_periodic"};
static const char *const chans[] = {"energy", "density", "momentum_x", "momentum_y"};
static const int chan_field[] = {FX_ENERGY, FX_DENSITY, FX_MOMENTUM, FX_MOMENTUM};
static const int chan_comp[] = {0, 0, 0, 1};

static void check_split_stats(void) {
  char *dir = well_fixture_dir("stats_tree");
  well_fixture_tree(dir, NSTEPS, NX, NY);
  dataset_spec s = {.root = dir,
                    .physics = physics,
                    .nphysics = 2,
                    .split = "train",
                    .fields = chans,
                    .nfields = 4,
                    .steps = 1,
                    .stride = 1};
  dataset *ds = dataset_open(&s);
  preprocess p = {.channels = 4,
                  .transform = {TRANSFORM_LOG1P, TRANSFORM_LOG, TRANSFORM_ARCSINH, TRANSFORM_NONE}};
  field_stats st;
  dataset_field_stats(ds, &p, &st);

  /* Direct: every (file, trajectory, step, i, j) of a (2 traj), b (3), p (2). */
  const int ids[] = {0, 1, 3}, ntraj[] = {2, 3, 2};
  for (int c = 0; c < 4; c++) {
    double sum = 0, dev = 0;
    long n = 0;
    for (int pass = 0; pass < 2; pass++)
      for (int f = 0; f < 3; f++)
        for (long b = 0; b < ntraj[f]; b++)
          for (long t = 0; t < NSTEPS; t++)
            for (long i = 0; i < NX; i++)
              for (long j = 0; j < NY; j++) {
                float raw = well_fixture_value(ids[f], chan_field[c], chan_comp[c], b, t, i, j);
                double v = (float)transform_forward(p.transform[c], raw);
                if (pass == 0)
                  sum += v, n++;
                else
                  dev += (v - sum / n) * (v - sum / n);
              }
    CHECK(st.count == n);
    CHECK_REL(st.mean[c], sum / n, 1e-6);
    CHECK_REL(st.std[c], sqrt(dev / n), 1e-6);
  }
  /* Identical on every rank; and the snippet parses back to the same numbers. */
  double mine = st.mean[0] + st.std[3], lo, hi;
  MPI_Allreduce(&mine, &lo, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&mine, &hi, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  CHECK(lo == hi);
  char path[2048];
  snprintf(path, sizeof path, "%s/stats.cfg", dir);
  field_stats_write_cfg(&st, ds, "fixture", path);
  MPI_Barrier(MPI_COMM_WORLD);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  char line[1024];
  double m[4] = {0};
  while (f && fgets(line, sizeof line, f))
    if (strstr(line, "  mean = [")) sscanf(line, "  mean = [%lf, %lf, %lf, %lf", &m[0], &m[1], &m[2], &m[3]);
  if (f) fclose(f);
  for (int c = 0; c < 4; c++) CHECK_REL(m[c], st.mean[c], 1e-8);
  dataset_close(ds);
  free(dir);
}

TEST(stats_split_matches_direct) { check_split_stats(); }
TEST_RANKS(stats_split_matches_direct_2ranks, 2) { check_split_stats(); }
TEST_RANKS(stats_split_matches_direct_3ranks, 3) { check_split_stats(); }
