#include <math.h>

#include "image.h"

/* matplotlib's viridis at nine evenly spaced points; linear in between. */
static const uint8_t anchors[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                      {44, 113, 142}, {33, 145, 140}, {39, 173, 129},
                                      {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};

void colormap_viridis(double v, uint8_t *rgb) {
  if (isnan(v)) {
    rgb[0] = rgb[1] = rgb[2] = 0;
    return;
  }
  v = v < 0 ? 0 : v > 1 ? 1 : v;
  double x = v * 8;
  int i = (int)x;
  if (i > 7) i = 7;
  double f = x - i;
  for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)lround(anchors[i][c] * (1 - f) + anchors[i + 1][c] * f);
}

void colormap_palette(uint8_t *palette) {
  for (int i = 0; i < 256; i++) colormap_viridis(i / 255.0, palette + 3 * i);
}
