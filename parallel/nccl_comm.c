#include "nccl_comm.h"

#include <limits.h>
#include <mpi.h>

#include "../kernels/backend.h"
#include "../src/error.h"
#include "comm.h"

/* ---- the emulated device: the same calls through MPI on the host arrays ----
 *
 * With run.device = "emulated" the collectives take these blocking MPI
 * stand-ins with NCCL's semantics (averages, reduce to a root leaving the
 * others' buffers as they were, broadcasts of each rank's share), so the
 * callers' device-side code path (parallel/grad_sync.c, shard.c) runs in the
 * tests of a machine without GPUs. */

static void mpi_check(int rc, const char *what) {
  if (rc != MPI_SUCCESS) lola_die(LOLA_EXIT_RUNTIME, "emulated NCCL %s failed (MPI error %d)", what, rc);
}

/* MPI counts are ints: runs of at most this many floats per call. */
static const int64_t MPI_CHUNK = INT_MAX / 2;

static void emulated_reduce(float *h, int64_t n, int root) {
  for (int64_t off = 0; off < n; off += MPI_CHUNK) {
    int count = (int)(n - off < MPI_CHUNK ? n - off : MPI_CHUNK);
    if (root < 0)
      mpi_check(MPI_Allreduce(MPI_IN_PLACE, h + off, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                "all-reduce");
    else
      mpi_check(MPI_Reduce(root == comm_rank() ? MPI_IN_PLACE : h + off, h + off, count, MPI_FLOAT, MPI_SUM,
                           root, MPI_COMM_WORLD),
                "reduce");
  }
  if (root >= 0 && root != comm_rank()) return;
  const float k = 1.0f / (float)comm_size(); /* ncclAvg */
  for (int64_t i = 0; i < n; i++) h[i] *= k;
}

static void emulated_broadcast(float *h, int64_t n, int root) {
  for (int64_t off = 0; off < n; off += MPI_CHUNK) {
    int count = (int)(n - off < MPI_CHUNK ? n - off : MPI_CHUNK);
    mpi_check(MPI_Bcast(h + off, count, MPI_FLOAT, root, MPI_COMM_WORLD), "broadcast");
  }
}

static bool emulated(void) { return k_backend() == K_BACKEND_EMULATED; }

#ifdef LOLA_CUDA
#include <nccl.h>

#include "../kernels/cuda/kernels_cuda.h"

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
static cudaStream_t comm_stream(void) {
  nccl_init_once();
  kc_comm_wait_compute();
  return (cudaStream_t)kc_comm_stream_handle();
}
#else
static _Noreturn void no_nccl(const char *what) {
  lola_die(LOLA_EXIT_RUNTIME, "NCCL %s requested in a build without CUDA", what);
}
#endif

void nccl_allreduce_mean_async(float *buf, int64_t n) {
  if (emulated()) {
    emulated_reduce(k_backend_host_address(buf), n, -1);
    return;
  }
#ifdef LOLA_CUDA
  cudaStream_t stream = comm_stream();
  for (int64_t off = 0; off < n; off += NCCL_CHUNK) {
    size_t count = (size_t)(n - off < NCCL_CHUNK ? n - off : NCCL_CHUNK);
    nccl_check(ncclAllReduce(buf + off, buf + off, count, ncclFloat, ncclAvg, world, stream), "all-reduce");
  }
#else
  no_nccl("all-reduce");
#endif
}

void nccl_allgatherv_async(float *buf, const int64_t *lo, const int64_t *n) {
  if (emulated()) {
    float *h = k_backend_host_address(buf);
    for (int r = 0; r < comm_size(); r++) emulated_broadcast(h + lo[r], n[r], r);
    return;
  }
#ifdef LOLA_CUDA
  cudaStream_t stream = comm_stream();
  nccl_check(ncclGroupStart(), "group start");
  for (int r = 0; r < comm_size(); r++)
    for (int64_t off = 0; off < n[r]; off += NCCL_CHUNK) {
      size_t count = (size_t)(n[r] - off < NCCL_CHUNK ? n[r] - off : NCCL_CHUNK);
      float *at = buf + lo[r] + off;
      nccl_check(ncclBroadcast(at, at, count, ncclFloat, r, world, stream), "broadcast");
    }
  nccl_check(ncclGroupEnd(), "group end");
#else
  (void)lo, (void)n;
  no_nccl("all-gather");
#endif
}

void nccl_reduce_mean_async(float *buf, const int64_t *lo, const int64_t *n, const int *root, int count) {
  if (emulated()) {
    float *h = k_backend_host_address(buf);
    for (int k = 0; k < count; k++) emulated_reduce(h + lo[k], n[k], root[k]);
    return;
  }
#ifdef LOLA_CUDA
  cudaStream_t stream = comm_stream();
  nccl_check(ncclGroupStart(), "group start");
  for (int k = 0; k < count; k++)
    for (int64_t off = 0; off < n[k]; off += NCCL_CHUNK) {
      size_t len = (size_t)(n[k] - off < NCCL_CHUNK ? n[k] - off : NCCL_CHUNK);
      float *at = buf + lo[k] + off;
      nccl_check(ncclReduce(at, at, len, ncclFloat, ncclAvg, root[k], world, stream), "reduce");
    }
  nccl_check(ncclGroupEnd(), "group end");
#else
  (void)lo, (void)n, (void)root, (void)count;
  no_nccl("reduce");
#endif
}

void nccl_allreduce_sum_double_async(double *v) {
  if (emulated()) {
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, k_backend_host_address(v), 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
              "all-reduce");
    return;
  }
#ifdef LOLA_CUDA
  nccl_check(ncclAllReduce(v, v, 1, ncclDouble, ncclSum, world, comm_stream()), "all-reduce");
#else
  no_nccl("all-reduce");
#endif
}

void nccl_join(void) {
#ifdef LOLA_CUDA
  if (!emulated()) kc_compute_wait_comm();
#endif
}

void nccl_finalize(void) {
#ifdef LOLA_CUDA
  if (!made) return;
  ncclCommDestroy(world);
  made = 0;
#endif
}
