/* Calling single-threaded sgemm from inside our own OpenMP regions.
 *
 * The heavy kernels (convolution, attention) split their work over OpenMP
 * threads and call sgemm on each thread's share. OpenBLAS must then run each
 * call on the calling thread only, or its own thread pool would oversubscribe
 * the cores; these two calls bracket such a region and restore the program's
 * setting afterwards. Private to kernels/cpu. */
#ifndef LOLA_K_BLAS_SERIAL_H
#define LOLA_K_BLAS_SERIAL_H

#include <cblas.h>

static inline int blas_serial_begin(void) {
  int previous = openblas_get_num_threads();
  if (previous != 1) openblas_set_num_threads(1);
  return previous;
}

static inline void blas_serial_end(int previous) {
  if (previous != 1) openblas_set_num_threads(previous);
}

#endif
