/* The batch loader: what all ranks load together, augmented and normalised,
 * equals what one rank loads with the same global batch — with and without the
 * prefetch thread. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "../../parallel/comm.h"
#include "../../src/dataset_loader.h"
#include "harness.h"
#include "well_fixture.h"

enum { NSTEPS = 6, NX = 5, NY = 4, G = 6 };
static const char *const physics[] = {"euler_open", "euler_periodic"};
static const char *const chans[] = {"density", "momentum_x", "momentum_y"};

static void check_loader(bool prefetch) {
  char *dir = well_fixture_dir("loader_tree");
  well_fixture_tree(dir, NSTEPS, NX, NY);
  dataset_spec s = {.root = dir,
                    .physics = physics,
                    .nphysics = 2,
                    .split = "train",
                    .fields = chans,
                    .nfields = 3,
                    .steps = 2,
                    .stride = 2};
  preprocess pre = {.channels = 3,
                    .transform = {TRANSFORM_LOG1P},
                    .normalize = true,
                    .mean = {0.5, 2.0, 2.5},
                    .std = {0.25, 0.5, 0.75}};
  augment_config aug = {.flip = true, .roll = true, .seed = 99};
  batch_loader l;
  loader_init(&l, &s, &pre, &aug, G, 5, true, prefetch);
  const long nl = l.sampler.local_batch;
  const size_t sf = l.state_floats;
  const int ld = l.label_dim;
  CHECK(ld == 6);

  /* The single-rank reference, built by hand from the pieces. */
  dataset *ref = dataset_open(&s);
  dist_sampler one;
  dist_sampler_init(&one, dataset_len(ref), G, 5, true, 0, 1);
  augment_layout lay;
  augment_layout_from_dataset(&lay, ref, &aug);
  float *want = malloc(sizeof(float) * sf * G), *want_label = malloc(sizeof(float) * (size_t)ld * G);
  float *got = malloc(sizeof(float) * sf * G), *got_label = malloc(sizeof(float) * (size_t)ld * G);
  float *scratch = malloc(sizeof(float) * sf);
  long idx[G];
  int bad = 0, rolled = 0, flipped_bc = 0;
  for (long step = 0; step < 2 * dist_sampler_batches(&one) + 1; step++) {
    float *x, *y;
    loader_next(&l, step, &x, &y);
    MPI_Allgather(x, (int)(nl * (long)sf), MPI_FLOAT, got, (int)(nl * (long)sf), MPI_FLOAT, MPI_COMM_WORLD);
    MPI_Allgather(y, (int)nl * ld, MPI_FLOAT, got_label, (int)nl * ld, MPI_FLOAT, MPI_COMM_WORLD);
    /* Reads of our own while the helper prefetches: h5_lock serialises them. */
    dist_sampler_step(&one, step, idx, NULL);
    for (int i = 0; i < G; i++) {
      float *wx = want + (size_t)i * sf, *wy = want_label + (size_t)i * (size_t)ld;
      dataset_window(ref, idx[i], wx, wy);
      augment_draw d = augment_choose(&aug, &lay, step, i, wy);
      rolled += d.shift[0] != 0;
      flipped_bc += d.flip[1];
      augment_window(&aug, &lay, step, i, wx, wy, scratch);
      preprocess_apply(&pre, wx, sf / 3);
    }
    bad += memcmp(want, got, sizeof(float) * sf * G) != 0;
    bad += memcmp(want_label, got_label, sizeof(float) * (size_t)ld * G) != 0;
  }
  CHECK(bad == 0);
  CHECK(rolled > 0 && flipped_bc > 0); /* the augmentations did act */
  free(want), free(want_label), free(got), free(got_label), free(scratch);
  dist_sampler_free(&one);
  dataset_close(ref);
  loader_free(&l);
  free(dir);
}

TEST(loader_matches_single_rank_draw) { check_loader(false); }
TEST(loader_prefetch_matches_single_rank_draw) { check_loader(true); }
TEST_RANKS(loader_matches_single_rank_draw_2ranks, 2) { check_loader(false); }
TEST_RANKS(loader_prefetch_matches_single_rank_draw_2ranks, 2) { check_loader(true); }
