/* `generate` for The Well's rayleigh_benard: fields buoyancy, pressure (t0) and
 * velocity (t1), constant scalars Rayleigh and Prandtl, x periodic on [0, 4),
 * walls at y = 0 and 1, on the solver's grid (see rayleigh_benard.h). */
#include <stdio.h>
#include <stdlib.h>

#include "generate_solver.h" /* first: h5util.h must precede stdnoreturn.h */
#include "error.h"
#include "generate_seed.h"
#include "rayleigh_benard.h"

typedef struct {
  generate_solver base;
  rb_solver *solver; /* of the current trajectory */
  rb_params par;     /* common to every trajectory */
  rb_params current; /* of the current trajectory */
  double sets[GENERATE_MAX_SETS][2];
  double slopes[GENERATE_MAX_SLOPES];
  int nslopes;
  float *x, *y;
} rb_generator;

static void rb_layout(generate_solver *g, int set, well_layout *l) {
  rb_generator *r = (rb_generator *)g;
  l->nx = r->par.nx, l->ny = r->par.ny;
  l->x = r->x, l->y = r->y;
  l->bc[0] = "PERIODIC", l->bc[1] = "WALL";
  l->nparams = 2;
  l->param_names[0] = "Rayleigh", l->param_names[1] = "Prandtl";
  l->param_values[0] = r->sets[set][0], l->param_values[1] = r->sets[set][1];
  l->nt0 = 2;
  l->t0_names[0] = "buoyancy", l->t0_names[1] = "pressure";
  l->nt1 = 1;
  l->t1_names[0] = "velocity";
}

/* The Well varies the initial slope δb0 over a trajectory's initial conditions:
 * trajectories of a set cycle through the deck's list. */
static void rb_start(generate_solver *g, int set, long index, rng_stream *stream) {
  rb_generator *r = (rb_generator *)g;
  rb_destroy(r->solver);
  rb_params p = r->par;
  p.rayleigh = r->sets[set][0];
  p.prandtl = r->sets[set][1];
  p.initial_slope = r->slopes[index % r->nslopes];
  p.seed = stream_seed64(stream); /* the solver keys its noise by (seed, cell) */
  r->current = p;
  r->solver = rb_create(&p);
}

static int rb_step_to(generate_solver *g, double t, char *err, size_t n) {
  rb_generator *r = (rb_generator *)g;
  if (rb_advance_to(r->solver, t)) return 0;
  snprintf(err, n, "became non-finite at t = %.6g (Rayleigh %g, Prandtl %g)", rb_blowup_time(r->solver),
           r->current.rayleigh, r->current.prandtl);
  return -1;
}

static void rb_snapshot(generate_solver *g, float *const *out) {
  rb_generator *r = (rb_generator *)g;
  rb_get_buoyancy(r->solver, out[0]);
  rb_get_pressure(r->solver, out[1]);
  rb_get_velocity(r->solver, out[2]);
}

static void rb_destroy_generator(generate_solver *g) {
  rb_generator *r = (rb_generator *)g;
  rb_destroy(r->solver);
  free(r->x);
  free(r->y);
  free(r);
}

generate_solver *generate_rayleigh_benard_solver(const generate_config *cfg) {
  rb_generator *r = lola_calloc(1, sizeof *r, "rayleigh_benard generator");
  r->base = (generate_solver){rb_layout, rb_start, rb_step_to, rb_snapshot, rb_destroy_generator};
  r->par = rb_default_params(cfg->nx, cfg->ny);
  r->par.cfl = cfg->cfl;
  for (int k = 0; k < cfg->nsets; k++) r->sets[k][0] = cfg->sets[k][0], r->sets[k][1] = cfg->sets[k][1];
  r->nslopes = cfg->nslopes > 0 ? cfg->nslopes : 1;
  r->slopes[0] = 1.0;
  for (int k = 0; k < cfg->nslopes; k++) r->slopes[k] = cfg->slopes[k];
  /* The grid does not depend on the physical parameters: read it once. */
  r->par.rayleigh = cfg->sets[0][0], r->par.prandtl = cfg->sets[0][1];
  r->solver = rb_create(&r->par);
  r->x = lola_malloc(sizeof(float) * (size_t)cfg->nx, "x coordinates");
  r->y = lola_malloc(sizeof(float) * (size_t)cfg->ny, "y coordinates");
  rb_get_x_coords(r->solver, r->x);
  rb_get_y_coords(r->solver, r->y);
  return &r->base;
}
