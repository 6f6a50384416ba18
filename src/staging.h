/* A batch buffer that the host fills and the kernels read: two host buffers
 * (page-locked on the GPU, so the upload is a plain DMA), so that one can be
 * filled while the other's batch is in use (src/batch_prefetch.h), and their
 * mirror in the kernels' memory. On the CPU backend the mirror is the host
 * buffer last uploaded, and the upload is free. */
#ifndef LOLA_STAGING_H
#define LOLA_STAGING_H

#include <stddef.h>

typedef struct {
  float *host[2], *dev; /* host[1] is NULL with one buffer */
  size_t floats;
  int buffers;
  float *own_dev; /* device allocation; NULL on the CPU backend */
} staged;

/* `buffers` (1 or 2) host buffers of `floats` floats, zeroed; dies naming
 * `what` when it cannot. */
void staged_init(staged *s, size_t floats, int buffers, const char *what);
/* Make the first `floats` floats of host buffer `buffer` the kernels' (s->dev).
 * Asynchronous: refill that host buffer only after a value came back from the
 * device (a loss), which the training objectives do every batch. */
void staged_upload(staged *s, int buffer, size_t floats);
void staged_free(staged *s);

#endif
