#include "staging.h"

#include "../kernels/backend.h"
#include "error.h"

void staged_init(staged *s, size_t floats, int buffers, const char *what) {
  *s = (staged){.floats = floats, .buffers = buffers};
  for (int b = 0; b < buffers; b++) s->host[b] = k_host_alloc(floats * sizeof(float), what);
  s->own_dev = k_backend_on_device() ? k_device_alloc(floats * sizeof(float), what) : NULL;
  s->dev = s->own_dev ? s->own_dev : s->host[0];
}

void staged_upload(staged *s, int buffer, size_t floats) {
  if (floats > s->floats || buffer < 0 || buffer >= s->buffers)
    lola_die(LOLA_EXIT_RUNTIME, "staging: %zu floats from host buffer %d of %d (%zu floats each)", floats,
             buffer, s->buffers, s->floats);
  if (s->own_dev)
    k_upload(s->dev, s->host[buffer], floats * sizeof(float));
  else
    s->dev = s->host[buffer];
}

void staged_free(staged *s) {
  if (s->own_dev) k_device_free(s->own_dev);
  for (int b = 0; b < s->buffers; b++) k_host_free(s->host[b]);
  *s = (staged){0};
}
