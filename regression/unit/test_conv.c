/* Convolution kernels against a direct double-precision convolution written
 * here (torch semantics: zero or circular padding, any stride), and their
 * backward against central finite differences of that reference. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/conv.h"
#include "gradcheck.h"
#include "harness.h"

/* The shape padded to three dims, computed independently of the kernel. */
typedef struct {
  int64_t b, ci, co, in[3], out[3];
  int k[3], st[3], pd[3];
  bool circ;
} ref_geom;

static ref_geom ref_geom_of(const k_conv_shape *s) {
  ref_geom r = {.b = s->batch, .ci = s->cin, .co = s->cout, .circ = s->circular};
  for (int d = 0; d < 3; d++) {
    int e = d - (3 - s->dims);
    r.in[d] = e < 0 ? 1 : s->in[e];
    r.k[d] = e < 0 ? 1 : s->kernel[e];
    r.st[d] = e < 0 ? 1 : s->stride[e];
    r.pd[d] = e < 0 ? 0 : s->pad[e];
    r.out[d] = (r.in[d] + 2 * r.pd[d] - r.k[d]) / r.st[d] + 1;
  }
  return r;
}

/* Input coordinate seen by output o through tap t, or -1 (zero padding). */
static int64_t ref_src(int64_t o, int t, int st, int pd, int64_t n, bool circ) {
  int64_t i = o * st + t - pd;
  if (circ) return ((i % n) + n) % n;
  return (i < 0 || i >= n) ? -1 : i;
}

static int64_t ref_numel_in(const ref_geom *g) { return g->b * g->ci * g->in[0] * g->in[1] * g->in[2]; }
static int64_t ref_numel_out(const ref_geom *g) { return g->b * g->co * g->out[0] * g->out[1] * g->out[2]; }
static int64_t ref_numel_w(const ref_geom *g) { return g->co * g->ci * g->k[0] * g->k[1] * g->k[2]; }

/* y = conv(x, w) + b, a plain loop nest in double. */
static void ref_conv(double *y, const double *x, const double *w, const double *b, const ref_geom *g) {
  int64_t vin = g->in[0] * g->in[1] * g->in[2], vout = g->out[0] * g->out[1] * g->out[2];
  for (int64_t n = 0; n < g->b; n++)
    for (int64_t o = 0; o < g->co; o++)
      for (int64_t p0 = 0; p0 < g->out[0]; p0++)
        for (int64_t p1 = 0; p1 < g->out[1]; p1++)
          for (int64_t p2 = 0; p2 < g->out[2]; p2++) {
            double acc = b ? b[o] : 0.0;
            for (int64_t c = 0; c < g->ci; c++)
              for (int t0 = 0; t0 < g->k[0]; t0++)
                for (int t1 = 0; t1 < g->k[1]; t1++)
                  for (int t2 = 0; t2 < g->k[2]; t2++) {
                    int64_t i0 = ref_src(p0, t0, g->st[0], g->pd[0], g->in[0], g->circ);
                    int64_t i1 = ref_src(p1, t1, g->st[1], g->pd[1], g->in[1], g->circ);
                    int64_t i2 = ref_src(p2, t2, g->st[2], g->pd[2], g->in[2], g->circ);
                    if (i0 < 0 || i1 < 0 || i2 < 0) continue;
                    double wv = w[(((o * g->ci + c) * g->k[0] + t0) * g->k[1] + t1) * g->k[2] + t2];
                    acc += wv * x[(n * g->ci + c) * vin + (i0 * g->in[1] + i1) * g->in[2] + i2];
                  }
            y[(n * g->co + o) * vout + (p0 * g->out[1] + p1) * g->out[2] + p2] = acc;
          }
}

typedef struct {
  ref_geom g;
  const double *dy;
  double *y;
} conv_ctx;

/* Σ dy·conv(x, w, b) with params = [x | w | b]. */
static double conv_objective(const double *params, void *vctx) {
  conv_ctx *c = vctx;
  const double *x = params, *w = x + ref_numel_in(&c->g), *b = w + ref_numel_w(&c->g);
  ref_conv(c->y, x, w, b, &c->g);
  double s = 0;
  for (int64_t i = 0; i < ref_numel_out(&c->g); i++) s += c->dy[i] * c->y[i];
  return s;
}

static float *to_float(const double *d, int64_t n) {
  float *f = malloc((size_t)n * sizeof *f);
  for (int64_t i = 0; i < n; i++) f[i] = (float)d[i];
  return f;
}

static double *to_double(const float *f, int64_t n) {
  double *d = malloc((size_t)n * sizeof *d);
  for (int64_t i = 0; i < n; i++) d[i] = f[i];
  return d;
}

/* Forward against ref_conv, backward (dx, dw, db) against finite differences
 * of the reference; dw and db must accumulate onto what is there. */
static void check_conv(const k_conv_shape *s, unsigned seed) {
  ref_geom g = ref_geom_of(s);
  int64_t nx = ref_numel_in(&g), nw = ref_numel_w(&g), ny = ref_numel_out(&g), nb = g.co;
  int64_t np = nx + nw + nb;
  int64_t out[K_CONV_MAX_DIMS];
  CHECK(k_conv_out_shape(s, out) * g.b * g.co == ny);
  CHECK(k_conv_weight_numel(s) == nw);

  double *params = malloc((size_t)np * sizeof *params), *dy = malloc((size_t)ny * sizeof *dy);
  double *y = malloc((size_t)ny * sizeof *y), *grad = malloc((size_t)np * sizeof *grad);
  fill_uniform_d(params, (size_t)np, seed);
  fill_uniform_d(dy, (size_t)ny, seed + 1);
  /* Round the inputs to float so the float kernel and the reference see the same numbers. */
  float *pf = to_float(params, np), *dyf = to_float(dy, ny);
  for (int64_t i = 0; i < np; i++) params[i] = pf[i];
  for (int64_t i = 0; i < ny; i++) dy[i] = dyf[i];

  ref_conv(y, params, params + nx, params + nx + nw, &g);
  float *yf = malloc((size_t)ny * sizeof *yf);
  float *work =
      malloc((size_t)(k_conv_fwd_workspace_floats(s) + k_conv_bwd_workspace_floats(s) + 1) * sizeof *work);
  k_conv_fwd(yf, pf, pf + nx, pf + nx + nw, s, work);
  CHECK(max_scaled_error(yf, y, (size_t)ny, 1e-5, 1e-5) <= 1);

  conv_ctx ctx = {.g = g, .dy = dy, .y = y};
  fd_gradient(conv_objective, params, (size_t)np, &ctx, 1e-3, grad);

  float *dx = malloc((size_t)nx * sizeof *dx), *dw = malloc((size_t)nw * sizeof *dw);
  float *db = malloc((size_t)nb * sizeof *db);
  for (int64_t i = 0; i < nx; i++) dx[i] = 123.0f; /* overwritten */
  for (int64_t i = 0; i < nw; i++) dw[i] = 0.5f;   /* accumulated onto */
  for (int64_t i = 0; i < nb; i++) db[i] = -0.25f;
  k_conv_bwd(dx, dw, db, dyf, pf, pf + nx, s, work);
  for (int64_t i = 0; i < nw; i++) dw[i] -= 0.5f;
  for (int64_t i = 0; i < nb; i++) db[i] += 0.25f;
  CHECK(max_scaled_error(dx, grad, (size_t)nx, 1e-4, 1e-4) <= 1);
  CHECK(max_scaled_error(dw, grad + nx, (size_t)nw, 1e-4, 1e-4) <= 1);
  CHECK(max_scaled_error(db, grad + nx + nw, (size_t)nb, 1e-4, 1e-4) <= 1);

  /* Each gradient alone (NULL for the others) gives the same numbers. */
  float *dx2 = malloc((size_t)nx * sizeof *dx2);
  k_conv_bwd(dx2, NULL, NULL, dyf, pf, pf + nx, s, work);
  CHECK(memcmp(dx, dx2, (size_t)nx * sizeof *dx) == 0);

  free(params), free(dy), free(y), free(grad), free(pf), free(dyf), free(yf), free(work);
  free(dx), free(dw), free(db), free(dx2);
}

TEST(conv2d_zero_padding_matches_reference_and_gradients) {
  int64_t in[2] = {5, 7};
  k_conv_shape s = k_conv_same(2, 3, 4, 2, in, 3, false);
  check_conv(&s, 11);
}

TEST(conv2d_circular_padding_matches_reference_and_gradients) {
  int64_t in[2] = {6, 5};
  k_conv_shape s = k_conv_same(2, 2, 3, 2, in, 3, true);
  check_conv(&s, 12);
  int64_t in5[2] = {4, 5}; /* kernel 5: the wrap reaches two cells in */
  k_conv_shape s5 = k_conv_same(1, 2, 2, 2, in5, 5, true);
  check_conv(&s5, 13);
}

TEST(conv3d_both_paddings_match_reference_and_gradients) {
  int64_t in[3] = {3, 4, 5};
  k_conv_shape z = k_conv_same(2, 2, 3, 3, in, 3, false);
  check_conv(&z, 14);
  k_conv_shape c = k_conv_same(1, 3, 2, 3, in, 3, true);
  check_conv(&c, 15);
}

/* From 16 input channels a stride-1 convolution computes dx as the adjoint
 * convolution (gathering) instead of through col2im: both paddings, 2D and 3D. */
TEST(conv_gathered_input_gradient_matches_reference_and_gradients) {
  int64_t in[2] = {3, 4};
  k_conv_shape z = k_conv_same(1, 16, 2, 2, in, 3, false);
  check_conv(&z, 24);
  k_conv_shape c = k_conv_same(1, 17, 2, 2, in, 3, true);
  check_conv(&c, 25);
  int64_t in3[3] = {2, 2, 3};
  k_conv_shape c3 = k_conv_same(1, 16, 1, 3, in3, 3, true);
  check_conv(&c3, 26);
}

TEST(conv_strided_and_pointwise_match_reference_and_gradients) {
  /* kernel = stride (non-overlapping patches) */
  k_conv_shape patch = {.batch = 2,
                        .cin = 3,
                        .cout = 4,
                        .dims = 2,
                        .in = {6, 4},
                        .kernel = {2, 2},
                        .stride = {2, 2},
                        .pad = {0, 0}};
  check_conv(&patch, 16);
  /* the UNet's downsampling: kernel 3, padding 1, stride 2, odd sizes, circular */
  k_conv_shape down = {.batch = 2,
                       .cin = 2,
                       .cout = 3,
                       .dims = 2,
                       .in = {7, 6},
                       .kernel = {3, 3},
                       .stride = {2, 2},
                       .pad = {1, 1},
                       .circular = true};
  check_conv(&down, 17);
  k_conv_shape down3 = {.batch = 1,
                        .cin = 2,
                        .cout = 2,
                        .dims = 3,
                        .in = {3, 5, 4},
                        .kernel = {3, 3, 3},
                        .stride = {1, 2, 2},
                        .pad = {1, 1, 1}};
  check_conv(&down3, 18);
  int64_t in[2] = {3, 5};
  k_conv_shape one = k_conv_same(3, 4, 3, 2, in, 1, false);
  check_conv(&one, 19);
  int64_t in1[1] = {9};
  k_conv_shape line = k_conv_same(2, 2, 3, 1, in1, 3, true);
  check_conv(&line, 20);
}

/* A 2D 3x3 same convolution against direct double loops: the forward, and dx
 * and dw by the adjoint loops written out (no finite differences, so shapes
 * can be large); the backward gives the same bits on 1 and 2 threads. */
static void check_conv_direct(const k_conv_shape *s, unsigned seed) {
  ref_geom g = ref_geom_of(s);
  int64_t nx = ref_numel_in(&g), nw = ref_numel_w(&g), ny = ref_numel_out(&g);
  int64_t vin = g.in[1] * g.in[2];
  float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4), *dy = malloc((size_t)ny * 4);
  float *b = malloc((size_t)g.co * 4);
  fill_uniform(x, (size_t)nx, seed), fill_uniform(w, (size_t)nw, seed + 1),
      fill_uniform(dy, (size_t)ny, seed + 2);
  fill_uniform(b, (size_t)g.co, seed + 3);
  double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, g.co),
         *yd = malloc((size_t)ny * 8);
  ref_conv(yd, xd, wd, bd, &g);
  /* Adjoint loops: dx[c, i] += w·dy, dw[o, c, t] += x·dy over every tap. */
  double *dxd = calloc((size_t)nx, 8), *dwd = calloc((size_t)nw, 8);
  for (int64_t n = 0; n < g.b; n++)
    for (int64_t o = 0; o < g.co; o++)
      for (int64_t p1 = 0; p1 < g.out[1]; p1++)
        for (int64_t p2 = 0; p2 < g.out[2]; p2++) {
          double d = dy[(n * g.co + o) * vin + p1 * g.out[2] + p2];
          for (int64_t c = 0; c < g.ci; c++)
            for (int t1 = 0; t1 < 3; t1++)
              for (int t2 = 0; t2 < 3; t2++) {
                int64_t i1 = ref_src(p1, t1, 1, 1, g.in[1], g.circ),
                        i2 = ref_src(p2, t2, 1, 1, g.in[2], g.circ);
                if (i1 < 0 || i2 < 0) continue;
                int64_t xi = (n * g.ci + c) * vin + i1 * g.in[2] + i2,
                        wi = ((o * g.ci + c) * 3 + t1) * 3 + t2;
                dxd[xi] += wd[wi] * d;
                dwd[wi] += xd[xi] * d;
              }
        }
  int threads = omp_get_max_threads();
  omp_set_num_threads(2); /* the workspace is sized for the thread count in force */
  float *work = malloc((size_t)(k_conv_fwd_workspace_floats(s) + k_conv_bwd_workspace_floats(s)) * 4);
  float *y = malloc((size_t)ny * 4), *dx1 = malloc((size_t)nx * 4), *dx2 = malloc((size_t)nx * 4);
  float *dw1 = calloc((size_t)nw, 4), *dw2 = calloc((size_t)nw, 4);
  k_conv_fwd(y, x, w, b, s, work);
  CHECK(max_scaled_error(y, yd, (size_t)ny, 1e-4, 1e-4) <= 1);
  omp_set_num_threads(1);
  k_conv_bwd(dx1, dw1, NULL, dy, x, w, s, work);
  omp_set_num_threads(2);
  k_conv_bwd(dx2, dw2, NULL, dy, x, w, s, work);
  omp_set_num_threads(threads);
  CHECK(max_scaled_error(dx1, dxd, (size_t)nx, 1e-4, 1e-4) <= 1);
  CHECK(max_scaled_error(dw1, dwd, (size_t)nw, 1e-3, 1e-4) <= 1);
  CHECK(memcmp(dx1, dx2, (size_t)nx * 4) == 0);
  CHECK(memcmp(dw1, dw2, (size_t)nw * 4) == 0);
  free(x), free(w), free(b), free(dy), free(xd), free(wd), free(bd), free(yd), free(dxd), free(dwd);
  free(work), free(y), free(dx1), free(dx2), free(dw1), free(dw2);
}

/* Several im2col row tiles per sample (48 channels at 24x40). */
TEST(conv_multi_tile_matches_direct_loops_and_is_thread_independent) {
  int64_t in[2] = {24, 40};
  k_conv_shape s = k_conv_same(3, 48, 5, 2, in, 3, true);
  check_conv_direct(&s, 21);
}

/* From 16 channels in and out, 3x3 same convolutions run as Winograd F(2x2, 3x3),
 * forward and (through the adjoint convolution) dx: odd and even sizes, several
 * tile chunks, both paddings. */
TEST(conv_winograd_matches_direct_loops) {
  int64_t odd[2] = {7, 9}, even[2] = {6, 8}, wide[2] = {3, 70}, tiny[2] = {2, 2};
  k_conv_shape a = k_conv_same(2, 16, 17, 2, odd, 3, false);
  check_conv_direct(&a, 27);
  k_conv_shape b = k_conv_same(2, 17, 16, 2, odd, 3, true);
  check_conv_direct(&b, 28);
  k_conv_shape c = k_conv_same(3, 16, 16, 2, even, 3, true);
  check_conv_direct(&c, 29);
  k_conv_shape d = k_conv_same(2, 20, 16, 2, wide, 3, false);
  check_conv_direct(&d, 30);
  k_conv_shape e = k_conv_same(9, 16, 16, 2, tiny, 3, true);
  check_conv_direct(&e, 31);
}

TEST(conv_identity_init_is_the_reference_pseudo_identity) {
  /* 3 -> 5 channels, 3x3: w = 1e-2·w0 + eye with eye[o, o mod 3, 1, 1] = 1. */
  int64_t in[2] = {4, 4};
  k_conv_shape s = k_conv_same(1, 3, 5, 2, in, 3, false);
  int64_t nw = k_conv_weight_numel(&s);
  float *w = malloc((size_t)nw * 4), *w0 = malloc((size_t)nw * 4);
  fill_uniform(w0, (size_t)nw, 31);
  memcpy(w, w0, (size_t)nw * 4);
  k_conv_identity_init(w, &s);
  int ok = 1;
  for (int o = 0; o < 5; o++)
    for (int c = 0; c < 3; c++)
      for (int t = 0; t < 9; t++) {
        int64_t i = (o * 3 + c) * 9 + t;
        double want = 1e-2 * w0[i] + ((c == o % 3 && t == 4) ? 1.0 : 0.0);
        ok &= fabs(w[i] - want) < 1e-6;
      }
  CHECK(ok);
  /* With the small part zeroed it is an exact identity on the first channels. */
  memset(w, 0, (size_t)nw * 4);
  k_conv_identity_init(w, &s);
  float x[3 * 16], y[5 * 16];
  fill_uniform(x, 48, 32);
  float *work = malloc((size_t)k_conv_fwd_workspace_floats(&s) * 4 + 4);
  k_conv_fwd(y, x, w, NULL, &s, work);
  CHECK(memcmp(y, x, sizeof x) == 0 && memcmp(y + 48, x, 2 * 16 * 4) == 0);
  free(w), free(w0), free(work);
}

TEST(conv_rejects_bad_geometry) {
  lola_error_trap trap;
  int64_t in[2] = {2, 8};
  k_conv_shape s = k_conv_same(1, 1, 1, 2, in, 5, true); /* circular pad 2 == extent 2: allowed */
  CHECK(k_conv_weight_numel(&s) == 25);
  int64_t tiny[2] = {1, 8};
  k_conv_shape bad = k_conv_same(1, 1, 1, 2, tiny, 5, true); /* pad 2 wider than extent 1 */
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, k_conv_weight_numel(&bad)));
  CHECK(strstr(trap.message, "circular") != NULL);
  k_conv_shape four = s;
  four.dims = 4;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, k_conv_weight_numel(&four)));
}
