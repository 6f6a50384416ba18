#include "euler_quadrants.h"

static double draw(rng_stream *s, const double range[2]) {
  return range[0] + (range[1] - range[0]) * rng_next_uniform(s);
}

void euler_random_quadrants(euler_quadrants *q, const euler_quadrant_ranges *r, double lx, double ly,
                            rng_stream *stream) {
  q->x0 = lx * draw(stream, r->split);
  q->y0 = ly * draw(stream, r->split);
  for (int k = 0; k < 4; k++) {
    q->q[k].rho = draw(stream, r->density);
    q->q[k].u = draw(stream, r->velocity);
    q->q[k].v = draw(stream, r->velocity);
    q->q[k].p = draw(stream, r->pressure);
  }
}
