#include "stage_backend.h"

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
    {.path = NULL},
};

void stage_backend_begin(const deck *d, const stage *st) {
  const char *want = deck_string(d, "run.device");
  k_backend_kind kind = K_BACKEND_CPU;
  if (!strcmp(want, "cuda")) {
    if (!device_is_gpu())
      lola_die(LOLA_EXIT_DECK, "run.device = \"cuda\" but rank %d sees no GPU (%s); use \"auto\" or \"cpu\"",
               comm_rank(),
#ifdef LOLA_CUDA
               "no device visible"
#else
               "this build has no CUDA: make CUDA=1"
#endif
      );
    kind = K_BACKEND_CUDA;
  } else if (!strcmp(want, "auto")) {
    kind = device_is_gpu() ? K_BACKEND_CUDA : K_BACKEND_CPU;
  } else if (!strcmp(want, "emulated")) {
    kind = K_BACKEND_EMULATED;
  }
  if (kind != K_BACKEND_CPU && !st->device_ready) {
    lola_log("%s: runs on the CPU (it has no %s path)", st->name, k_backend_name(kind));
    kind = K_BACKEND_CPU;
  }
  device_check_exclusive(kind == K_BACKEND_CUDA); /* collective */
  k_set_gemm_precision((k_gemm_precision)k_gemm_precision_from_name(deck_string(d, "run.precision")));
  k_backend_set(kind);
  if (kind != K_BACKEND_CPU)
    lola_log("%s: kernels on the %s backend%s%s", st->name, k_backend_name(kind),
             kind == K_BACKEND_CUDA ? ", matrix products in " : "",
             kind == K_BACKEND_CUDA ? deck_string(d, "run.precision") : "");
}

void stage_backend_end(void) {
  k_sync();
  k_backend_set(K_BACKEND_CPU);
}
