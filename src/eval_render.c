#include "eval_render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/image.h"
#include "error.h"

enum { CELL_PIXELS = 128, GAP = 2 };

int eval_render_zoom(int64_t h, int64_t w) {
  int64_t m = h > w ? h : w;
  int z = m > 0 ? (int)(CELL_PIXELS / m) : 1;
  return z < 1 ? 1 : z;
}

typedef struct {
  int64_t H, W, stride_h, stride_w, offset; /* a 2D view of one state */
  int zoom;
} view;

static view view_of(int ndims, const int64_t *shape) {
  view v = {.H = 1, .W = shape[0], .stride_w = 1};
  if (ndims == 2) v = (view){.H = shape[0], .W = shape[1], .stride_h = shape[1], .stride_w = 1};
  if (ndims == 3) /* the middle of the last axis */
    v = (view){.H = shape[0],
               .W = shape[1],
               .stride_h = shape[1] * shape[2],
               .stride_w = shape[2],
               .offset = shape[2] / 2};
  v.zoom = eval_render_zoom(v.H, v.W);
  return v;
}

/* Colour index 0..255 of value x in [lo, hi]. */
static double unit(float x, double lo, double hi) { return hi > lo ? ((double)x - lo) / (hi - lo) : 0.5; }

void eval_render(const char *prefix, const float *truth, const float *members, int M, int C, long L,
                 int ndims, const int64_t *shape, const char *const *names, int delay_cs) {
  int64_t points = 1;
  for (int k = 0; k < ndims; k++) points *= shape[k];
  const view v = view_of(ndims, shape);
  const int64_t ch = v.H * v.zoom, cw = v.W * v.zoom; /* cell size */
  const int rows = 1 + M;
  const float **src = lola_malloc(sizeof(float *) * (size_t)rows, "render rows");
  double *lo = lola_malloc(sizeof(double) * (size_t)C * 2, "render ranges"), *hi = lo + C;
  for (int c = 0; c < C; c++) { /* one colour range per field */
    lo[c] = INFINITY;
    hi[c] = -INFINITY;
    for (int r = 0; r < rows; r++) {
      const float *f =
          r == 0 ? truth + (int64_t)c * L * points : members + ((int64_t)(r - 1) * C + c) * L * points;
      for (int64_t i = 0; i < L * points; i++)
        if (isfinite(f[i])) {
          if (f[i] < lo[c]) lo[c] = f[i];
          if (f[i] > hi[c]) hi[c] = f[i];
        }
    }
  }
  /* PNG strips: rows × L cells. */
  const int64_t sw = L * (cw + GAP) - GAP, sh = rows * (ch + GAP) - GAP;
  uint8_t *rgb = lola_calloc((size_t)(sw * sh * 3), 1, "render strip");
  for (int c = 0; c < C; c++) {
    memset(rgb, 255, (size_t)(sw * sh * 3));
    for (int r = 0; r < rows; r++) {
      const float *f =
          r == 0 ? truth + (int64_t)c * L * points : members + ((int64_t)(r - 1) * C + c) * L * points;
      for (long l = 0; l < L; l++)
        for (int64_t y = 0; y < ch; y++)
          for (int64_t x = 0; x < cw; x++) {
            const float val =
                f[l * points + v.offset + (y / v.zoom) * v.stride_h + (x / v.zoom) * v.stride_w];
            uint8_t *px = rgb + (((int64_t)r * (ch + GAP) + y) * sw + l * (cw + GAP) + x) * 3;
            colormap_viridis(unit(val, lo[c], hi[c]), px);
          }
    }
    char path[4400];
    snprintf(path, sizeof path, "%s_%s.png", prefix, names ? names[c] : "field");
    png_write(path, rgb, (int)sw, (int)sh);
  }
  free(rgb);
  /* GIF: a frame per state, fields across, truth and members down; the gaps
   * take palette index 255 (viridis' brightest yellow) as a separator. */
  const int64_t gw = C * (cw + GAP) - GAP, gh = sh;
  uint8_t *frames = lola_malloc((size_t)(L * gw * gh), "render frames");
  memset(frames, 255, (size_t)(L * gw * gh));
  for (long l = 0; l < L; l++)
    for (int c = 0; c < C; c++)
      for (int r = 0; r < rows; r++) {
        const float *f =
            r == 0 ? truth + (int64_t)c * L * points : members + ((int64_t)(r - 1) * C + c) * L * points;
        for (int64_t y = 0; y < ch; y++)
          for (int64_t x = 0; x < cw; x++) {
            const float val =
                f[l * points + v.offset + (y / v.zoom) * v.stride_h + (x / v.zoom) * v.stride_w];
            double u = unit(val, lo[c], hi[c]);
            int idx = isfinite(u) ? (int)lround(fmin(fmax(u, 0.0), 1.0) * 254.0) : 0;
            frames[(l * gh + (int64_t)r * (ch + GAP) + y) * gw + (int64_t)c * (cw + GAP) + x] = (uint8_t)idx;
          }
      }
  uint8_t palette[768];
  colormap_palette(palette);
  char path[4400];
  snprintf(path, sizeof path, "%s.gif", prefix);
  gif_write(path, frames, (int)L, (int)gw, (int)gh, palette, delay_cs);
  free(frames);
  free(src);
  free(lo);
}
