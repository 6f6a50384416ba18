/* Explicit finite-volume operators of the Rayleigh–Bénard solver on the staggered grid of
 * rayleigh_benard_internal.h: advection in divergence form with mid-point averages (second
 * order in x and in the Chebyshev angle θ), buoyancy, diffusion, divergence and gradient.
 *
 * Every operator runs over rows j (OpenMP splits rows on grids large enough) and, within a
 * row, over x as three pieces: i = 0, the interior (branch-free, vectorised) and i = nx - 1,
 * where the periodic neighbours wrap. Rows beyond the walls are replaced by constant rows
 * (s->zero_row, s->one_row) holding the Dirichlet values, so no loop tests for walls. */
#include <math.h>

#include "rayleigh_benard_internal.h"

static inline const float *row_of(const float *field, int j, int nx) { return field + (size_t)j * nx; }

/* Neighbouring rows of centre row j: the field below/above or the wall value row. */
typedef struct {
  const float *u, *u_dn, *u_up;  /* u rows j, j-1, j+1 (zero beyond the walls) */
  const float *b, *b_dn, *b_up;  /* b rows j, j-1, j+1 (only multiplied by the wall v = 0) */
  const float *v_dn, *v_up;      /* v faces j and j+1 (the wall faces store zeros) */
  const float *v_face_dn;        /* v face j-1 (used for the v-point at face j >= 1) */
  float inv_dx, inv_dyc, inv_hf; /* 1/dx, 1/dyc[j], 1/hf[j] */
} rb_rows;

static rb_rows rows_around(const rb_solver *s, int j) {
  const int nx = s->nx, ny = s->ny;
  rb_rows r;
  r.u = row_of(s->u, j, nx);
  r.u_dn = j > 0 ? row_of(s->u, j - 1, nx) : s->zero_row;
  r.u_up = j + 1 < ny ? row_of(s->u, j + 1, nx) : s->zero_row;
  r.b = row_of(s->b, j, nx);
  r.b_dn = j > 0 ? row_of(s->b, j - 1, nx) : s->zero_row;
  r.b_up = j + 1 < ny ? row_of(s->b, j + 1, nx) : s->zero_row;
  r.v_dn = row_of(s->v, j, nx);
  r.v_up = row_of(s->v, j + 1, nx);
  r.v_face_dn = j > 0 ? row_of(s->v, j - 1, nx) : s->zero_row;
  r.inv_dx = (float)(1.0 / s->dx);
  r.inv_dyc = (float)(1.0 / s->dyc[j]);
  r.inv_hf = (float)(1.0 / s->hf[j]);
  return r;
}

/* -(∂(uu)/∂x + ∂(vu)/∂y) at the u-point (i+1/2, j). */
static inline float advect_u(const rb_rows *r, int i, int im, int ip) {
  float uc_r = 0.5f * (r->u[i] + r->u[ip]), uc_l = 0.5f * (r->u[im] + r->u[i]);
  float f_top = 0.5f * (r->v_up[i] + r->v_up[ip]) * 0.5f * (r->u[i] + r->u_up[i]);
  float f_bot = 0.5f * (r->v_dn[i] + r->v_dn[ip]) * 0.5f * (r->u_dn[i] + r->u[i]);
  return -((uc_r * uc_r - uc_l * uc_l) * r->inv_dx + (f_top - f_bot) * r->inv_dyc);
}

/* -(∂(ub)/∂x + ∂(vb)/∂y) at the centre (i, j); the wall v = 0 stops flux through the walls. */
static inline float advect_b(const rb_rows *r, int i, int im, int ip) {
  float fx = r->u[i] * 0.5f * (r->b[i] + r->b[ip]) - r->u[im] * 0.5f * (r->b[im] + r->b[i]);
  float f_top = r->v_up[i] * 0.5f * (r->b[i] + r->b_up[i]);
  float f_bot = r->v_dn[i] * 0.5f * (r->b_dn[i] + r->b[i]);
  return -(fx * r->inv_dx + (f_top - f_bot) * r->inv_dyc);
}

/* -(∂(uv)/∂x + ∂(vv)/∂y) + b at the v-point (i, face j), 1 <= j < ny: rows "dn" of the
 * centre row j are the centre row j-1 below the face. */
static inline float advect_v(const rb_rows *r, int i, int im, int ip) {
  const float *v = r->v_dn, *v_up = r->v_up, *v_dn = r->v_face_dn;
  float g_r = 0.5f * (r->u_dn[i] + r->u[i]) * 0.5f * (v[i] + v[ip]);
  float g_l = 0.5f * (r->u_dn[im] + r->u[im]) * 0.5f * (v[im] + v[i]);
  float vc_t = 0.5f * (v[i] + v_up[i]), vc_b = 0.5f * (v_dn[i] + v[i]);
  return -((g_r - g_l) * r->inv_dx + (vc_t * vc_t - vc_b * vc_b) * r->inv_hf) + 0.5f * (r->b[i] + r->b_dn[i]);
}

void rb_explicit_terms(rb_solver *s) {
  const int nx = s->nx, ny = s->ny;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = 0; j < ny; j++) {
    const rb_rows r = rows_around(s, j);
    float *hu = s->hu + (size_t)j * nx, *hb = s->hb + (size_t)j * nx, *hv = s->hv + (size_t)j * nx;
    hu[0] = advect_u(&r, 0, nx - 1, 1);
    hb[0] = advect_b(&r, 0, nx - 1, 1);
#pragma omp simd
    for (int i = 1; i < nx - 1; i++) {
      hu[i] = advect_u(&r, i, i - 1, i + 1);
      hb[i] = advect_b(&r, i, i - 1, i + 1);
    }
    hu[nx - 1] = advect_u(&r, nx - 1, nx - 2, 0);
    hb[nx - 1] = advect_b(&r, nx - 1, nx - 2, 0);
    if (j == 0) continue; /* v is fixed on the wall face */
    hv[0] = advect_v(&r, 0, nx - 1, 1);
#pragma omp simd
    for (int i = 1; i < nx - 1; i++) hv[i] = advect_v(&r, i, i - 1, i + 1);
    hv[nx - 1] = advect_v(&r, nx - 1, nx - 2, 0);
  }
}

/* One Runge–Kutta right-hand side at a point: dt (γ h + ζ h_old - 2α ∂p + 2α D L f), with the
 * diffusion L f = (f[ip] - 2 f[i] + f[im])/dx² + up (f_up - f) - lo (f - f_dn). */
typedef struct {
  const float *f, *f_dn, *f_up, *h, *h_old;
  const float *p_hi, *p_lo; /* the pressure gradient is (p_hi[i] - p_lo[i]) · grad_scale */
  float *out;
  double dt, gamma, zeta, grad, diff, inv_dx2, up, lo, grad_scale;
} rb_rhs_row;

static inline void rhs_point(const rb_rhs_row *r, int i, int im, int ip, double dp) {
  double f = r->f[i];
  double lap =
      (r->f[ip] - 2.0 * f + r->f[im]) * r->inv_dx2 + r->up * (r->f_up[i] - f) - r->lo * (f - r->f_dn[i]);
  double ex = r->gamma * r->h[i] + r->zeta * r->h_old[i];
  r->out[i] = (float)(r->dt * (ex - r->grad * r->grad_scale * dp + r->diff * lap));
}

void rb_stage_rhs(rb_solver *s, rb_field f, double dt, double gamma, double zeta, double alpha) {
  const int nx = s->nx, ny = s->ny;
  const float *field = f == RB_FIELD_U ? s->u : f == RB_FIELD_V ? s->v : s->b;
  const float *h = f == RB_FIELD_U ? s->hu : f == RB_FIELD_V ? s->hv : s->hb;
  /* h_old is unset before the first stage, where ζ = 0: read h again instead. */
  const float *h_old = zeta == 0.0       ? h
                       : f == RB_FIELD_U ? s->hu_old
                       : f == RB_FIELD_V ? s->hv_old
                                         : s->hb_old;
  const float *below_wall = f == RB_FIELD_B ? s->one_row : s->zero_row; /* b = 1 at y = 0 */
  const int j0 = f == RB_FIELD_V ? 1 : 0;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = j0; j < ny; j++) {
    rb_rhs_row r = {.f = row_of(field, j, nx),
                    .h = row_of(h, j, nx),
                    .h_old = row_of(h_old, j, nx),
                    .out = s->work_r + (size_t)j * nx,
                    .dt = dt,
                    .gamma = gamma,
                    .zeta = zeta,
                    .grad = f == RB_FIELD_B ? 0.0 : 2.0 * alpha,
                    .diff = 2.0 * alpha * (f == RB_FIELD_B ? s->kappa : s->nu),
                    .inv_dx2 = 1.0 / (s->dx * s->dx)};
    const float *p = row_of(s->p, j, nx);
    if (f == RB_FIELD_V) { /* face rows: the walls store v = 0; ∂p/∂y = (p_j - p_{j-1})/hf */
      r.f_dn = row_of(field, j - 1, nx);
      r.f_up = row_of(field, j + 1, nx);
      r.up = s->up_f[j];
      r.lo = s->lo_f[j];
      r.p_hi = p;
      r.p_lo = row_of(s->p, j - 1, nx);
      r.grad_scale = 1.0 / s->hf[j];
    } else { /* ∂p/∂x at i + 1/2 = (p_{i+1} - p_i)/dx: p_hi is p shifted by one */
      r.f_dn = j > 0 ? row_of(field, j - 1, nx) : below_wall;
      r.f_up = j + 1 < ny ? row_of(field, j + 1, nx) : s->zero_row; /* u = 0, b = 0 at y = 1 */
      r.up = s->up_c[j];
      r.lo = s->lo_c[j];
      r.p_hi = p + 1;
      r.p_lo = p;
      r.grad_scale = 1.0 / s->dx;
    }
    const rb_rhs_row row = r; /* const, so the vectoriser keeps its fields in registers */
    const int last = nx - 1;
    rhs_point(&row, 0, last, 1, (double)row.p_hi[0] - row.p_lo[0]);
#pragma omp simd
    for (int i = 1; i < last; i++) rhs_point(&row, i, i - 1, i + 1, (double)row.p_hi[i] - row.p_lo[i]);
    double dp_last = f == RB_FIELD_V ? (double)p[last] - row.p_lo[last] : (double)p[0] - p[last]; /* wraps */
    rhs_point(&row, last, last - 1, 0, dp_last);
  }
}

double rb_divergence_at(const rb_solver *s, int i, int j) {
  const int nx = s->nx;
  const size_t k = (size_t)j * nx + i;
  double du = ((double)s->u[k] - s->u[(size_t)j * nx + (i == 0 ? nx - 1 : i - 1)]) / s->dx;
  double dv = ((double)s->v[k + nx] - s->v[k]) / s->dyc[j];
  return du + dv;
}

static inline double divergence_point(const rb_rows *r, int i, int im) {
  return ((double)r->u[i] - r->u[im]) * r->inv_dx + ((double)r->v_up[i] - r->v_dn[i]) * r->inv_dyc;
}

void rb_divergence_rows(rb_solver *s, double scale) {
  const int nx = s->nx, ny = s->ny;
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = 0; j < ny; j++) {
    const rb_rows r = rows_around(s, j);
    float *out = s->work_r + (size_t)j * nx;
    out[0] = (float)(scale * divergence_point(&r, 0, nx - 1));
#pragma omp simd
    for (int i = 1; i < nx; i++) out[i] = (float)(scale * divergence_point(&r, i, i - 1));
  }
}

void rb_project(rb_solver *s, double c) {
  const int nx = s->nx, ny = s->ny;
  const double half_nu = 0.5 * s->nu;
  /* Pressure first, while u still holds the predicted field: the -(ν/2)∇·u* term is the
   * rotational correction that keeps the Crank–Nicolson pressure second order. */
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = 0; j < ny; j++) {
    const rb_rows r = rows_around(s, j);
    const float *phi = s->work_r + (size_t)j * nx;
    float *p = s->p + (size_t)j * nx;
    p[0] += (float)(phi[0] - half_nu * divergence_point(&r, 0, nx - 1));
#pragma omp simd
    for (int i = 1; i < nx; i++) p[i] += (float)(phi[i] - half_nu * divergence_point(&r, i, i - 1));
  }
#pragma omp parallel for schedule(static) if (s->threaded)
  for (int j = 0; j < ny; j++) {
    const float *phi = s->work_r + (size_t)j * nx, *phi_dn = phi - nx;
    float *u = s->u + (size_t)j * nx, *v = s->v + (size_t)j * nx;
    const double cx = c / s->dx, cy = j > 0 ? c / s->hf[j] : 0.0;
#pragma omp simd
    for (int i = 0; i < nx - 1; i++) u[i] -= (float)(cx * ((double)phi[i + 1] - phi[i]));
    u[nx - 1] -= (float)(cx * ((double)phi[0] - phi[nx - 1]));
    if (j == 0) continue; /* the wall face keeps v = 0 */
#pragma omp simd
    for (int i = 0; i < nx; i++) v[i] -= (float)(cy * ((double)phi[i] - phi_dn[i]));
  }
}
