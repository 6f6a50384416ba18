#include "stage_backend.h"

#include <mpi.h>
#include <string.h>

#include "../kernels/backend.h"
#include "../parallel/comm.h"
#include "../parallel/device.h"
#include "error.h"
#include "log.h"

const deck_key stage_backend_keys[] = {
    {.path = "run.device",
     .type = KEY_STRING,
     .fallback = "\"auto\"",
     .choices = "auto|cpu|cuda|emulated",
     .help = "where the model kernels run (train_*, cache_latents, eval): auto (this rank's GPU when there "
             "is one), cpu, cuda, or emulated (the CPU behind device addresses: a check of the GPU code "
             "path without a GPU)"},
    {.path = "run.precision",
     .type = KEY_STRING,
     .fallback = "\"bf16\"",
     .choices = "bf16|tf32|fp32",
     .help = "matrix products on the GPU: bf16 or tf32 tensor cores with fp32 accumulation, or fp32 "
             "(storage and optimiser state stay fp32; the CPU computes in fp32)"},
    {.path = "run.conv",
     .type = KEY_STRING,
     .fallback = "\"auto\"",
     .choices = "auto|cudnn|im2col",
     .help = "convolutions on the GPU: auto (cuDNN when its library loads, else im2col and cuBLAS), cudnn "
             "(an error when it does not load) or im2col; circular padding always takes im2col"},
    {.path = NULL},
};

/* Collective: how many ranks have no GPU, and the first of them (-1 none). */
static int ranks_without_gpu(int *first) {
  int mine = device_is_gpu() ? 0 : 1, count = 0, me = mine ? comm_rank() : comm_size();
  MPI_Allreduce(&mine, &count, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(&me, first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (*first == comm_size()) *first = -1;
  return count;
}

/* Collective. Every rank takes the same backend: the gradient all-reduce and
 * the sharded updates are NCCL on GPUs and MPI on CPUs, which do not mix. */
void stage_backend_begin(const deck *d, const stage *st) {
  const char *want = deck_string(d, "run.device");
  k_backend_kind kind = K_BACKEND_CPU;
  int first = -1, without = ranks_without_gpu(&first);
  if (!strcmp(want, "cuda")) {
    if (without > 0)
      lola_die_collective(LOLA_EXIT_DECK,
                          "run.device = \"cuda\" but rank %d sees no GPU (%s; %d of %d ranks without one); "
                          "use \"auto\" or \"cpu\"",
                          first,
#ifdef LOLA_CUDA
                          "no device visible",
#else
                          "this build has no CUDA: make CUDA=1",
#endif
                          without, comm_size());
    kind = K_BACKEND_CUDA;
  } else if (!strcmp(want, "auto")) {
    kind = without == 0 ? K_BACKEND_CUDA : K_BACKEND_CPU;
    if (without > 0 && without < comm_size())
      lola_log("%s: %d of %d ranks see no GPU (rank %d first): every rank runs on the CPU", st->name, without,
               comm_size(), first);
  } else if (!strcmp(want, "emulated")) {
    kind = K_BACKEND_EMULATED;
  }
  if (kind == K_BACKEND_CUDA && st->device_ready) { /* every rank's GPU must take a context */
    int me = device_activate() ? comm_size() : comm_rank(), bad = 0; /* the first rank that cannot */
    MPI_Allreduce(&me, &bad, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (bad < comm_size() && !strcmp(want, "cuda"))
      lola_die_collective(LOLA_EXIT_RUNTIME,
                          "run.device = \"cuda\" but rank %d cannot use its GPU (busy in exclusive mode, or "
                          "lost: see nvidia-smi on its node); use \"auto\" or \"cpu\"",
                          bad);
    if (bad < comm_size()) {
      lola_log("%s: rank %d cannot use its GPU (busy in exclusive mode, or lost): every rank runs on the CPU",
               st->name, bad);
      kind = K_BACKEND_CPU;
    }
  }
  if (kind != K_BACKEND_CPU && !st->device_ready) {
    lola_log("%s: runs on the CPU (it has no %s path)", st->name, k_backend_name(kind));
    kind = K_BACKEND_CPU;
  }
  device_check_exclusive(kind == K_BACKEND_CUDA); /* collective */
  k_set_gemm_precision((k_gemm_precision)k_gemm_precision_from_name(deck_string(d, "run.precision")));
  k_set_conv_engine(deck_string(d, "run.conv")); /* the deck's choices are the engine's names */
  if (kind == K_BACKEND_CUDA && !strcmp(deck_string(d, "run.conv"), "cudnn")) {
    int missing = !k_conv_cudnn_loads(), anywhere = 0; /* some rank cannot load it */
    MPI_Allreduce(&missing, &anywhere, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (anywhere)
      lola_die_collective(LOLA_EXIT_DECK, "run.conv = \"cudnn\" but %s; use \"auto\" or \"im2col\"",
                          missing ? k_conv_engine_status() : "another rank cannot load cuDNN");
  }
  k_backend_set(kind);
  if (kind == K_BACKEND_CUDA)
    lola_log("%s: kernels on the %s backend, matrix products in %s, convolutions: %s", st->name,
             k_backend_name(kind), deck_string(d, "run.precision"),
             !strcmp(deck_string(d, "run.conv"), "im2col") ? "im2col (run.conv)" : k_conv_engine_status());
  else if (kind != K_BACKEND_CPU)
    lola_log("%s: kernels on the %s backend", st->name, k_backend_name(kind));
}

void stage_backend_end(void) {
  k_sync();
  k_backend_set(K_BACKEND_CPU);
}
