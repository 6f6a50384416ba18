/* The distributed sampler: permutations, drop-last, and ranks that together
 * draw exactly what one rank draws with the same global batch. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "../../parallel/comm.h"
#include "../../parallel/sampler.h"
#include "harness.h"

TEST(sampler_epoch_is_a_seeded_permutation) {
  enum { N = 103, G = 10 };
  dist_sampler a, b, c;
  dist_sampler_init(&a, N, G, 42, true, 0, 1);
  dist_sampler_init(&b, N, G, 42, true, 0, 1);
  dist_sampler_init(&c, N, G, 43, true, 0, 1);
  CHECK(dist_sampler_batches(&a) == N / G);
  int seen[N] = {0};
  long ia[G], ib[G], ic[G];
  int same_as_other_seed = 0, same_as_next_epoch = 0, identity = 0;
  for (long k = 0; k < N / G; k++) {
    dist_sampler_batch(&a, 5, k, ia);
    dist_sampler_batch(&b, 5, k, ib);
    dist_sampler_batch(&c, 5, k, ic);
    for (int i = 0; i < G; i++) {
      CHECK(ia[i] >= 0 && ia[i] < N);
      seen[ia[i]]++;
      CHECK(ia[i] == ib[i]); /* same seed, same numbers */
      same_as_other_seed += ia[i] == ic[i];
      identity += ia[i] == k * G + i;
    }
  }
  int distinct = 0;
  for (int i = 0; i < N; i++) {
    CHECK(seen[i] <= 1);
    distinct += seen[i];
  }
  CHECK(distinct == (N / G) * G); /* drop-last: the 3 left over are not drawn */
  CHECK(same_as_other_seed < 20);
  CHECK(identity < 20);
  dist_sampler_batch(&a, 6, 0, ib);
  dist_sampler_batch(&a, 5, 0, ia);
  for (int i = 0; i < G; i++) same_as_next_epoch += ia[i] == ib[i];
  CHECK(same_as_next_epoch < 5);
  /* Without shuffling: the index order. */
  dist_sampler d;
  dist_sampler_init(&d, N, G, 1, false, 0, 1);
  dist_sampler_step(&d, 11, ia, NULL); /* epoch 1, batch 1 */
  for (int i = 0; i < G; i++) CHECK(ia[i] == G + i);
  dist_sampler_free(&a), dist_sampler_free(&b), dist_sampler_free(&c), dist_sampler_free(&d);
}

TEST(sampler_rejects_batch_not_divisible_by_ranks) {
  dist_sampler s;
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, dist_sampler_init(&s, 100, 10, 0, true, 0, 3)));
  CHECK(strstr(trap.message, "multiple of the 3 ranks") != NULL);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, dist_sampler_init(&s, 8, 10, 0, true, 0, 1)));
}

/* Union over ranks == the single-rank draw, in order, for several steps. */
static void check_union(void) {
  enum { N = 97, G = 12 };
  int size = comm_size(), rank = comm_rank();
  dist_sampler mine, one;
  dist_sampler_init(&mine, N, G, 7, true, rank, size);
  dist_sampler_init(&one, N, G, 7, true, 0, 1);
  long local[G], slots[G], all[G], ref[G], allslots[G];
  for (long step = 0; step < 3 * (N / G); step++) {
    dist_sampler_step(&mine, step, local, slots);
    MPI_Allgather(local, (int)mine.local_batch, MPI_LONG, all, (int)mine.local_batch, MPI_LONG,
                  MPI_COMM_WORLD);
    MPI_Allgather(slots, (int)mine.local_batch, MPI_LONG, allslots, (int)mine.local_batch, MPI_LONG,
                  MPI_COMM_WORLD);
    dist_sampler_step(&one, step, ref, NULL);
    for (int i = 0; i < G; i++) {
      CHECK(all[i] == ref[i]);
      CHECK(allslots[i] == i);
    }
  }
  dist_sampler_free(&mine);
  dist_sampler_free(&one);
}

TEST_RANKS(sampler_union_over_2_ranks, 2) { check_union(); }
TEST_RANKS(sampler_union_over_3_ranks, 3) { check_union(); }
