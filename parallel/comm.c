#include "comm.h"

#include <stdlib.h>

#include "../src/error.h"
#include "nccl_comm.h"

static lola_comm the_comm = {.rank = 0, .size = 1, .local_rank = 0, .local_size = 1, .node = 0, .nodes = 1};
static int comm_ready;

static void abort_job(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

static void finish(void) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void comm_init(int *argc, char ***argv) {
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  /* Errors inside MPI calls come back as codes we turn into one message. */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  lola_comm *c = &the_comm;
  c->world = MPI_COMM_WORLD;
  MPI_Comm_rank(c->world, &c->rank);
  MPI_Comm_size(c->world, &c->size);
  MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &c->local);
  MPI_Comm_rank(c->local, &c->local_rank);
  MPI_Comm_size(c->local, &c->local_size);
  /* A node is named by its lowest world rank; count the distinct leaders. */
  int is_leader = c->local_rank == 0;
  int before = 0;
  MPI_Exscan(&is_leader, &before, 1, MPI_INT, MPI_SUM, c->world);
  if (c->rank == 0) before = 0;
  int node = is_leader ? before : 0;
  MPI_Bcast(&node, 1, MPI_INT, 0, c->local);
  c->node = node;
  MPI_Allreduce(&is_leader, &c->nodes, 1, MPI_INT, MPI_SUM, c->world);
  comm_ready = 1;
  lola_error_job job = {.rank = c->rank, .size = c->size, .abort_job = abort_job, .finish = finish};
  lola_error_set_job(&job);
}

void comm_finalize(void) {
  if (!comm_ready) return;
  nccl_finalize();
  MPI_Comm_free(&the_comm.local);
  lola_error_set_job(NULL);
  MPI_Finalize();
  comm_ready = 0;
}

const lola_comm *comm(void) { return &the_comm; }
int comm_rank(void) { return the_comm.rank; }
int comm_size(void) { return the_comm.size; }

void comm_block(long count, int rank, int size, long *begin, long *end) {
  long base = count / size, extra = count % size;
  *begin = rank * base + (rank < extra ? rank : extra);
  *end = *begin + base + (rank < extra ? 1 : 0);
}
