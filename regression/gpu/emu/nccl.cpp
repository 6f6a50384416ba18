/* The NCCL calls lola makes, as blocking MPI collectives over the ranks of
 * MPI_COMM_WORLD (the communicator lola bootstraps NCCL from). A group is
 * the same calls in the same order on every rank, so running them as they
 * are issued keeps the pairing. ncclAvg is the sum scaled by 1/ranks. */
#include <mpi.h>
#include <nccl.h>
#include <string.h>

struct ncclComm {
  MPI_Comm comm;
  int ranks;
};

namespace {

bool mpi_type(ncclDataType_t t, MPI_Datatype *out) {
  switch (t) {
    case ncclFloat32:
      *out = MPI_FLOAT;
      return true;
    case ncclFloat64:
      *out = MPI_DOUBLE;
      return true;
    case ncclInt32:
      *out = MPI_INT;
      return true;
    case ncclInt64:
      *out = MPI_INT64_T;
      return true;
    default:
      return false;
  }
}

bool mpi_op(ncclRedOp_t op, MPI_Op *out) {
  switch (op) {
    case ncclSum:
    case ncclAvg:
      *out = MPI_SUM;
      return true;
    case ncclMax:
      *out = MPI_MAX;
      return true;
    case ncclMin:
      *out = MPI_MIN;
      return true;
    default:
      return false;
  }
}

void scale_average(void *buf, size_t count, ncclDataType_t t, int ranks) {
  if (t == ncclFloat32) {
    const float k = 1.0f / (float)ranks;
    for (size_t i = 0; i < count; i++) ((float *)buf)[i] *= k;
  } else if (t == ncclFloat64) {
    for (size_t i = 0; i < count; i++) ((double *)buf)[i] /= ranks;
  }
}

}  // namespace

extern "C" {

ncclResult_t ncclGetVersion(int *version) {
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}
const char *ncclGetErrorString(ncclResult_t r) {
  switch (r) {
    case ncclSuccess:
      return "no error";
    case ncclInvalidArgument:
      return "invalid argument";
    case ncclInvalidUsage:
      return "invalid usage";
    case ncclSystemError:
      return "system error (MPI)";
    default:
      return "unhandled error";
  }
}
ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  memset(id, 0, sizeof *id);
  return ncclSuccess;
}
ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId, int rank) {
  int size, me;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  if (nranks != size || rank != me) return ncclInvalidUsage;
  ncclComm *c = new ncclComm{};
  c->ranks = size;
  if (MPI_Comm_dup(MPI_COMM_WORLD, &c->comm) != MPI_SUCCESS) {
    delete c;
    return ncclSystemError;
  }
  *comm = c;
  return ncclSuccess;
}
ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm) return ncclInvalidArgument;
  MPI_Comm_free(&comm->comm);
  delete comm;
  return ncclSuccess;
}
ncclResult_t ncclGroupStart() { return ncclSuccess; }
ncclResult_t ncclGroupEnd() { return ncclSuccess; }

ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, ncclDataType_t t, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t) {
  MPI_Datatype mt;
  MPI_Op mo;
  if (!comm || !mpi_type(t, &mt) || !mpi_op(op, &mo)) return ncclInvalidArgument;
  if (MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, mt, mo, comm->comm) != MPI_SUCCESS)
    return ncclSystemError;
  if (op == ncclAvg) scale_average(recv, count, t, comm->ranks);
  return ncclSuccess;
}
ncclResult_t ncclReduce(const void *send, void *recv, size_t count, ncclDataType_t t, ncclRedOp_t op,
                        int root, ncclComm_t comm, cudaStream_t) {
  MPI_Datatype mt;
  MPI_Op mo;
  int me;
  if (!comm || !mpi_type(t, &mt) || !mpi_op(op, &mo)) return ncclInvalidArgument;
  MPI_Comm_rank(comm->comm, &me);
  const void *from = me == root && send == recv ? MPI_IN_PLACE : send;
  if (MPI_Reduce(from, recv, (int)count, mt, mo, root, comm->comm) != MPI_SUCCESS) return ncclSystemError;
  if (op == ncclAvg && me == root) scale_average(recv, count, t, comm->ranks);
  return ncclSuccess;
}
ncclResult_t ncclBroadcast(const void *send, void *recv, size_t count, ncclDataType_t t, int root,
                           ncclComm_t comm, cudaStream_t) {
  MPI_Datatype mt;
  int me;
  if (!comm || !mpi_type(t, &mt)) return ncclInvalidArgument;
  MPI_Comm_rank(comm->comm, &me);
  if (me == root && send != recv) {
    int bytes;
    MPI_Type_size(mt, &bytes);
    memmove(recv, send, count * (size_t)bytes);
  }
  if (MPI_Bcast(recv, (int)count, mt, root, comm->comm) != MPI_SUCCESS) return ncclSystemError;
  return ncclSuccess;
}

}  // extern "C"
