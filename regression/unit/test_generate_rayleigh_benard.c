/* The `generate` driver on Rayleigh-Benard data: The Well's rayleigh_benard
 * layout (x periodic, y walls, Rayleigh and Prandtl scalars) holding exactly
 * what the solver computes for each keyed trajectory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/h5util.h" /* before error.h (harness.h): it uses __attribute__((noreturn)) */
#include "../../io/well_read.h"
#include "../../src/generate.h"
#include "../../src/generate_seed.h"
#include "../../src/rayleigh_benard.h"
#include "harness.h"

static float *read_all(hid_t f, const char *path, size_t n) {
  hid_t d = h5_open_dataset(f, path);
  float *v = malloc(sizeof(float) * n);
  CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
  H5Dclose(d);
  return v;
}

TEST(generate_rayleigh_benard_writes_the_well_layout_with_solver_values) {
  char root[600];
  snprintf(root, sizeof root, "%s/gen-rb", harness_tmpdir());
  generate_config c = {
      .physics = GENERATE_RAYLEIGH_BENARD,
      .root = root,
      .nx = 16,
      .ny = 8,
      .trajectories = {2, 0, 0},
      .per_file = 2,
      .steps = 3,
      .dt = 0.25,
      .seed = 9,
      .nsets = 1,
      .sets = {{1e5, 2.0}},
      .nslopes = 2,
      .slopes = {0.5, 1.0},
  };
  generate_run(&c);
  char path[1200];
  snprintf(path, sizeof path,
           "%s/rayleigh_benard/data/train/rayleigh_benard_Rayleigh_100000_Prandtl_2_0000.hdf5", root);
  hid_t f = h5_open_read(path, MPI_COMM_NULL);
  well_file wf;
  well_file_read(f, path, &wf);
  CHECK(strcmp(wf.dataset_name, "rayleigh_benard") == 0);
  CHECK(wf.shape[0] == 16 && wf.shape[1] == 8 && wf.n_trajectories == 2 && wf.n_steps == 3);
  CHECK(wf.bc[0][0] == WELL_BC_PERIODIC && wf.bc[0][1] == WELL_BC_PERIODIC);
  CHECK(wf.bc[1][0] == WELL_BC_WALL && wf.bc[1][1] == WELL_BC_WALL);
  CHECK(wf.nscalars == 2 && strcmp(wf.scalars[0].name, "Rayleigh") == 0 &&
        strcmp(wf.scalars[1].name, "Prandtl") == 0);
  CHECK(wf.scalars[0].values[0] == 1e5 && wf.scalars[1].values[0] == 2.0);
  CHECK(well_find_field(&wf, "buoyancy") == 0 && well_find_field(&wf, "pressure") == 1 &&
        well_find_field(&wf, "velocity") == 2);
  well_file_free(&wf);

  /* Trajectory 1 (second slope, 1.0) against the solver run here with the same key. */
  rng_stream stream = trajectory_stream(9, 0, 1);
  rb_params p = rb_default_params(16, 8);
  p.rayleigh = 1e5, p.prandtl = 2.0, p.initial_slope = 1.0, p.seed = stream_seed64(&stream);
  rb_solver *s = rb_create(&p);
  size_t cells = 16 * 8, per = cells * 3;
  float *b = read_all(f, "t0_fields/buoyancy", 2 * per), *pr = read_all(f, "t0_fields/pressure", 2 * per);
  float *v = read_all(f, "t1_fields/velocity", 2 * 2 * per);
  float *y = read_all(f, "dimensions/y", 8);
  float *want = malloc(sizeof(float) * 2 * cells), *coords = malloc(sizeof(float) * 8);
  rb_get_y_coords(s, coords);
  CHECK(memcmp(coords, y, sizeof(float) * 8) == 0);
  long mismatches = 0;
  for (int step = 0; step < 3; step++) {
    CHECK(rb_advance_to(s, 0.25 * step));
    size_t base = per + (size_t)step * cells;
    rb_get_buoyancy(s, want);
    mismatches += memcmp(want, b + base, sizeof(float) * cells) != 0;
    rb_get_pressure(s, want);
    mismatches += memcmp(want, pr + base, sizeof(float) * cells) != 0;
    rb_get_velocity(s, want);
    mismatches += memcmp(want, v + 2 * base, sizeof(float) * 2 * cells) != 0;
  }
  CHECK(mismatches == 0);
  /* The initial buoyancy is the slope-1 profile: 1 - y near the bottom wall. */
  CHECK_NEAR(b[per], 1.0 - y[0], 1e-3);
  rb_destroy(s);
  free(b), free(pr), free(v), free(y), free(want), free(coords);
  h5_close_file(f);
}
