/* The numerical kernels of the neural-network engine, behind one header.
 *
 * Every op is a plain C function on raw float pointers with explicit sizes,
 * named k_<op>_fwd / k_<op>_bwd, and runs on the backend chosen at start-up
 * (kernels/backend.h: cpu, cuda, or the emulated device of the tests), through
 * the dispatch layer kernels/dispatch.c. The CPU implementations live in
 * kernels/cpu/<family>.c (OpenMP + OpenBLAS) as kcpu_<op>; the CUDA ones in
 * kernels/cuda/<family>.cu as kc_<op>, with the same signatures and semantics
 * on device pointers (kernels/cuda/kernels_cuda.h). Arrays live in the active
 * backend's memory (k_device_alloc); host code moves data with k_upload and
 * k_download and never touches a device array itself.
 *
 * Conventions, followed by every family:
 *
 * Layout. Arrays are dense and row-major (last index fastest), without strides.
 *   Convolutional ops use channel-first (B, C, *spatial); transformer ops use
 *   the token layout (B, N, C). Linear weights are (out, in), as torch.nn.Linear,
 *   so checkpoints move between this program and PyTorch unchanged.
 *
 * Gradients. A backward receives dy and what its forward saw, and
 *   - OVERWRITES the gradients of its activation inputs (dx = ..., never +=);
 *     a NULL activation gradient pointer means "not needed" and is skipped;
 *   - ACCUMULATES into the gradients of parameters (dW += ..., db += ...), so a
 *     parameter used several times (or over several micro-batches) sums its
 *     contributions; the optimiser step zeroes them. Each header says which of
 *     an op's arguments are parameters (vectors that may be either, such as
 *     modulation vectors, are declared accumulating: zero them first when they
 *     are activations).
 *   Outputs and inputs must not alias unless a function says it allows it.
 *
 * Precision. float storage; reductions (sums over a batch, norms, losses)
 *   accumulate in double in a fixed order, so results do not depend on the
 *   thread count. GEMMs are OpenBLAS's, which splits rows and columns, not the
 *   inner dimension, at our shapes (test_linear checks the bits on 1 and 2
 *   threads).
 *
 * Threads. Kernels open their own OpenMP parallel regions and call OpenBLAS,
 *   whose thread count the program sets once at start-up together with
 *   OpenMP's (OMP_NUM_THREADS / openblas_set_num_threads). Do not call a kernel
 *   from inside a parallel region. Kernels never allocate: scratch space, where
 *   an op needs it, is passed in by the caller (from an arena, see src/tensor.h).
 *
 * Randomness. Ops that draw random numbers (dropout) take an rng_key and the
 *   global index of the first sample, and draw from the counter-based generator
 *   of kernels/rng.h: a sample sees the same numbers whatever the rank count. */
#ifndef LOLA_KERNELS_H
#define LOLA_KERNELS_H

#include "attention.h"
#include "backend.h"
#include "conv.h"
#include "dcae.h"
#include "elementwise.h"
#include "embedding.h"
#include "linear.h"
#include "loss.h"
#include "norm.h"
#include "optim.h"
#include "rng.h"
#include "rope.h"
#include "sampler.h"
#include "shuffle.h"
#include "vector.h"

#endif
