/* The `generate` driver on Euler data: files in The Well's layout holding exactly
 * what the solver computes, the same bytes whatever the rank count, and clean
 * failures (unwritable root, unphysical trajectory) that leave no final file. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../io/h5util.h" /* before error.h (harness.h): it uses __attribute__((noreturn)) */
#include "../../io/well_read.h"
#include "../../parallel/comm.h"
#include "../../src/euler.h"
#include "../../src/generate.h"
#include "../../src/generate_seed.h"
#include "harness.h"

/* The quadrants trajectory `index` of `split` gets from `seed`, as `generate` draws them. */
static void keyed_quadrants(euler_quadrants *q, const euler_quadrant_ranges *r, double lx, double ly,
                            uint64_t seed, int split, long index) {
  rng_stream stream = trajectory_stream(seed, split, index);
  euler_random_quadrants(q, r, lx, ly, &stream);
}

static generate_config small_config(const char *root) {
  generate_config c = {
      .physics = GENERATE_EULER,
      .periodic = 0,
      .root = root,
      .nx = 16,
      .ny = 12,
      .trajectories = {3, 1, 2},
      .per_file = 2,
      .steps = 5,
      .dt = 0.015,
      .seed = 42,
      .cfl = 0.5,
      .nsets = 2,
      .sets = {{1.4}, {1.13}},
      .euler_ranges = {{0.1, 2.0}, {0.1, 2.0}, {-1.0, 1.0}, {0.25, 0.75}},
  };
  return c;
}

/* harness_tmpdir is per rank; collective runs need one root: rank 0's. */
static const char *shared_tmpdir(void) {
  static char base[520];
  if (comm_rank() == 0) snprintf(base, sizeof base, "%s", harness_tmpdir());
  MPI_Bcast(base, sizeof base, MPI_CHAR, 0, MPI_COMM_WORLD);
  return base;
}

static char *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc(*n + 1);
  if (fread(buf, 1, *n, f) != *n) *n = 0;
  fclose(f);
  return buf;
}

static int count_entries(const char *dir, const char *needle) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, needle) != NULL;
  closedir(d);
  return n;
}

static float *read_floats(hid_t file, const char *path, size_t count) {
  hid_t d = h5_open_dataset(file, path);
  hid_t space = H5Dget_space(d);
  CHECK((size_t)H5Sget_simple_extent_npoints(space) == count);
  H5Sclose(space);
  float *v = malloc(sizeof(float) * count);
  CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
  H5Dclose(d);
  return v;
}

static bool has_string(char **list, int n, const char *s) {
  for (int k = 0; k < n; k++)
    if (strcmp(list[k], s) == 0) return true;
  return false;
}

/* Attributes, dimensions, boundary conditions and scalars of one file. */
static void check_layout(hid_t f, const generate_config *c, long ntraj, double gamma) {
  char *name = h5_attr_string(f, "dataset_name");
  CHECK(strcmp(name, "euler_multi_quadrants_openBC") == 0);
  free(name);
  char *grid = h5_attr_string(f, "grid_type");
  CHECK(strcmp(grid, "cartesian") == 0);
  free(grid);
  CHECK(h5_attr_long(f, "n_spatial_dims") == 2);
  CHECK(h5_attr_long(f, "n_trajectories") == ntraj);
  char **params;
  int np = h5_attr_strings(f, "simulation_parameters", &params);
  CHECK(np == 1 && strcmp(params[0], "gamma") == 0);
  h5_free_strings(params, np);
  CHECK(h5_attr_double(f, "gamma") == gamma);

  hid_t dims = h5_open_group(f, "dimensions");
  char **sd;
  int nsd = h5_attr_strings(dims, "spatial_dims", &sd);
  CHECK(nsd == 2 && strcmp(sd[0], "x") == 0 && strcmp(sd[1], "y") == 0);
  h5_free_strings(sd, nsd);
  H5Gclose(dims);
  float *t = read_floats(f, "dimensions/time", (size_t)c->steps);
  for (int k = 0; k < c->steps; k++) CHECK(t[k] == (float)(k * c->dt));
  free(t);
  float *x = read_floats(f, "dimensions/x", (size_t)c->nx);
  float *y = read_floats(f, "dimensions/y", (size_t)c->ny);
  CHECK(x[0] == (float)(0.5 / c->nx) && x[c->nx - 1] == (float)(1.0 - 0.5 / c->nx));
  CHECK(y[1] == (float)(1.5 / c->ny));
  free(x);
  free(y);
  hid_t tdim = h5_open_dataset(f, "dimensions/time");
  CHECK(!h5_attr_bool(tdim, "sample_varying") && h5_attr_bool(tdim, "time_varying"));
  H5Dclose(tdim);

  hid_t bc = h5_open_group(f, "boundary_conditions/y_open");
  char *kind = h5_attr_string(bc, "bc_type");
  CHECK(strcmp(kind, "OPEN") == 0);
  free(kind);
  char **ad;
  int nad = h5_attr_strings(bc, "associated_dims", &ad);
  CHECK(nad == 1 && strcmp(ad[0], "y") == 0);
  h5_free_strings(ad, nad);
  hid_t mask = h5_open_dataset(bc, "mask");
  int8_t m[12];
  CHECK(H5Dread(mask, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m) >= 0);
  CHECK(m[0] == 1 && m[11] == 1 && m[1] == 0 && m[10] == 0);
  H5Dclose(mask);
  H5Gclose(bc);
  CHECK(h5_exists(f, "boundary_conditions/x_open"));

  float *g = read_floats(f, "scalars/gamma", 1);
  CHECK(g[0] == (float)gamma);
  free(g);
  hid_t sc = h5_open_group(f, "scalars");
  char **sn;
  int nsn = h5_attr_strings(sc, "field_names", &sn);
  CHECK(nsn == 1 && has_string(sn, nsn, "gamma"));
  h5_free_strings(sn, nsn);
  H5Gclose(sc);

  hid_t t0 = h5_open_group(f, "t0_fields");
  char **fn;
  int nfn = h5_attr_strings(t0, "field_names", &fn);
  CHECK(nfn == 3 && strcmp(fn[0], "energy") == 0 && strcmp(fn[1], "density") == 0 &&
        strcmp(fn[2], "pressure") == 0);
  h5_free_strings(fn, nfn);
  H5Gclose(t0);
  hid_t mom = h5_open_dataset(f, "t1_fields/momentum");
  hsize_t shape[8];
  CHECK(h5_dataset_shape(mom, shape) == 5);
  CHECK(shape[0] == (hsize_t)ntraj && shape[1] == (hsize_t)c->steps && shape[2] == (hsize_t)c->nx &&
        shape[3] == (hsize_t)c->ny && shape[4] == 2);
  bool dv[3];
  CHECK(h5_attr_bools(mom, "dim_varying", dv, 3) == 2 && dv[0] && dv[1]);
  CHECK(h5_attr_bool(mom, "sample_varying") && h5_attr_bool(mom, "time_varying"));
  H5Dclose(mom);
  hid_t t2 = h5_open_group(f, "t2_fields");
  char **none;
  CHECK(h5_attr_strings(t2, "field_names", &none) == 0);
  H5Gclose(t2);
}

/* The stored states of trajectory `global` of `split` against the solver run here. */
static void check_trajectory(hid_t f, const generate_config *c, int split, long global, long slot,
                             double gamma, long ntraj) {
  euler_params par = {c->nx, c->ny, 1.0, 1.0, gamma, c->cfl, EULER_BC_OPEN};
  euler_solver s;
  euler_create(&s, &par);
  euler_quadrants q;
  keyed_quadrants(&q, &c->euler_ranges, 1.0, 1.0, c->seed, split, global);
  euler_set_quadrants(&s, &q);
  size_t cells = (size_t)c->nx * c->ny, per_traj = cells * (size_t)c->steps;
  float *rho = read_floats(f, "t0_fields/density", per_traj * (size_t)ntraj);
  float *e = read_floats(f, "t0_fields/energy", per_traj * (size_t)ntraj);
  float *p = read_floats(f, "t0_fields/pressure", per_traj * (size_t)ntraj);
  float *m = read_floats(f, "t1_fields/momentum", 2 * per_traj * (size_t)ntraj);
  euler_failure fail;
  long mismatches = 0;
  for (int step = 0; step < c->steps; step++) {
    CHECK(euler_advance(&s, step * c->dt, &fail) == 0);
    size_t base = (size_t)slot * per_traj + (size_t)step * cells;
    for (int i = 0; i < c->nx; i++)
      for (int j = 0; j < c->ny; j++) {
        size_t k = base + (size_t)i * c->ny + j; /* x slowest, as The Well stores it */
        mismatches += rho[k] != (float)euler_row(&s, EULER_RHO, j)[i];
        mismatches += e[k] != (float)euler_row(&s, EULER_E, j)[i];
        mismatches += p[k] != (float)euler_pressure(&s, i, j);
        mismatches += m[2 * k] != (float)euler_row(&s, EULER_MX, j)[i];
        mismatches += m[2 * k + 1] != (float)euler_row(&s, EULER_MY, j)[i];
        mismatches += !(rho[k] > 0.0f && p[k] > 0.0f);
      }
  }
  CHECK(mismatches == 0);
  /* The first state is the quadrant data itself. */
  CHECK(rho[(size_t)slot * per_traj] == (float)q.q[0].rho);
  free(rho), free(e), free(p), free(m);
  euler_destroy(&s);
}

/* The project's own Well reader accepts what the writer wrote. */
static void check_with_reader(const char *path, int periodic, double gamma, long ntraj,
                              const generate_config *c) {
  hid_t f = h5_open_read(path, MPI_COMM_NULL);
  well_file wf;
  well_file_read(f, path, &wf);
  CHECK(wf.ndims == 2 && wf.shape[0] == c->nx && wf.shape[1] == c->ny);
  CHECK(wf.n_trajectories == ntraj && wf.n_steps == c->steps);
  CHECK_NEAR(wf.dt, c->dt, 1e-7);
  int want = periodic ? WELL_BC_PERIODIC : WELL_BC_OPEN;
  CHECK(wf.bc[0][0] == want && wf.bc[0][1] == want && wf.bc[1][0] == want && wf.bc[1][1] == want);
  CHECK(wf.nfields == 4 && well_find_field(&wf, "momentum") == 3 && well_find_field(&wf, "energy") == 0);
  CHECK(wf.nscalars == 1 && strcmp(wf.scalars[0].name, "gamma") == 0);
  CHECK_NEAR(wf.scalars[0].values[0], gamma, 1e-6);
  CHECK(wf.nparams == 1 && wf.param_values[0] == gamma);
  well_file_free(&wf);
  h5_close_file(f);
}

TEST(generate_euler_writes_the_well_layout_with_solver_values) {
  char root[600];
  snprintf(root, sizeof root, "%s/gen-layout", harness_tmpdir());
  generate_config c = small_config(root);
  generate_run(&c);
  /* train: 3 trajectories per set in files of 2 -> 2 files per set, 4 in all. */
  char dir[800];
  snprintf(dir, sizeof dir, "%s/euler_multi_quadrants_openBC/data/train", root);
  CHECK(count_entries(dir, ".hdf5") == 4);
  CHECK(count_entries(dir, ".tmp.") == 0);
  char path[1200];
  /* Set 1 (gamma 1.13), second file: trajectory 2 of the set, global index 3 + 2 = 5. */
  snprintf(path, sizeof path, "%s/euler_multi_quadrants_openBC_gamma_1.13_0001.hdf5", dir);
  hid_t f = h5_open_read(path, MPI_COMM_NULL);
  check_layout(f, &c, 1, 1.13);
  check_trajectory(f, &c, 0, 5, 0, 1.13, 1);
  h5_close_file(f);
  snprintf(path, sizeof path,
           "%s/euler_multi_quadrants_openBC/data/test/euler_multi_quadrants_openBC_gamma_1.4_0000.hdf5",
           root);
  f = h5_open_read(path, MPI_COMM_NULL);
  check_layout(f, &c, 2, 1.4);
  check_trajectory(f, &c, 2, 1, 1, 1.4, 2);
  h5_close_file(f);
  check_with_reader(path, 0, 1.4, 2, &c);
}

TEST(generate_euler_periodic_names_the_dataset_and_boundaries) {
  char root[600];
  snprintf(root, sizeof root, "%s/gen-periodic", harness_tmpdir());
  generate_config c = small_config(root);
  c.periodic = 1;
  c.trajectories[0] = 1, c.trajectories[1] = 0, c.trajectories[2] = 0;
  c.nsets = 1;
  generate_run(&c);
  char path[1200];
  snprintf(
      path, sizeof path,
      "%s/euler_multi_quadrants_periodicBC/data/train/euler_multi_quadrants_periodicBC_gamma_1.4_0000.hdf5",
      root);
  hid_t f = h5_open_read(path, MPI_COMM_NULL);
  hid_t bc = h5_open_group(f, "boundary_conditions/x_periodic");
  char *kind = h5_attr_string(bc, "bc_type");
  CHECK(strcmp(kind, "PERIODIC") == 0);
  free(kind);
  H5Gclose(bc);
  char *name = h5_attr_string(f, "dataset_name");
  CHECK(strcmp(name, "euler_multi_quadrants_periodicBC") == 0);
  free(name);
  h5_close_file(f);
  check_with_reader(path, 1, 1.4, 1, &c);
}

TEST(generate_rejects_an_unwritable_root) {
  char root[700];
  snprintf(root, sizeof root, "%s/a-file", harness_tmpdir());
  FILE *fp = fopen(root, "w");
  fclose(fp);
  strcat(root, "/below"); /* a path through a regular file can never be created, even by root */
  generate_config c = small_config(root);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, generate_run(&c)));
  CHECK(strstr(trap.message, "generate.root") != NULL);
  CHECK(strstr(trap.message, "a-file") != NULL);
}

/* Every rank runs this: the failure is collective. */
static void check_unphysical_fails_cleanly(const char *tag) {
  char root[600];
  snprintf(root, sizeof root, "%s/gen-bad-%s", shared_tmpdir(), tag);
  generate_config c = small_config(root);
  c.euler_ranges.pressure[0] = -1.0, c.euler_ranges.pressure[1] = -0.5;
  c.trajectories[1] = c.trajectories[2] = 0;
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, generate_run(&c)));
  CHECK(strstr(trap.message, "trajectory 0 of split train") != NULL);
  CHECK(strstr(trap.message, "t = 0") != NULL);
  CHECK(strstr(trap.message, "gamma_1.4_0000.hdf5") != NULL);
  MPI_Barrier(MPI_COMM_WORLD);
  char dir[800];
  snprintf(dir, sizeof dir, "%s/euler_multi_quadrants_openBC/data/train", root);
  CHECK(count_entries(dir, ".hdf5") == 0); /* neither final nor temporary files */
}

TEST(generate_unphysical_trajectory_names_it_and_leaves_no_file) { check_unphysical_fails_cleanly("r1"); }
TEST_RANKS(generate_unphysical_trajectory_fails_on_two_ranks, 2) { check_unphysical_fails_cleanly("r2"); }

/* N ranks write the same bytes as one: rank 0 regenerates alone and compares. */
static void check_rank_count_independence(const char *tag) {
  const lola_comm *w = comm();
  char root_n[600], root_1[600];
  const char *base = shared_tmpdir();
  snprintf(root_n, sizeof root_n, "%s/gen-%s-n", base, tag);
  snprintf(root_1, sizeof root_1, "%s/gen-%s-1", base, tag);
  generate_config c = small_config(root_n);
  c.trajectories[0] = 5, c.per_file = 3; /* files split unevenly over the ranks */
  generate_run(&c);
  if (w->rank != 0) return;
  c.root = root_1;
  c.comm = MPI_COMM_SELF;
  generate_run(&c);
  const char *files[] = {"train/euler_multi_quadrants_openBC_gamma_1.4_0000.hdf5",
                         "train/euler_multi_quadrants_openBC_gamma_1.13_0001.hdf5",
                         "valid/euler_multi_quadrants_openBC_gamma_1.13_0000.hdf5",
                         "test/euler_multi_quadrants_openBC_gamma_1.4_0000.hdf5"};
  for (int k = 0; k < 4; k++) {
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/euler_multi_quadrants_openBC/data/%s", root_n, files[k]);
    snprintf(b, sizeof b, "%s/euler_multi_quadrants_openBC/data/%s", root_1, files[k]);
    size_t na = 0, nb = 0;
    char *da = read_file(a, &na), *db = read_file(b, &nb);
    CHECK(da && db && na > 0 && na == nb);
    if (da && db && na == nb) CHECK(memcmp(da, db, na) == 0);
    free(da), free(db);
  }
}

TEST_RANKS(generate_two_ranks_write_the_bytes_of_one, 2) { check_rank_count_independence("r2"); }
TEST_RANKS(generate_three_ranks_write_the_bytes_of_one, 3) { check_rank_count_independence("r3"); }
