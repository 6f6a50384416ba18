#ifdef LOLA_CUDNN
#include "cudnn_api.cuh"

#include <dlfcn.h>
#include <stdio.h>

#include "common.cuh"
#include "kernels_cuda.h"

static cudnn_api api;
static int state; /* 0 not tried, 1 loaded, -1 unavailable */
static char status[256] = "cuDNN not loaded yet";

/* dlsym into a typed pointer; false (and the status says which) when missing. */
template <typename F>
static bool resolve(void *lib, F *out, const char *name) {
  *out = (F)dlsym(lib, name);
  if (!*out) snprintf(status, sizeof status, "cuDNN lacks %s: convolutions use im2col", name);
  return *out != NULL;
}

static bool load(void) {
  void *lib = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    char why[160];
    snprintf(why, sizeof why, "%s", dlerror());
    lib = dlopen("libcudnn.so", RTLD_NOW | RTLD_LOCAL); /* an unversioned install */
    if (!lib) {
      snprintf(status, sizeof status, "no cuDNN 9 library found (%s): convolutions use im2col", why);
      return false;
    }
  }
  decltype(&cudnnGetVersion) version;
  decltype(&cudnnCreate) create;

  bool ok = resolve(lib, &version, "cudnnGetVersion") && resolve(lib, &create, "cudnnCreate") &&
            resolve(lib, &api.error_string, "cudnnGetErrorString") &&
            resolve(lib, &api.set_stream, "cudnnSetStream") &&
            resolve(lib, &api.create_tensor, "cudnnCreateTensorDescriptor") &&
            resolve(lib, &api.set_tensor, "cudnnSetTensorNdDescriptor") &&
            resolve(lib, &api.destroy_tensor, "cudnnDestroyTensorDescriptor") &&
            resolve(lib, &api.create_filter, "cudnnCreateFilterDescriptor") &&
            resolve(lib, &api.set_filter, "cudnnSetFilterNdDescriptor") &&
            resolve(lib, &api.destroy_filter, "cudnnDestroyFilterDescriptor") &&
            resolve(lib, &api.create_conv, "cudnnCreateConvolutionDescriptor") &&
            resolve(lib, &api.set_conv, "cudnnSetConvolutionNdDescriptor") &&
            resolve(lib, &api.set_math, "cudnnSetConvolutionMathType") &&
            resolve(lib, &api.destroy_conv, "cudnnDestroyConvolutionDescriptor") &&
            resolve(lib, &api.fwd_algos, "cudnnGetConvolutionForwardAlgorithm_v7") &&
            resolve(lib, &api.bwd_data_algos, "cudnnGetConvolutionBackwardDataAlgorithm_v7") &&
            resolve(lib, &api.bwd_filter_algos, "cudnnGetConvolutionBackwardFilterAlgorithm_v7") &&
            resolve(lib, &api.fwd, "cudnnConvolutionForward") &&
            resolve(lib, &api.bwd_data, "cudnnConvolutionBackwardData") &&
            resolve(lib, &api.bwd_filter, "cudnnConvolutionBackwardFilter");
  if (!ok) return false;
  api.version = version();
  if (api.version < 90000) {
    snprintf(status, sizeof status, "cuDNN %zu is older than 9: convolutions use im2col", api.version);
    return false;
  }
  api.create = create;
  snprintf(status, sizeof status, "cuDNN %zu.%zu.%zu", api.version / 10000, api.version / 100 % 100,
           api.version % 100);
  return true;
}

const cudnn_api *cudnn_get(void) {
  if (state == 0) state = load() ? 1 : -1;
  if (state < 0) return NULL;
  if (!api.handle) { /* on the device the kernels run on */
    kc_init();
    cudnnStatus_t st = api.create(&api.handle);
    if (st != CUDNN_STATUS_SUCCESS) {
      snprintf(status, sizeof status, "cuDNN %zu could not start (%s): convolutions use im2col", api.version,
               api.error_string(st));
      state = -1;
      return NULL;
    }
  }
  cudnnStatus_t st = api.set_stream(api.handle, kc_stream());
  if (st != CUDNN_STATUS_SUCCESS) { /* as a handle that could not start */
    snprintf(status, sizeof status,
             "cuDNN %zu could not take the kernels' stream (%s): convolutions use im2col", api.version,
             api.error_string(st));
    state = -1;
    return NULL;
  }
  return &api;
}

void cudnn_check(cudnnStatus_t st, const char *call) {
  if (st != CUDNN_STATUS_SUCCESS) lola_die(1, "cuDNN error in %s: %s", call, api.error_string(st));
}

extern "C" const char *kc_cudnn_status(void) {
  if (state == 0) state = load() ? 1 : -1;
  return status;
}

extern "C" bool kc_cudnn_loads(void) {
  kc_cudnn_status();
  return state > 0;
}
#else /* built without cuDNN's headers */
extern "C" const char *kc_cudnn_status(void) {
  return "this build has no cuDNN (its headers were not found): convolutions use im2col";
}
extern "C" bool kc_cudnn_loads(void) { return false; }
#endif
