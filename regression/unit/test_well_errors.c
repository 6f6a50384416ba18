/* Bad input: each case ends in one data error (exit code 3) whose message names
 * the file and the dataset path at fault, on 1 and on 2 ranks. */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/atomic_file.h"
#include "../../io/h5util.h"
#include "../../parallel/comm.h"
#include "../../src/dataset.h"
#include "harness.h"
#include "well_fixture.h"

static const char *const physics[] = {"phys"};

/* A tree <dir>/phys/data/train/ holding one good fixture file `good.hdf5`. */
static char *fresh_tree(const char *name) {
  char *dir = well_fixture_dir(name);
  if (comm_rank() == 0) {
    char path[2048];
    snprintf(path, sizeof path, "%s/phys/data/train", dir);
    make_dirs(path);
    snprintf(path, sizeof path, "%s/phys/data/train/good.hdf5", dir);
    well_fixture fx = {path, "phys", 0, 2, 5, 4, 3, false, 1.4};
    well_fixture_write(&fx);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return dir;
}

static void write_bytes(const char *path, const char *bytes, long n) {
  if (comm_rank() == 0) {
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, (size_t)n, f);
    fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

/* Open the dataset and expect a data error whose message contains both needles. */
static void expect_data_error(const dataset_spec *s, const char *needle1, const char *needle2) {
  lola_error_trap trap;
  volatile bool returned = false;
  bool died = EXPECT_DIE(trap, LOLA_EXIT_DATA, (dataset_open(s), returned = true));
  CHECK(died);
  CHECK(!returned);
  if (!strstr(trap.message, needle1) || (needle2 && !strstr(trap.message, needle2))) {
    fprintf(stderr, "  message was: %s\n", trap.message);
    CHECK(!"message names the file and the path");
  }
  h5_errors_collective(false);
  well_fixture_close_leaked();
}

static dataset_spec spec(const char *root, const char *split) {
  dataset_spec s = {0};
  s.root = root;
  s.physics = physics;
  s.nphysics = 1;
  s.split = split;
  s.steps = 2;
  s.stride = 1;
  return s;
}

/* Rewrite one dataset of good.hdf5 (rank 0, serial HDF5). */
static void replace_dataset(const char *dir, const char *path, hid_t type, int rank, const hsize_t *dims) {
  if (comm_rank() == 0) {
    char file[2048];
    snprintf(file, sizeof file, "%s/phys/data/train/good.hdf5", dir);
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, path, H5P_DEFAULT);
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, path, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    h5_attr_write_bool(d, "sample_varying", true);
    h5_attr_write_bool(d, "time_varying", true);
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void directory_errors(void) {
  char *dir = fresh_tree("err_dirs");
  char missing[2048];
  snprintf(missing, sizeof missing, "%s/nowhere", dir);
  dataset_spec s = spec(missing, "train");
  expect_data_error(&s, "nowhere", "does not exist");
  s = spec(dir, "test");
  expect_data_error(&s, "phys/test", "split directory does not exist");
  const char *other[] = {"other"};
  s = spec(dir, "train");
  s.physics = other;
  expect_data_error(&s, "other", "physics directory");
  const char *inc[] = {"zzz"};
  s = spec(dir, "train");
  s.include = inc;
  s.ninclude = 1;
  expect_data_error(&s, "phys/data/train", "no HDF5 files");
  free(dir);
}

TEST(well_errors_directories) { directory_errors(); }
TEST_RANKS(well_errors_directories_2ranks, 2) { directory_errors(); }

static void file_errors(void) {
  char *dir = fresh_tree("err_files");
  char path[2048];
  snprintf(path, sizeof path, "%s/phys/data/train/junk.hdf5", dir);
  write_bytes(path, "this is not HDF5 at all, just text\n", 36);
  dataset_spec s = spec(dir, "train");
  expect_data_error(&s, "junk.hdf5", "not an HDF5 file");
  MPI_Barrier(MPI_COMM_WORLD);
  if (comm_rank() == 0) remove(path);

  /* A truncated copy of a good file: the superblock is there, the rest is not. */
  snprintf(path, sizeof path, "%s/phys/data/train/good.hdf5", dir);
  char *bytes = NULL;
  long n = 0;
  if (comm_rank() == 0) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    bytes = malloc((size_t)n);
    CHECK(fread(bytes, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
  }
  snprintf(path, sizeof path, "%s/phys/data/train/short.hdf5", dir);
  write_bytes(path, bytes, n / 2);
  free(bytes);
  expect_data_error(&s, "short.hdf5", "truncated");
  free(dir);
}

TEST(well_errors_files) { file_errors(); }
TEST_RANKS(well_errors_files_2ranks, 2) { file_errors(); }

static void content_errors(void) {
  char *dir = fresh_tree("err_content");
  dataset_spec s = spec(dir, "train");
  const char *nope[] = {"density", "vorticity"};
  s.fields = nope;
  s.nfields = 2;
  expect_data_error(&s, "good.hdf5", "no field provides channel 'vorticity'");

  s = spec(dir, "train");
  s.steps = 3;
  s.stride = 2; /* needs 5 steps: fits exactly */
  dataset *ds = dataset_open(&s);
  CHECK(dataset_len(ds) == 2);
  dataset_close(ds);
  s.steps = 4; /* needs 7 of 5 */
  expect_data_error(&s, "good.hdf5: /dimensions/time", "shorter than a window");

  hsize_t wrong[3] = {2, 5, 4};
  replace_dataset(dir, "t0_fields/energy", H5T_IEEE_F32LE, 3, wrong);
  s = spec(dir, "train");
  expect_data_error(&s, "good.hdf5: /t0_fields/energy", "expected shape (2, 5, 4, 3), found (2, 5, 4)");

  hsize_t right[4] = {2, 5, 4, 3};
  replace_dataset(dir, "t0_fields/energy", H5T_STD_I32LE, 4, right);
  expect_data_error(&s, "good.hdf5: /t0_fields/energy", "float32");

  if (comm_rank() == 0) {
    char file[2048];
    snprintf(file, sizeof file, "%s/phys/data/train/good.hdf5", dir);
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "t0_fields/energy", H5P_DEFAULT);
    H5Ldelete(f, "boundary_conditions", H5P_DEFAULT);
    H5Fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  expect_data_error(&s, "good.hdf5: /boundary_conditions", "missing group");
  free(dir);
}

TEST(well_errors_content) { content_errors(); }
TEST_RANKS(well_errors_content_2ranks, 2) { content_errors(); }

TEST(well_errors_missing_field_dataset) {
  char *dir = fresh_tree("err_missing_field");
  char file[2048];
  snprintf(file, sizeof file, "%s/phys/data/train/good.hdf5", dir);
  hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
  H5Ldelete(f, "t1_fields/momentum", H5P_DEFAULT);
  H5Fclose(f);
  dataset_spec s = spec(dir, "train");
  expect_data_error(&s, "good.hdf5: /t1_fields/momentum", "missing dataset");
  free(dir);
}
