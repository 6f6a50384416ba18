#include "staging.h"

#include "../kernels/backend.h"
#include "error.h"

void staged_init(staged *s, size_t floats, const char *what) {
  s->floats = floats;
  s->host = k_host_alloc(floats * sizeof(float), what);
  s->dev = k_backend_on_device() ? k_device_alloc(floats * sizeof(float), what) : s->host;
}

void staged_upload(const staged *s, size_t floats) {
  if (floats > s->floats)
    lola_die(LOLA_EXIT_RUNTIME, "staging: %zu floats uploaded from a buffer of %zu", floats, s->floats);
  if (s->dev != s->host) k_upload(s->dev, s->host, floats * sizeof(float));
}

void staged_free(staged *s) {
  if (s->dev != s->host) k_device_free(s->dev);
  k_host_free(s->host);
  s->host = s->dev = NULL;
  s->floats = 0;
}
