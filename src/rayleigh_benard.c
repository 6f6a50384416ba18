/* Rayleigh–Bénard solver: parameters, life cycle, initial state, field accessors in The
 * Well's (x, y[, component]) order, and diagnostics. The scheme lives in
 * rayleigh_benard_{grid,ops,solve,step}.c. */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "rayleigh_benard_internal.h"

rb_params rb_default_params(int nx, int ny) {
  rb_params p = {.nx = nx,
                 .ny = ny,
                 .lx = RB_WELL_LX,
                 .rayleigh = 1e6,
                 .prandtl = 1.0,
                 .initial_slope = 1.0,
                 .noise_amplitude = 1e-3,
                 .seed = 0,
                 .cfl = 0.0,
                 .dt_max = 0.0};
  return p;
}

static void validate(const rb_params *p) {
  if (p->nx < 4 || p->nx % 2 != 0)
    lola_die(LOLA_EXIT_DECK, "rayleigh_benard: nx = %d must be even and at least 4", p->nx);
  if (p->ny < 4) lola_die(LOLA_EXIT_DECK, "rayleigh_benard: ny = %d must be at least 4", p->ny);
  if (!(p->lx > 0 && isfinite(p->lx)))
    lola_die(LOLA_EXIT_DECK, "rayleigh_benard: lx = %g must be positive", p->lx);
  if (!(p->rayleigh > 0 && isfinite(p->rayleigh)))
    lola_die(LOLA_EXIT_DECK, "rayleigh_benard: Rayleigh = %g must be positive and finite", p->rayleigh);
  if (!(p->prandtl > 0 && isfinite(p->prandtl)))
    lola_die(LOLA_EXIT_DECK, "rayleigh_benard: Prandtl = %g must be positive and finite", p->prandtl);
  if (!isfinite(p->initial_slope))
    lola_die(LOLA_EXIT_DECK, "rayleigh_benard: initial_slope = %g must be finite", p->initial_slope);
  if (!(p->noise_amplitude >= 0 && isfinite(p->noise_amplitude)))
    lola_die(LOLA_EXIT_DECK, "rayleigh_benard: noise_amplitude = %g must be finite and >= 0",
             p->noise_amplitude);
  if (!(p->cfl >= 0 && p->cfl <= 1.5))
    lola_die(LOLA_EXIT_DECK, "rayleigh_benard: cfl = %g must lie in (0, 1.5] (0 = default)", p->cfl);
  if (!(p->dt_max >= 0 && isfinite(p->dt_max)))
    lola_die(LOLA_EXIT_DECK, "rayleigh_benard: dt_max = %g must be finite and >= 0 (0 = default)", p->dt_max);
}

/* Counter-based normal deviates keyed by (seed, cell): splitmix64 + Box–Muller, so the
 * initial noise of a cell does not depend on the rank or thread that draws it. */
static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static double normal_deviate(uint64_t seed, uint64_t cell) {
  uint64_t a = splitmix64(seed * 0x2545F4914F6CDD1Dull ^ splitmix64(2 * cell));
  uint64_t b = splitmix64(a ^ splitmix64(2 * cell + 1));
  double u1 = ((a >> 11) + 0.5) * 0x1.0p-53, u2 = (b >> 11) * 0x1.0p-53; /* u1 in (0, 1) */
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* The Well's initial state: b = (1 - y)·δb0 + y(1 - y)·ε, u = v = p = 0. */
static void initial_state(rb_solver *s) {
  const rb_params *p = &s->par;
  for (int j = 0; j < s->ny; j++) {
    const double y = s->yc[j];
    for (int i = 0; i < s->nx; i++) {
      const double eps =
          p->noise_amplitude * normal_deviate(p->seed, (uint64_t)i * (uint64_t)s->ny + (uint64_t)j);
      s->b[(size_t)j * s->nx + i] = (float)((1.0 - y) * p->initial_slope + y * (1.0 - y) * eps);
    }
  }
}

static void *zeroed(size_t count, size_t size, const char *what) { return lola_calloc(count, size, what); }

static void factor_alloc(rb_factor *f, int nm, int ny) {
  f->lower = zeroed(ny + 1, sizeof(double), "rayleigh_benard tridiagonal");
  f->diag = zeroed(ny + 1, sizeof(double), "rayleigh_benard tridiagonal");
  f->upper = zeroed(ny + 1, sizeof(double), "rayleigh_benard tridiagonal");
  f->inv = zeroed((size_t)nm * (ny + 1), sizeof(double), "rayleigh_benard factors");
  f->cp = zeroed((size_t)nm * (ny + 1), sizeof(double), "rayleigh_benard factors");
}

static void factor_free(rb_factor *f) {
  free(f->lower);
  free(f->diag);
  free(f->upper);
  free(f->inv);
  free(f->cp);
}

rb_solver *rb_create(const rb_params *params) {
  validate(params);
  rb_solver *s = zeroed(1, sizeof *s, "rayleigh_benard solver");
  s->par = *params;
  const int nx = params->nx, ny = params->ny;
  const size_t cells = (size_t)nx * ny, faces = (size_t)nx * (ny + 1);
  s->nx = nx;
  s->ny = ny;
  s->nm = nx / 2 + 1;
  s->dx = params->lx / nx;
  s->kappa = 1.0 / sqrt(params->rayleigh * params->prandtl);
  s->nu = 1.0 / sqrt(params->rayleigh / params->prandtl);
  s->blowup_t = NAN;
  s->plan_t_end = NAN;
  s->finite = true;
  s->threaded = cells >= 16384;

  s->yc = zeroed(ny, sizeof(double), "rayleigh_benard y centres");
  s->yf = zeroed(ny + 1, sizeof(double), "rayleigh_benard y faces");
  s->dyc = zeroed(ny, sizeof(double), "rayleigh_benard cell heights");
  s->hf = zeroed(ny + 1, sizeof(double), "rayleigh_benard centre spacings");
  s->lo_c = zeroed(ny, sizeof(double), "rayleigh_benard couplings");
  s->up_c = zeroed(ny, sizeof(double), "rayleigh_benard couplings");
  s->lo_f = zeroed(ny + 1, sizeof(double), "rayleigh_benard couplings");
  s->up_f = zeroed(ny + 1, sizeof(double), "rayleigh_benard couplings");
  s->kx2 = zeroed(s->nm, sizeof(double), "rayleigh_benard wavenumbers");
  for (int k = 0; k < 10; k++) factor_alloc(k < 9 ? &s->helmholtz[k / 3][k % 3] : &s->poisson, s->nm, ny);

  float **cell_fields[] = {&s->u, &s->b, &s->p, &s->hu, &s->hb, &s->hu_old, &s->hb_old};
  for (size_t f = 0; f < sizeof cell_fields / sizeof *cell_fields; f++)
    *cell_fields[f] = zeroed(cells, sizeof(float), "rayleigh_benard fields");
  float **face_fields[] = {&s->v, &s->hv, &s->hv_old};
  for (size_t f = 0; f < sizeof face_fields / sizeof *face_fields; f++)
    *face_fields[f] = zeroed(faces, sizeof(float), "rayleigh_benard fields");
  s->zero_row = zeroed(nx, sizeof(float), "rayleigh_benard wall rows");
  s->one_row = zeroed(nx, sizeof(float), "rayleigh_benard wall rows");
  for (int i = 0; i < nx; i++) s->one_row[i] = 1.0f;
  s->work_r = zeroed(faces, sizeof(float), "rayleigh_benard scratch");
  s->work_c = zeroed((size_t)s->nm * (ny + 1), sizeof(fftwf_complex), "rayleigh_benard spectra");
  s->sweep_x = zeroed((size_t)s->nm * (ny + 1) * 2, sizeof(double), "rayleigh_benard sweeps");

  rb_grid_init(s);
  rb_plans_create(s);
  rb_poisson_factor(s);
  initial_state(s);
  return s;
}

void rb_destroy(rb_solver *s) {
  if (!s) return;
  rb_plans_destroy(s);
  for (int k = 0; k < 10; k++) factor_free(k < 9 ? &s->helmholtz[k / 3][k % 3] : &s->poisson);
  void *blocks[] = {s->yc,     s->yf,     s->dyc,    s->hf,      s->lo_c,     s->up_c,
                    s->lo_f,   s->up_f,   s->kx2,    s->u,       s->v,        s->b,
                    s->p,      s->hu,     s->hv,     s->hb,      s->hu_old,   s->hv_old,
                    s->hb_old, s->work_r, s->work_c, s->sweep_x, s->zero_row, s->one_row};
  for (size_t k = 0; k < sizeof blocks / sizeof *blocks; k++) free(blocks[k]);
  free(s);
}

double rb_time(const rb_solver *s) { return s->t; }
long rb_step_count(const rb_solver *s) { return s->steps; }
double rb_blowup_time(const rb_solver *s) { return s->blowup_t; }
bool rb_state_is_finite(const rb_solver *s) { return s->finite; }

/* Internal [j][i] rows -> The Well's [i][j] order. */
void rb_get_buoyancy(const rb_solver *s, float *out) {
  for (int i = 0; i < s->nx; i++)
    for (int j = 0; j < s->ny; j++) out[(size_t)i * s->ny + j] = s->b[(size_t)j * s->nx + i];
}

void rb_get_pressure(const rb_solver *s, float *out) {
  double mean = 0.0; /* volume-weighted, serial: the gauge ∫p = 0 */
  for (int j = 0; j < s->ny; j++) {
    double row = 0.0;
    for (int i = 0; i < s->nx; i++) row += s->p[(size_t)j * s->nx + i];
    mean += row * s->dyc[j];
  }
  mean /= s->nx;
  for (int i = 0; i < s->nx; i++)
    for (int j = 0; j < s->ny; j++) out[(size_t)i * s->ny + j] = (float)(s->p[(size_t)j * s->nx + i] - mean);
}

/* Staggered components averaged to the centres (mid-points in x and in θ). */
void rb_get_velocity(const rb_solver *s, float *out) {
  const int nx = s->nx, ny = s->ny;
  for (int i = 0; i < nx; i++) {
    const int im = i == 0 ? nx - 1 : i - 1;
    for (int j = 0; j < ny; j++) {
      const size_t k = (size_t)j * nx;
      out[((size_t)i * ny + j) * 2 + 0] = 0.5f * (s->u[k + im] + s->u[k + i]);
      out[((size_t)i * ny + j) * 2 + 1] = 0.5f * (s->v[k + i] + s->v[k + nx + i]);
    }
  }
}

void rb_get_x_coords(const rb_solver *s, float *out) {
  for (int i = 0; i < s->nx; i++) out[i] = (float)(i * s->dx);
}

void rb_get_y_coords(const rb_solver *s, float *out) {
  for (int j = 0; j < s->ny; j++) out[j] = (float)s->yc[j];
}

double rb_kinetic_energy(const rb_solver *s) {
  const int nx = s->nx, ny = s->ny;
  double e = 0.0;
  for (int j = 0; j < ny; j++) {
    double ru = 0.0, rv = 0.0;
    for (int i = 0; i < nx; i++) {
      ru += (double)s->u[(size_t)j * nx + i] * s->u[(size_t)j * nx + i];
      if (j > 0) rv += (double)s->v[(size_t)j * nx + i] * s->v[(size_t)j * nx + i];
    }
    e += ru * s->dyc[j] + rv * s->hf[j];
  }
  return 0.5 * e / nx; /* cell width dx over domain width lx = 1/nx; height 1 */
}

double rb_nusselt(const rb_solver *s) {
  const int nx = s->nx, ny = s->ny;
  double flux = 0.0;
  for (int j = 1; j < ny; j++) {
    double row = 0.0;
    for (int i = 0; i < nx; i++) {
      const size_t k = (size_t)j * nx + i;
      row += (double)s->v[k] * 0.5 * ((double)s->b[k] + s->b[k - nx]);
    }
    flux += row * s->hf[j];
  }
  return 1.0 + flux / nx / s->kappa;
}

double rb_nusselt_wall(const rb_solver *s) {
  const int nx = s->nx, ny = s->ny;
  double bottom = 0.0, top = 0.0;
  for (int i = 0; i < nx; i++) {
    bottom += (1.0 - s->b[i]) / s->hf[0];
    top += s->b[(size_t)(ny - 1) * nx + i] / s->hf[ny];
  }
  return 0.5 * (bottom + top) / nx;
}

double rb_max_divergence(const rb_solver *s) {
  double worst = 0.0;
  for (int j = 0; j < s->ny; j++)
    for (int i = 0; i < s->nx; i++) worst = fmax(worst, fabs(rb_divergence_at(s, i, j)));
  return worst;
}
