/* Random multi-quadrant Riemann problems, the initial data of The Well's
 * euler_multi_quadrants_* (after Lax & Liu, SIAM J. Sci. Comput. 19, 1998):
 * four constant states around a random split point. */
#ifndef LOLA_EULER_QUADRANTS_H
#define LOLA_EULER_QUADRANTS_H

#include "../kernels/rng.h"
#include "euler.h"

/* Ranges [lo, hi] the states are drawn from, uniformly and independently. */
typedef struct {
  double density[2], pressure[2], velocity[2];
  double split[2]; /* the split point's x0 and y0, as fractions of the side */
} euler_quadrant_ranges;

/* Draw the split point, then the four states, from `stream` (see
 * generate_seed.h); the same stream always gives the same problem. */
void euler_random_quadrants(euler_quadrants *q, const euler_quadrant_ranges *r, double lx, double ly,
                            rng_stream *stream);

#endif
