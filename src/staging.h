/* A batch buffer that the host fills and the kernels read: host memory
 * (page-locked on the GPU, so the upload is a plain DMA) and its mirror in the
 * kernels' memory, which is the host buffer itself on the CPU backend (the
 * upload is then free). */
#ifndef LOLA_STAGING_H
#define LOLA_STAGING_H

#include <stddef.h>

typedef struct {
  float *host, *dev;
  size_t floats;
} staged;

/* `floats` floats on both sides, zeroed; dies naming `what` when it cannot. */
void staged_init(staged *s, size_t floats, const char *what);
/* Copy the first `floats` host floats to the device (nothing on the CPU
 * backend). Asynchronous: refill the host side only after a value came back
 * from the device (a loss), which the training objectives do every batch. */
void staged_upload(const staged *s, size_t floats);
void staged_free(staged *s);

#endif
