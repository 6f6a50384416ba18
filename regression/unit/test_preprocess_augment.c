/* Flip, permute and roll against direct coordinate formulas; the random
 * choices are a pure function of (seed, step, sample). */
#include <stdlib.h>
#include <string.h>

#include "../../io/well_read.h"
#include "../../src/augment.h"
#include "harness.h"
#include "well_fixture.h"

enum { L = 2, N = 4, C = 3 }; /* channels: rho, m_x, m_y */

static augment_layout layout(void) {
  augment_layout lay = {.ndims = 2, .shape = {N, N, 1}, .steps = L, .channels = C, .label_scalars = 1};
  int order[C] = {0, 1, 1}, field[C] = {0, 1, 1}, comp[C] = {0, 0, 1};
  for (int c = 0; c < C; c++) lay.order[c] = order[c], lay.field[c] = field[c], lay.comp[c] = comp[c];
  return lay;
}

static float value(long l, long i, long j, int c) { return (float)(1000 * l + 100 * i + 10 * j + c + 1); }
#define AT(x, l, i, j, c) (x)[(((l)*N + (i)) * N + (j)) * C + (c)]

static void fill(float *x) {
  for (long l = 0; l < L; l++)
    for (long i = 0; i < N; i++)
      for (long j = 0; j < N; j++)
        for (int c = 0; c < C; c++) AT(x, l, i, j, c) = value(l, i, j, c);
}

TEST(augment_flip_negates_the_matching_component) {
  augment_layout lay = layout();
  float x[L * N * N * C], scratch[L * N * N * C], label[5] = {7, WELL_BC_WALL, WELL_BC_OPEN, 2, 2};
  fill(x);
  augment_draw d = {.flip = {true, false}, .perm = {0, 1}};
  augment_apply(&lay, &d, false, x, label, scratch);
  int bad = 0;
  for (long l = 0; l < L; l++)
    for (long i = 0; i < N; i++)
      for (long j = 0; j < N; j++) {
        bad += AT(x, l, i, j, 0) != value(l, N - 1 - i, j, 0);
        bad += AT(x, l, i, j, 1) != -value(l, N - 1 - i, j, 1);
        bad += AT(x, l, i, j, 2) != value(l, N - 1 - i, j, 2);
      }
  CHECK(bad == 0);
  CHECK(label[0] == 7 && label[1] == WELL_BC_OPEN && label[2] == WELL_BC_WALL && label[3] == 2);
}

TEST(augment_permute_swaps_axes_and_components) {
  augment_layout lay = layout();
  float x[L * N * N * C], scratch[L * N * N * C], label[5] = {7, 0, 1, 2, 2};
  fill(x);
  augment_draw d = {.perm = {1, 0}};
  augment_apply(&lay, &d, true, x, label, scratch);
  int bad = 0;
  for (long l = 0; l < L; l++)
    for (long i = 0; i < N; i++)
      for (long j = 0; j < N; j++) {
        bad += AT(x, l, i, j, 0) != value(l, j, i, 0);
        bad += AT(x, l, i, j, 1) != value(l, j, i, 2); /* new m_x = old m_y */
        bad += AT(x, l, i, j, 2) != value(l, j, i, 1);
      }
  CHECK(bad == 0);
  CHECK(label[1] == 2 && label[2] == 2 && label[3] == 0 && label[4] == 1);
}

TEST(augment_roll_and_composition) {
  augment_layout lay = layout();
  float x[L * N * N * C], scratch[L * N * N * C],
      label[5] = {7, WELL_BC_WALL, WELL_BC_OPEN, WELL_BC_PERIODIC, WELL_BC_WALL};
  fill(x);
  augment_draw d = {.flip = {false, true}, .perm = {1, 0}, .shift = {1, 3}};
  augment_apply(&lay, &d, true, x, label, scratch);
  /* flip y: a(i,j) = s*v(i, N-1-j), m_y negated; permute: b(i,j) = a(j,i) with
   * components swapped; roll: out(i,j) = b(i-1, j-3). */
  int bad = 0;
  for (long l = 0; l < L; l++)
    for (long i = 0; i < N; i++)
      for (long j = 0; j < N; j++) {
        long bi = (i - 1 + N) % N, bj = (j - 3 + N) % N; /* b's coordinates */
        long ai = bj, aj = bi;                           /* a's coordinates */
        long vi = ai, vj = N - 1 - aj;                   /* original coordinates */
        bad += AT(x, l, i, j, 0) != value(l, vi, vj, 0);
        bad += AT(x, l, i, j, 1) != -value(l, vi, vj, 2);
        bad += AT(x, l, i, j, 2) != value(l, vi, vj, 1);
      }
  CHECK(bad == 0);
  /* y's sides swap (flip), then the rows swap (permute); rolling leaves them. */
  CHECK(label[0] == 7 && label[1] == WELL_BC_WALL && label[2] == WELL_BC_PERIODIC);
  CHECK(label[3] == WELL_BC_WALL && label[4] == WELL_BC_OPEN);
}

TEST(augment_draws_are_keyed_and_roll_only_periodic_axes) {
  augment_layout lay = layout();
  augment_config cfg = {.flip = true, .permute = true, .roll = true, .seed = 11};
  float label[5] = {7, WELL_BC_PERIODIC, WELL_BC_PERIODIC, WELL_BC_WALL, WELL_BC_WALL};
  int flips = 0, swaps = 0, rolled_x = 0, shifts_seen[N] = {0};
  bool rolled_wall = false, pure = true;
  for (long s = 0; s < 2000; s++) {
    augment_draw a = augment_choose(&cfg, &lay, 5, s, label), b = augment_choose(&cfg, &lay, 5, s, label);
    pure &= memcmp(&a, &b, sizeof a) == 0;
    flips += a.flip[0] + a.flip[1];
    swaps += a.perm[0] == 1;
    /* The periodic axis is old axis 0; after a swap it sits at new position 1. */
    int px = a.perm[0] == 0 ? 0 : 1, pw = 1 - px;
    rolled_wall |= a.shift[pw] != 0;
    rolled_x += a.shift[px] != 0;
    CHECK(a.shift[px] >= 0 && a.shift[px] < N);
    shifts_seen[a.shift[px]]++;
  }
  CHECK(pure);
  CHECK(!rolled_wall);
  CHECK(flips > 1800 && flips < 2200);       /* p = 1/2 per axis, 4000 draws */
  CHECK(swaps > 900 && swaps < 1100);        /* half of the permutations of 2 axes */
  CHECK(rolled_x > 1400 && rolled_x < 1600); /* shift 0 has probability 1/4 */
  for (int k = 0; k < N; k++) CHECK(shifts_seen[k] > 400);
  augment_draw a = augment_choose(&cfg, &lay, 5, 1, label), b = augment_choose(&cfg, &lay, 6, 1, label),
               c = augment_choose(&cfg, &lay, 5, 2, label);
  (void)a, (void)b, (void)c; /* different keys: just must not crash */
}

TEST(augment_permute_needs_square_grids) {
  char *dir = well_fixture_dir("augment_tree");
  well_fixture_tree(dir, 3, 5, 4);
  const char *phys[] = {"euler_open"};
  dataset_spec s = {.root = dir, .physics = phys, .nphysics = 1, .split = "train", .steps = 1, .stride = 1};
  dataset *ds = dataset_open(&s);
  augment_layout lay;
  augment_config cfg = {.flip = true, .permute = true};
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, augment_layout_from_dataset(&lay, ds, &cfg)));
  cfg.permute = false;
  augment_layout_from_dataset(&lay, ds, &cfg);
  CHECK(lay.channels == 5 && lay.order[3] == 1 && lay.comp[4] == 1 && lay.label_scalars == 2);
  dataset_close(ds);
  free(dir);
}
