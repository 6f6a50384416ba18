/* Rotary embedding and its angles against double-precision loops written
 * here, and their backward against central finite differences. */
#include <stdlib.h>
#include <string.h>

#include "../../kernels/rope.h"
#include "gradcheck.h"
#include "harness.h"

TEST(rope_grid_coords_are_cartesian_product_order) {
  int64_t shape[2] = {2, 3};
  float coo[12];
  k_grid_coords(coo, 2, shape);
  float want[12] = {0, 0, 0, 1, 0, 2, 1, 0, 1, 1, 1, 2};
  CHECK(memcmp(coo, want, sizeof coo) == 0);
}

enum { B = 2, L = 5, C = 8, P = C / 2, N = 2 };

typedef struct {
  const double *dy;
} rope_ctx;

/* y = rope(x, angles) as complex products, in double. */
static void ref_rope(double *y, const double *x, const double *ang) {
  for (int b = 0; b < B; b++)
    for (int l = 0; l < L; l++)
      for (int m = 0; m < P; m++) {
        double a = ang[l * P + m], re = x[(b * L + l) * C + 2 * m], im = x[(b * L + l) * C + 2 * m + 1];
        y[(b * L + l) * C + 2 * m] = re * cos(a) - im * sin(a);
        y[(b * L + l) * C + 2 * m + 1] = re * sin(a) + im * cos(a);
      }
}

/* params = [x (B, L, C) | angles (L, P)] */
static double rope_objective(const double *params, void *vctx) {
  rope_ctx *c = vctx;
  double y[B * L * C], s = 0;
  ref_rope(y, params, params + B * L * C);
  for (int i = 0; i < B * L * C; i++) s += c->dy[i] * y[i];
  return s;
}

TEST(rope_values_and_gradients) {
  enum { NX = B * L * C, NA = L * P };
  float xf[NX], ang[NA], y[NX], dyf[NX], dx[NX], da[NA];
  double params[NX + NA], yd[NX], dy[NX], grad[NX + NA];
  fill_uniform(xf, NX, 71), fill_uniform(ang, NA, 72), fill_uniform(dyf, NX, 73);
  for (int i = 0; i < NA; i++) ang[i] *= 4.0f;
  for (int i = 0; i < NX; i++) params[i] = xf[i], dy[i] = dyf[i];
  for (int i = 0; i < NA; i++) params[NX + i] = ang[i];
  ref_rope(yd, params, params + NX);
  k_rope_fwd(y, xf, ang, B, L, C);
  CHECK(max_scaled_error(y, yd, NX, 1e-6, 1e-6) <= 1);
  rope_ctx ctx = {dy};
  fd_gradient(rope_objective, params, NX + NA, &ctx, 1e-4, grad);
  for (int i = 0; i < NA; i++) da[i] = 0.75f; /* accumulated onto */
  k_rope_bwd(dx, da, dyf, y, ang, B, L, C);
  for (int i = 0; i < NA; i++) da[i] -= 0.75f;
  CHECK(max_scaled_error(dx, grad, NX, 1e-5, 1e-5) <= 1);
  CHECK(max_scaled_error(da, grad + NX, NA, 1e-5, 1e-5) <= 1);
  /* In place (y = x, dx = dy) gives the same numbers. */
  float inplace[NX];
  memcpy(inplace, xf, sizeof xf);
  k_rope_fwd(inplace, inplace, ang, B, L, C);
  CHECK(memcmp(inplace, y, sizeof y) == 0);
  memcpy(inplace, dyf, sizeof dyf);
  k_rope_bwd(inplace, NULL, inplace, y, ang, B, L, C);
  CHECK(memcmp(inplace, dx, sizeof dx) == 0);
}

typedef struct {
  const double *coo, *dang;
} angles_ctx;

static double angles_objective(const double *theta, void *vctx) {
  angles_ctx *c = vctx;
  double s = 0;
  for (int l = 0; l < L; l++)
    for (int m = 0; m < P; m++) {
      double a = 0;
      for (int d = 0; d < N; d++) a += c->coo[l * N + d] * theta[d * P + m];
      s += c->dang[l * P + m] * a;
    }
  return s;
}

TEST(rope_angles_from_coordinates_and_theta) {
  int64_t shape[2] = {1, L};
  float coo[L * N], theta[N * P], ang[L * P], dang[L * P], dtheta[N * P];
  double cood[L * N], thetad[N * P], dangd[L * P], grad[N * P];
  k_grid_coords(coo, 2, shape);
  fill_uniform(theta, N * P, 74), fill_uniform(dang, L * P, 75);
  for (int i = 0; i < L * N; i++) cood[i] = coo[i];
  for (int i = 0; i < N * P; i++) thetad[i] = theta[i], dtheta[i] = 0;
  for (int i = 0; i < L * P; i++) dangd[i] = dang[i];
  k_rope_angles_fwd(ang, coo, theta, L, N, P);
  /* token l sits at (0, l): its angles are l·theta[1, :] */
  int ok = 1;
  for (int l = 0; l < L; l++)
    for (int m = 0; m < P; m++) ok &= fabs(ang[l * P + m] - (double)l * theta[P + m]) < 1e-6;
  CHECK(ok);
  angles_ctx ctx = {cood, dangd};
  fd_gradient(angles_objective, thetad, N * P, &ctx, 1e-3, grad);
  k_rope_angles_bwd(dtheta, dang, coo, L, N, P);
  CHECK(max_scaled_error(dtheta, grad, N * P, 1e-5, 1e-5) <= 1);
}
