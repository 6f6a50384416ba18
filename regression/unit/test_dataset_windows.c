/* Windows, channels, labels and whole trajectories read back from fixture files,
 * checked value by value against the closed form of well_fixture_value. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../parallel/comm.h"
#include "../../src/dataset.h"
#include "harness.h"
#include "well_fixture.h"

enum { NSTEPS = 7, NX = 5, NY = 4 };

static const char *const open_physics[] = {"euler_open"};
static const char *const both_physics[] = {"euler_open", "euler_periodic"};
/* Deck order differs from file order on purpose, and includes broadcast fields. */
static const char *const chans[] = {"energy", "density", "momentum_x", "momentum_y", "forcing", "bathymetry"};
static const int chan_field[] = {FX_ENERGY, FX_DENSITY, FX_MOMENTUM, FX_MOMENTUM, FX_FORCING, FX_BATHYMETRY};
static const int chan_comp[] = {0, 0, 0, 1, 0, 0};

static char *tree(void) {
  static char *dir;
  if (!dir) {
    dir = well_fixture_dir("dataset_tree");
    well_fixture_tree(dir, NSTEPS, NX, NY);
  }
  return dir;
}

static dataset_spec spec_for(const char *const *physics, int nphysics, const char *split, int steps,
                             int stride) {
  dataset_spec s = {0};
  s.root = tree();
  s.physics = physics;
  s.nphysics = nphysics;
  s.split = split;
  s.fields = chans;
  s.nfields = 6;
  s.steps = steps;
  s.stride = stride;
  return s;
}

/* file ids of the fixture tree: train a=0 (2 traj), b=1 (3 traj); periodic p=3 (2 traj). */
static int file_id_of(const dataset *ds, int file) {
  const char *p = dataset_file_path(ds, file);
  const char *base = strrchr(p, '/') + 1;
  return base[0] == 'a' ? 0 : base[0] == 'b' ? 1 : base[0] == 'c' ? 2 : 3;
}

static int check_states(const float *state, int id, long traj, long start, long count, int stride) {
  int bad = 0;
  long at = 0;
  for (long l = 0; l < count; l++)
    for (long i = 0; i < NX; i++)
      for (long j = 0; j < NY; j++)
        for (int c = 0; c < 6; c++) {
          float want = well_fixture_value(id, chan_field[c], chan_comp[c], traj, start + l * stride, i, j);
          bad += state[at++] != want;
        }
  return bad;
}

static void check_all_windows(int steps, int stride) {
  dataset_spec s = spec_for(open_physics, 1, "train", steps, stride);
  dataset *ds = dataset_open(&s);
  long per_traj = NSTEPS - (steps - 1) * stride;
  CHECK(dataset_len(ds) == 5 * per_traj);
  CHECK(dataset_channels(ds) == 6);
  CHECK(dataset_label_dim(ds) == 2 + 4);
  CHECK(dataset_state_floats(ds) == (size_t)(steps * NX * NY * 6));
  float *state = malloc(dataset_state_floats(ds) * sizeof(float));
  float label[6];
  /* Each rank reads its own windows: independent I/O. */
  long begin, end, bad = 0;
  comm_block(dataset_len(ds), comm_rank(), comm_size(), &begin, &end);
  for (long w = begin; w < end; w++) {
    int file;
    long traj, start;
    dataset_locate(ds, w, &file, &traj, &start);
    long flat = w < 2 * per_traj ? w : w - 2 * per_traj;
    CHECK(file == (w < 2 * per_traj ? 0 : 1));
    CHECK(traj == flat / per_traj && start == flat % per_traj);
    dataset_window(ds, w, state, label);
    int id = file_id_of(ds, file);
    bad += check_states(state, id, traj, start, steps, stride);
    CHECK(label[0] == (float)(1.4 + 0.1 * id));
    CHECK(label[1] == (float)well_fixture_rayleigh(id, traj));
    CHECK(label[2] == 1 && label[3] == 1); /* x open */
    CHECK(label[4] == 0 && label[5] == 0); /* y wall */
  }
  CHECK(bad == 0);
  /* A whole trajectory through a window-sized dataset: its buffer grows. */
  float *whole = malloc(sizeof(float) * NSTEPS * NX * NY * 6);
  dataset_trajectory(ds, 4, 0, NSTEPS, 1, whole, label); /* b.hdf5, trajectory 2 */
  CHECK(check_states(whole, 1, 2, 0, NSTEPS, 1) == 0);
  free(whole);
  free(state);
  dataset_close(ds);
}

TEST(dataset_windows_exact_values) { check_all_windows(3, 2); }
TEST_RANKS(dataset_windows_exact_values_2ranks, 2) { check_all_windows(2, 1); }

TEST(dataset_default_channels_follow_the_file) {
  dataset_spec s = spec_for(open_physics, 1, "train", 1, 1);
  s.nfields = 0;
  dataset *ds = dataset_open(&s);
  /* Time-varying fields only, t0 in file order then t1 components (the_well's input_fields). */
  const char *want[] = {"density", "energy", "forcing", "momentum_x", "momentum_y"};
  CHECK(dataset_channels(ds) == 5);
  for (int c = 0; c < 5 && c < dataset_channels(ds); c++)
    CHECK(strcmp(dataset_channel_name(ds, c), want[c]) == 0);
  int order, field, comp;
  dataset_channel_kind(ds, 4, &order, &field, &comp);
  CHECK(order == 1 && field == 3 && comp == 1);
  dataset_channel_kind(ds, 1, &order, &field, &comp);
  CHECK(order == 0 && field == 1 && comp == 0);
  float *state = malloc(dataset_state_floats(ds) * sizeof(float));
  dataset_window(ds, 3, state, NULL); /* a.hdf5, trajectory 0, start 3 */
  CHECK(state[(1 * NY + 2) * 5 + 2] == well_fixture_value(0, FX_FORCING, 0, 0, 3, 1, 2));
  CHECK(state[(1 * NY + 2) * 5 + 4] == well_fixture_value(0, FX_MOMENTUM, 1, 0, 3, 1, 2));
  free(state);
  dataset_close(ds);
}

static void check_concat(void) {
  dataset_spec s = spec_for(both_physics, 2, "train", 2, 3);
  const char *logs[] = {"rayleigh"};
  s.log_scalars = logs;
  s.nlog_scalars = 1;
  dataset *ds = dataset_open(&s);
  long per = NSTEPS - 3;
  CHECK(dataset_files(ds) == 3);
  CHECK(dataset_len(ds) == 7 * per);
  CHECK(dataset_trajectories(ds) == 7);
  float *state = malloc(dataset_state_floats(ds) * sizeof(float));
  float label[6];
  long w = 5 * per + per + 2; /* periodic file, trajectory 1, start 2 */
  int file;
  long traj, start;
  dataset_locate(ds, w, &file, &traj, &start);
  CHECK(file == 2 && traj == 1 && start == 2);
  dataset_window(ds, w, state, label);
  CHECK(check_states(state, 3, 1, 2, 2, 3) == 0);
  CHECK_REL(label[1], log((float)well_fixture_rayleigh(3, 1)), 1e-6);
  CHECK(label[2] == 2 && label[3] == 2); /* x periodic */
  CHECK(label[4] == 0 && label[5] == 0);
  free(state);
  dataset_close(ds);
}

TEST(dataset_concatenates_physics) { check_concat(); }
TEST_RANKS(dataset_concatenates_physics_2ranks, 2) { check_concat(); }

static void check_trajectories(void) {
  dataset_spec s = spec_for(both_physics, 2, "train", 0, 1);
  dataset *ds = dataset_open(&s);
  CHECK(dataset_steps(ds) == NSTEPS);
  CHECK(dataset_len(ds) == 7); /* one window per trajectory */
  CHECK(dataset_trajectory_steps(ds, 6) == NSTEPS);
  float *state = malloc(dataset_state_floats(ds) * sizeof(float));
  float label[6];
  long t = comm_rank() == 0 ? 3 : 6; /* b.hdf5 trajectory 1, or p.hdf5 trajectory 1 */
  int id = t == 3 ? 1 : 3;
  dataset_trajectory(ds, t, 0, NSTEPS, 1, state, label);
  CHECK(check_states(state, id, 1, 0, NSTEPS, 1) == 0);
  dataset_trajectory(ds, t, 1, 3, 2, state, label);
  CHECK(check_states(state, id, 1, 1, 3, 2) == 0);
  CHECK(label[1] == (float)well_fixture_rayleigh(id, 1));
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, 3, dataset_trajectory(ds, t, 2, 4, 2, state, label)));
  CHECK(strstr(trap.message, id == 1 ? "b.hdf5" : "p.hdf5") != NULL);
  free(state);
  dataset_close(ds);
}

TEST(dataset_whole_trajectories) { check_trajectories(); }

TEST_RANKS(dataset_collective_trajectory_2ranks, 2) {
  dataset_spec s = spec_for(both_physics, 2, "train", 0, 1);
  dataset *ds = dataset_open(&s);
  float *state = malloc(dataset_state_floats(ds) * sizeof(float));
  float label[6];
  dataset_trajectory_collective(ds, 5, 1, 3, 2, state, label); /* p.hdf5 trajectory 0 on both ranks */
  CHECK(check_states(state, 3, 0, 1, 3, 2) == 0);
  CHECK(label[1] == (float)well_fixture_rayleigh(3, 0) && label[2] == 2);
  free(state);
  dataset_close(ds);
}
TEST_RANKS(dataset_whole_trajectories_2ranks, 2) { check_trajectories(); }

TEST(dataset_filters_and_flat_layout) {
  dataset_spec s = spec_for(open_physics, 1, "train", 1, 1);
  const char *inc[] = {"b."};
  s.include = inc;
  s.ninclude = 1;
  dataset *ds = dataset_open(&s);
  CHECK(dataset_files(ds) == 1 && dataset_len(ds) == 3 * NSTEPS);
  dataset_close(ds);
  s.include = NULL;
  s.ninclude = 0;
  s.exclude = inc;
  s.nexclude = 1;
  ds = dataset_open(&s);
  CHECK(dataset_files(ds) == 1 && dataset_len(ds) == 2 * NSTEPS);
  CHECK(strstr(dataset_file_path(ds, 0), "a.hdf5") != NULL);
  dataset_close(ds);
  /* .h5 files, <physics>/data/<split> */
  dataset_spec v = spec_for(open_physics, 1, "valid", 1, 1);
  ds = dataset_open(&v);
  CHECK(dataset_files(ds) == 1 && dataset_len(ds) == NSTEPS);
  dataset_close(ds);
}
