/* `generate` for The Well's euler_multi_quadrants_{openBC,periodicBC}: fields
 * energy, density, pressure (t0) and momentum (t1), constant scalar gamma, on
 * the unit square with cell-centre coordinates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "euler.h"
#include "generate_solver.h" /* first: h5util.h must precede stdnoreturn.h */
#include "error.h"

typedef struct {
  generate_solver base;
  euler_solver solver;
  euler_quadrant_ranges ranges;
  double gammas[GENERATE_MAX_SETS];
  float *x, *y;
  int periodic;
} euler_generator;

static void euler_layout(generate_solver *g, int set, well_layout *l) {
  euler_generator *e = (euler_generator *)g;
  l->nx = e->solver.par.nx, l->ny = e->solver.par.ny;
  l->x = e->x, l->y = e->y;
  l->bc[0] = l->bc[1] = e->periodic ? "PERIODIC" : "OPEN";
  l->nparams = 1;
  l->param_names[0] = "gamma";
  l->param_values[0] = e->gammas[set];
  /* The field order of the dataset's YAML (and the reference's configs). */
  l->nt0 = 3;
  l->t0_names[0] = "energy", l->t0_names[1] = "density", l->t0_names[2] = "pressure";
  l->nt1 = 1;
  l->t1_names[0] = "momentum";
}

static void euler_start(generate_solver *g, int set, long index, rng_stream *stream) {
  (void)index;
  euler_generator *e = (euler_generator *)g;
  e->solver.par.gamma = e->gammas[set];
  euler_quadrants q;
  euler_random_quadrants(&q, &e->ranges, e->solver.par.lx, e->solver.par.ly, stream);
  euler_set_quadrants(&e->solver, &q);
}

static int euler_step_to(generate_solver *g, double t, char *err, size_t n) {
  euler_generator *e = (euler_generator *)g;
  euler_failure f;
  if (euler_advance(&e->solver, t, &f) == 0) return 0;
  snprintf(err, n, "failed (%s) at t = %.6g in cell (x %d, y %d): density %.6g, pressure %.6g", f.reason, f.t,
           f.i, f.j, f.rho, f.p);
  return -1;
}

/* The solver stores rows of x; The Well stores x slowest: out[i*ny + j]. */
static void euler_snapshot(generate_solver *g, float *const *out) {
  euler_generator *e = (euler_generator *)g;
  const euler_solver *s = &e->solver;
  const int nx = s->par.nx, ny = s->par.ny;
  float *energy = out[0], *density = out[1], *pressure = out[2], *momentum = out[3];
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int i = 0; i < nx; i++) {
    for (int j = 0; j < ny; j++) {
      long k = (long)i * ny + j;
      energy[k] = (float)euler_row(s, EULER_E, j)[i];
      density[k] = (float)euler_row(s, EULER_RHO, j)[i];
      pressure[k] = (float)euler_pressure(s, i, j);
      momentum[2 * k] = (float)euler_row(s, EULER_MX, j)[i];
      momentum[2 * k + 1] = (float)euler_row(s, EULER_MY, j)[i];
    }
  }
}

static void euler_destroy_generator(generate_solver *g) {
  euler_generator *e = (euler_generator *)g;
  euler_destroy(&e->solver);
  free(e->x);
  free(e->y);
  free(e);
}

generate_solver *generate_euler_solver(const generate_config *cfg) {
  euler_generator *e = lola_calloc(1, sizeof *e, "euler generator");
  e->base =
      (generate_solver){euler_layout, euler_start, euler_step_to, euler_snapshot, euler_destroy_generator};
  euler_params par = {cfg->nx,
                      cfg->ny,
                      1.0,
                      1.0,
                      cfg->sets[0][0],
                      cfg->cfl,
                      cfg->periodic ? EULER_BC_PERIODIC : EULER_BC_OPEN};
  euler_create(&e->solver, &par);
  e->ranges = cfg->euler_ranges;
  e->periodic = cfg->periodic;
  for (int k = 0; k < cfg->nsets; k++) e->gammas[k] = cfg->sets[k][0];
  e->x = lola_malloc(sizeof(float) * (size_t)cfg->nx, "x coordinates");
  e->y = lola_malloc(sizeof(float) * (size_t)cfg->ny, "y coordinates");
  for (int i = 0; i < cfg->nx; i++) e->x[i] = (float)((i + 0.5) * e->solver.dx);
  for (int j = 0; j < cfg->ny; j++) e->y[j] = (float)((j + 0.5) * e->solver.dy);
  return &e->base;
}
