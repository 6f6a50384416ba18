/* Latent caches (state (N, L, C, H, W), label (N, D)): windows across shards
 * read back exactly, and malformed caches rejected naming file and dataset. */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/h5util.h"
#include "../../parallel/comm.h"
#include "../../src/dataset_latent.h"
#include "harness.h"
#include "well_fixture.h"

enum { L = 6, C = 3, H = 2, W = 4, D = 5 };

static float sv(int file, long n, long l, long c, long h, long w) {
  return (float)(file * 10000 + n * 1000 + l * 100 + c * 10 + h * 4 + w);
}

/* Rank 0 writes a shard of `n` trajectories (label_rows labels, state rank `rank`). */
static void write_shard(const char *path, int file, long n, long label_rows, int rank) {
  if (comm_rank() == 0) {
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t sd[5] = {(hsize_t)n, L, C, H, W}, ld[2] = {(hsize_t)label_rows, D};
    float *s = malloc(sizeof(float) * (size_t)(n * L * C * H * W)),
          *lab = malloc(sizeof(float) * (size_t)(label_rows * D));
    long at = 0;
    for (long a = 0; a < n; a++)
      for (long l = 0; l < L; l++)
        for (long c = 0; c < C; c++)
          for (long h = 0; h < H; h++)
            for (long w = 0; w < W; w++) s[at++] = sv(file, a, l, c, h, w);
    for (long i = 0; i < label_rows * D; i++) lab[i] = (float)(file * 100 + i);
    hid_t sp = H5Screate_simple(rank, sd, NULL);
    hid_t ds = H5Dcreate2(f, "state", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (rank == 5) H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, s);
    H5Dclose(ds);
    H5Sclose(sp);
    sp = H5Screate_simple(2, ld, NULL);
    ds = H5Dcreate2(f, "label", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);
    free(s);
    free(lab);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void check_latent(void) {
  char *dir = well_fixture_dir("latent");
  char a[2048], b[2048];
  snprintf(a, sizeof a, "%s/cache_0.h5", dir);
  snprintf(b, sizeof b, "%s/cache_1.h5", dir);
  write_shard(a, 0, 2, 2, 5);
  write_shard(b, 1, 3, 3, 5);
  const char *files[] = {a, b};
  latent_cache *lc = latent_open(2, files, 3, 2, false); /* windows of 3, stride 2: 2 per trajectory */
  CHECK(latent_len(lc) == 5 * 2);
  CHECK(latent_channels(lc) == C && latent_points(lc) == H * W && latent_label_dim(lc) == D);
  float state[3 * C * H * W], label[D];
  int bad = 0;
  for (long i = comm_rank(); i < latent_len(lc); i += comm_size()) {
    latent_window(lc, i, state, label);
    int file = i < 4 ? 0 : 1;
    long local = file ? i - 4 : i, n = local / 2, start = local % 2, at = 0;
    for (long l = 0; l < 3; l++)
      for (long c = 0; c < C; c++)
        for (long h = 0; h < H; h++)
          for (long w = 0; w < W; w++) bad += state[at++] != sv(file, n, start + 2 * l, c, h, w);
    for (int k = 0; k < D; k++) bad += label[k] != (float)(file * 100 + n * D + k);
  }
  CHECK(bad == 0);
  float whole[L * C * H * W];
  latent_trajectory(lc, 4, 1, 5, 1, whole, label); /* shard 1, trajectory 2 */
  CHECK(whole[0] == sv(1, 2, 1, 0, 0, 0) &&
        whole[L * C * H * W - C * H * W - 1] == sv(1, 2, 5, C - 1, H - 1, W - 1));
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, latent_trajectory(lc, 4, 2, 5, 1, whole, label)));
  CHECK(strstr(trap.message, "cache_1.h5: /state") != NULL);
  latent_close(lc);

  /* Labels that do not match the trajectories; a state of the wrong rank; windows too long. */
  char bad_path[2048];
  snprintf(bad_path, sizeof bad_path, "%s/bad.h5", dir);
  write_shard(bad_path, 2, 2, 3, 5);
  const char *one[] = {bad_path};
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, latent_open(1, one, 1, 1, false)));
  CHECK(strstr(trap.message, "bad.h5: /label") != NULL);
  well_fixture_close_leaked();
  write_shard(bad_path, 2, 2, 2, 2);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, latent_open(1, one, 1, 1, false)));
  CHECK(strstr(trap.message, "bad.h5: /state") != NULL && strstr(trap.message, "found 2 dimensions") != NULL);
  well_fixture_close_leaked();
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, latent_open(1, files, 4, 2, false)));
  CHECK(strstr(trap.message, "cache_0.h5: /state") != NULL && strstr(trap.message, "shorter") != NULL);
  well_fixture_close_leaked();
  h5_errors_collective(false);
  free(dir);
}

TEST(latent_cache_windows) { check_latent(); }
TEST_RANKS(latent_cache_windows_2ranks, 2) { check_latent(); }
