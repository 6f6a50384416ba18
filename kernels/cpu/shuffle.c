/* Patchify / Unpatchify as one index permutation walked in both directions
 * (kernels/shuffle.h). */
#include "../shuffle.h"
#include "kernels_cpu.h"

#include "../../src/error.h"

typedef struct {
  int64_t batch, channels, in[3], grid[3];
  int patch[3];
  int64_t patched_channels;
  bool channel_last;
} patch_geom;

static patch_geom geom_of(const k_patch_shape *s) {
  if (s->dims < 1 || s->dims > 3)
    lola_die(LOLA_EXIT_RUNTIME, "patchify: %d spatial dims (1 to 3 supported)", s->dims);
  patch_geom g = {.batch = s->batch, .channels = s->channels, .channel_last = s->channel_last};
  int lead = 3 - s->dims;
  g.patched_channels = s->channels;
  for (int d = 0; d < 3; d++) {
    int e = d - lead;
    g.in[d] = e < 0 ? 1 : s->in[e];
    g.patch[d] = e < 0 ? 1 : s->patch[e];
    if (g.patch[d] < 1 || g.in[d] < 1 || g.in[d] % g.patch[d] != 0)
      lola_die(LOLA_EXIT_RUNTIME, "patchify: extent %lld of spatial dim %d is not a multiple of the patch %d",
               (long long)g.in[d], e, g.patch[d]);
    g.grid[d] = g.in[d] / g.patch[d];
    g.patched_channels *= g.patch[d];
  }
  return g;
}

/* Walk the full-resolution tensor row by row; `to_patched` copies full →
 * patched, otherwise patched → full. */
/* Copy between the full layout and the patched one: dst is patched when
 * to_patched, full otherwise (src the other). */
static void permute(float *dst, const float *src, const k_patch_shape *s, bool to_patched) {
  patch_geom g = geom_of(s);
  const int64_t cells = g.grid[0] * g.grid[1] * g.grid[2];
  const int64_t rows = g.batch * g.channels * g.in[0] * g.in[1];
#pragma omp parallel for schedule(static) if (rows * g.in[2] > 65536)
  for (int64_t row = 0; row < rows; row++) {
    int64_t z1 = row % g.in[1], rest = row / g.in[1];
    int64_t z0 = rest % g.in[0];
    rest /= g.in[0];
    int64_t c = rest % g.channels, b = rest / g.channels;
    int64_t g0 = z0 / g.patch[0], p0 = z0 % g.patch[0], g1 = z1 / g.patch[1], p1 = z1 % g.patch[1];
    int64_t full_row = row * g.in[2];
    for (int64_t z2 = 0; z2 < g.in[2]; z2++) {
      int64_t g2 = z2 / g.patch[2], p2 = z2 % g.patch[2];
      int64_t cp = ((c * g.patch[0] + p0) * g.patch[1] + p1) * g.patch[2] + p2;
      int64_t cell = (g0 * g.grid[1] + g1) * g.grid[2] + g2;
      int64_t at = g.channel_last ? (b * cells + cell) * g.patched_channels + cp
                                  : (b * g.patched_channels + cp) * cells + cell;
      if (to_patched)
        dst[at] = src[full_row + z2];
      else
        dst[full_row + z2] = src[at];
    }
  }
}

void kcpu_patchify_fwd(float *y, const float *x, const k_patch_shape *s) { permute(y, x, s, true); }
void kcpu_patchify_bwd(float *dx, const float *dy, const k_patch_shape *s) { permute(dx, dy, s, false); }
void kcpu_unpatchify_fwd(float *y, const float *x, const k_patch_shape *s) { permute(y, x, s, false); }
void kcpu_unpatchify_bwd(float *dx, const float *dy, const k_patch_shape *s) { permute(dx, dy, s, true); }
