/* What the `generate` stage needs from a physics solver, behind one small
 * interface so the driver (generate.c) is the same for every physics. */
#ifndef LOLA_GENERATE_SOLVER_H
#define LOLA_GENERATE_SOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "../io/well_write.h"
#include "../kernels/rng.h"
#include "generate.h"

typedef struct generate_solver generate_solver;
struct generate_solver {
  /* Fill the physics part of a file's layout for parameter set `set`: fields,
   * coordinates, boundary kinds, parameters (pointers stay valid while the solver lives). */
  void (*layout)(generate_solver *s, int set, well_layout *l);
  /* Initial state of trajectory `index` (within its set), drawn from `stream`, at t = 0. */
  void (*start)(generate_solver *s, int set, long index, rng_stream *stream);
  /* Advance to time t; 0, or -1 with a message (what failed, where, when) in err. */
  int (*advance)(generate_solver *s, double t, char *err, size_t n);
  /* The current state into out[k] (field k of the layout, The Well's order). */
  void (*snapshot)(generate_solver *s, float *const *out);
  void (*destroy)(generate_solver *s);
};

generate_solver *generate_euler_solver(const generate_config *cfg);
generate_solver *generate_rayleigh_benard_solver(const generate_config *cfg);

#endif
