/* cuDNN, loaded at run time (dlopen) rather than linked: a build made where
 * the toolkit ships cuDNN still starts on a node whose CUDA install has none,
 * and convolutions then take the im2col path (kernels/cuda/conv.cu). Only the
 * calls the convolutions make are resolved. */
#ifndef LOLA_CUDNN_API_CUH
#define LOLA_CUDNN_API_CUH

#include <cudnn.h>

typedef struct {
  size_t version;       /* cudnnGetVersion(): 91900 for 9.19.0 */
  cudnnHandle_t handle; /* made on first use, on the kernels' device */
  decltype(&cudnnCreate) create;
  decltype(&cudnnGetErrorString) error_string;
  decltype(&cudnnSetStream) set_stream;
  decltype(&cudnnCreateTensorDescriptor) create_tensor;
  decltype(&cudnnSetTensorNdDescriptor) set_tensor;
  decltype(&cudnnDestroyTensorDescriptor) destroy_tensor;
  decltype(&cudnnCreateFilterDescriptor) create_filter;
  decltype(&cudnnSetFilterNdDescriptor) set_filter;
  decltype(&cudnnDestroyFilterDescriptor) destroy_filter;
  decltype(&cudnnCreateConvolutionDescriptor) create_conv;
  decltype(&cudnnSetConvolutionNdDescriptor) set_conv;
  decltype(&cudnnSetConvolutionMathType) set_math;
  decltype(&cudnnDestroyConvolutionDescriptor) destroy_conv;
  decltype(&cudnnGetConvolutionForwardAlgorithm_v7) fwd_algos;
  decltype(&cudnnGetConvolutionBackwardDataAlgorithm_v7) bwd_data_algos;
  decltype(&cudnnGetConvolutionBackwardFilterAlgorithm_v7) bwd_filter_algos;
  decltype(&cudnnConvolutionForward) fwd;
  decltype(&cudnnConvolutionBackwardData) bwd_data;
  decltype(&cudnnConvolutionBackwardFilter) bwd_filter;
} cudnn_api;

/* The library with a handle on the kernels' stream, loaded on first call;
 * NULL when it cannot be (why: kc_cudnn_status). Needs a device. */
const cudnn_api *cudnn_get(void);

/* Dies naming the call and cuDNN's message unless st is success. */
void cudnn_check(cudnnStatus_t st, const char *call);

#endif
