#include "nccl_comm.h"

#include "../src/error.h"

#ifdef LOLA_CUDA
#include <mpi.h>
#include <nccl.h>

#include "../kernels/cuda/kernels_cuda.h"
#include "comm.h"

/* 64 Mi floats per call: the count is an int-sized size_t in older NCCLs. */
enum { NCCL_CHUNK = 64 << 20 };

static ncclComm_t world;
static int made;

static void nccl_check(ncclResult_t rc, const char *what) {
  if (rc != ncclSuccess) lola_die(LOLA_EXIT_RUNTIME, "NCCL %s failed: %s", what, ncclGetErrorString(rc));
}

static void nccl_init_once(void) {
  if (made) return;
  ncclUniqueId id;
  if (comm_rank() == 0) nccl_check(ncclGetUniqueId(&id), "unique id");
  MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
  nccl_check(ncclCommInitRank(&world, comm_size(), id, comm_rank()), "communicator creation");
  made = 1;
}

/* Every collective goes through the communication stream, so the
 * communicator's operations are issued in one order on one stream. */
void nccl_allreduce_mean_async(float *buf, int64_t n) {
  nccl_init_once();
  kc_comm_wait_compute();
  cudaStream_t stream = (cudaStream_t)kc_comm_stream_handle();
  for (int64_t off = 0; off < n; off += NCCL_CHUNK) {
    size_t count = (size_t)(n - off < NCCL_CHUNK ? n - off : NCCL_CHUNK);
    nccl_check(ncclAllReduce(buf + off, buf + off, count, ncclFloat, ncclAvg, world, stream), "all-reduce");
  }
}

void nccl_allgatherv_async(float *buf, const int64_t *lo, const int64_t *n) {
  nccl_init_once();
  kc_comm_wait_compute();
  cudaStream_t stream = (cudaStream_t)kc_comm_stream_handle();
  nccl_check(ncclGroupStart(), "group start");
  for (int r = 0; r < comm_size(); r++)
    for (int64_t off = 0; off < n[r]; off += NCCL_CHUNK) {
      size_t count = (size_t)(n[r] - off < NCCL_CHUNK ? n[r] - off : NCCL_CHUNK);
      float *at = buf + lo[r] + off;
      nccl_check(ncclBroadcast(at, at, count, ncclFloat, r, world, stream), "broadcast");
    }
  nccl_check(ncclGroupEnd(), "group end");
}

void nccl_reduce_mean_async(float *buf, const int64_t *lo, const int64_t *n, const int *root, int count) {
  nccl_init_once();
  kc_comm_wait_compute();
  cudaStream_t stream = (cudaStream_t)kc_comm_stream_handle();
  nccl_check(ncclGroupStart(), "group start");
  for (int k = 0; k < count; k++)
    for (int64_t off = 0; off < n[k]; off += NCCL_CHUNK) {
      size_t len = (size_t)(n[k] - off < NCCL_CHUNK ? n[k] - off : NCCL_CHUNK);
      float *at = buf + lo[k] + off;
      nccl_check(ncclReduce(at, at, len, ncclFloat, ncclAvg, root[k], world, stream), "reduce");
    }
  nccl_check(ncclGroupEnd(), "group end");
}

void nccl_allreduce_sum_double_async(double *v) {
  nccl_init_once();
  kc_comm_wait_compute();
  nccl_check(ncclAllReduce(v, v, 1, ncclDouble, ncclSum, world, (cudaStream_t)kc_comm_stream_handle()),
             "all-reduce");
}

void nccl_join(void) { kc_compute_wait_comm(); }

void nccl_finalize(void) {
  if (!made) return;
  ncclCommDestroy(world);
  made = 0;
}

#else

void nccl_allreduce_mean_async(float *buf, int64_t n) {
  (void)buf, (void)n;
  lola_die(LOLA_EXIT_RUNTIME, "NCCL all-reduce requested in a build without CUDA");
}

void nccl_allgatherv_async(float *buf, const int64_t *lo, const int64_t *n) {
  (void)buf, (void)lo, (void)n;
  lola_die(LOLA_EXIT_RUNTIME, "NCCL all-gather requested in a build without CUDA");
}

void nccl_reduce_mean_async(float *buf, const int64_t *lo, const int64_t *n, const int *root, int count) {
  (void)buf, (void)lo, (void)n, (void)root, (void)count;
  lola_die(LOLA_EXIT_RUNTIME, "NCCL reduce requested in a build without CUDA");
}

void nccl_allreduce_sum_double_async(double *v) {
  (void)v;
  lola_die(LOLA_EXIT_RUNTIME, "NCCL all-reduce requested in a build without CUDA");
}

void nccl_join(void) {}

void nccl_finalize(void) {}

#endif
