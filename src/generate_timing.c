#include <stdio.h>

#include "generate_deck.h"
#include "generate_seed.h"
#include "generate_solver.h"
#include "progress.h"

double generate_seconds_per_state(const generate_config *c, int states) {
  generate_solver *s =
      c->physics == GENERATE_RAYLEIGH_BENARD ? generate_rayleigh_benard_solver(c) : generate_euler_solver(c);
  rng_stream stream = trajectory_stream(c->seed, 2, 0); /* test trajectory 0, as generate draws it */
  double tic = wall_time();
  s->start(s, 0, 0, &stream);
  char why[256];
  int ok = 1;
  for (int k = 1; k <= states && ok; k++) ok = s->advance(s, k * c->dt, why, sizeof why) == 0;
  double seconds = wall_time() - tic;
  s->destroy(s);
  return ok ? seconds / states : -1.0;
}
