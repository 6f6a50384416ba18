#include "../../parallel/comm.h"
#include "harness.h"

TEST(comm_block_covers_every_item_once) {
  for (long count = 0; count < 20; count++) {
    for (int size = 1; size <= 7; size++) {
      long expect = 0;
      for (int r = 0; r < size; r++) {
        long b, e;
        comm_block(count, r, size, &b, &e);
        CHECK(b == expect);
        CHECK(e - b == count / size || e - b == count / size + 1);
        expect = e;
      }
      CHECK(expect == count);
    }
  }
}

TEST_RANKS(comm_sees_three_ranks_on_one_node, 3) {
  const lola_comm *c = comm();
  CHECK(c->size == 3);
  CHECK(c->nodes == 1);
  CHECK(c->local_size == 3);
  CHECK(c->local_rank == c->rank);
  CHECK(c->node == 0);
}

TEST_RANKS(comm_sees_two_ranks, 2) {
  CHECK(comm_size() == 2);
  int sum = 0, one = 1;
  MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  CHECK(sum == 2);
}
