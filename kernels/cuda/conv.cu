/* Convolution (kernels/conv.h) on the GPU: through cuDNN where it takes the
 * shape (conv_cudnn.cu), otherwise, and always for circular padding, im2col
 * over chunks of samples and cuBLAS GEMMs in the precision of
 * kc_get_precision (fp32, TF32 or bf16 tensor-core products, fp32 storage
 * and accumulation).
 *
 * The shape is padded to three spatial dims (leading size-1 dims with kernel 1,
 * stride 1, pad 0) as in kernels/cpu/conv_geom.c. The column matrix of one
 * sample is (Cin·kvol, positions), row k = (ci, t0, t1, t2), the flattening of
 * a torch weight (Cout, Cin, k0, k1, k2), so y_n = W · col_n. A chunk of
 * samples' column matrices lies in the caller's workspace, one after another.
 *
 * Backward: dw += Σ_n dy_n · col_nᵀ, one GEMM per sample in sample order
 * (beta = 1); dcol_n = Wᵀ · dy_n, then dx gathered from dcol (each input
 * element sums what it contributed to, in a fixed order: no atomics);
 * db += Σ over samples and positions per channel in double, fixed tree. */
#include <limits.h>

#include "column_sums.cuh"
#include "common.cuh"
#include "conv_geom.cuh"
#include "kernels_cuda.h"

/* Column matrices of a chunk of samples: up to this many floats (256 MiB), or
 * one sample's when that is larger. */
static const int64_t CONV_CHUNK_FLOATS = (int64_t)64 << 20;

enum { CONV_THREADS = 256 };
static const int64_t CONV_GRID_YZ = 65535; /* the grid's y and z limit */

/* As conv_geom_init (kernels/cpu/conv_geom.c): validates s, dying with the same messages. */
void kc_conv_geom(cgeom *g, const k_conv_shape *s) {
  if (s->dims < 1 || s->dims > K_CONV_MAX_DIMS)
    lola_die(1, "conv: %d spatial dims (1 to %d supported)", s->dims, K_CONV_MAX_DIMS);
  if (s->batch < 0 || s->cin < 1 || s->cout < 1)
    lola_die(1, "conv: bad sizes batch %lld, cin %lld, cout %lld", (long long)s->batch, (long long)s->cin,
             (long long)s->cout);
  *g = cgeom{};
  g->batch = s->batch;
  g->cin = s->cin;
  g->cout = s->cout;
  g->circular = s->circular;
  int lead = 3 - s->dims;
  int64_t kvol = 1, vin = 1, vout = 1;
  for (int d = 0; d < 3; d++) {
    if (d < lead) {
      g->in[d] = g->out[d] = 1;
      g->kernel[d] = g->stride[d] = 1;
      g->pad[d] = 0;
      continue;
    }
    int e = d - lead;
    int64_t in = s->in[e];
    if (in < 1 || s->kernel[e] < 1 || s->stride[e] < 1 || s->pad[e] < 0)
      lola_die(1, "conv: bad geometry in spatial dim %d (in %lld, kernel %d, stride %d, pad %d)", e,
               (long long)in, s->kernel[e], s->stride[e], s->pad[e]);
    if (s->circular && s->pad[e] > in)
      lola_die(1, "conv: circular padding %d wider than the input (%lld) in spatial dim %d", s->pad[e],
               (long long)in, e);
    int64_t span = in + 2 * (int64_t)s->pad[e] - s->kernel[e];
    if (span < 0)
      lola_die(1, "conv: kernel %d larger than the padded input %lld in spatial dim %d", s->kernel[e],
               (long long)(in + 2 * (int64_t)s->pad[e]), e);
    if (in > INT_MAX) lola_die(1, "conv (cuda): input extent %lld too large", (long long)in);
    g->in[d] = (int)in;
    g->kernel[d] = s->kernel[e];
    g->stride[d] = s->stride[e];
    g->pad[d] = s->pad[e];
    g->out[d] = (int)(span / s->stride[e] + 1);
  }
  for (int d = 0; d < 3; d++) {
    kvol *= g->kernel[d];
    vin *= g->in[d];
    vout *= g->out[d];
  }
  g->ck = g->cin * kvol;
  if (vin > INT_MAX || vout > INT_MAX || g->ck > INT_MAX || g->cout > INT_MAX)
    lola_die(1, "conv (cuda): sizes beyond 32-bit GEMM dimensions (positions %lld, Cin·kvol %lld)",
             (long long)(vin > vout ? vin : vout), (long long)g->ck);
  g->kvol = (int)kvol;
  g->vin = (int)vin;
  g->vout = (int)vout;
  g->pointwise = kvol == 1 && g->stride[0] == 1 && g->stride[1] == 1 && g->stride[2] == 1 && g->pad[0] == 0 &&
                 g->pad[1] == 0 && g->pad[2] == 0;
}

/* Samples per chunk of column matrices (0 when there are none to hold). */
static int64_t chunk_samples(const cgeom *g) {
  if (g->pointwise || g->batch == 0) return 0;
  int64_t per = g->ck * g->vout, nb = CONV_CHUNK_FLOATS / per;
  if (nb < 1) nb = 1;
  return nb < g->batch ? nb : g->batch;
}

/* cuDNN's scratch: what the im2col path would use, and never under this. */
static const int64_t CUDNN_MIN_BUDGET_FLOATS = (int64_t)4 << 20;

static int64_t im2col_floats(const cgeom *g) { return chunk_samples(g) * g->ck * g->vout; }
static int64_t cudnn_budget(const cgeom *g) {
  int64_t f = im2col_floats(g);
  return f > CUDNN_MIN_BUDGET_FLOATS ? f : CUDNN_MIN_BUDGET_FLOATS;
}

static int64_t workspace_floats(const k_conv_shape *s, bool backward) {
  cgeom g;
  kc_conv_geom(&g, s);
  if (conv_cudnn_takes(&g, cudnn_budget(&g)))
    return conv_cudnn_workspace_floats(&g, backward, cudnn_budget(&g));
  return im2col_floats(&g);
}

extern "C" bool kc_conv_uses_cudnn(const k_conv_shape *s) {
  cgeom g;
  kc_conv_geom(&g, s);
  return conv_cudnn_takes(&g, cudnn_budget(&g));
}

extern "C" int64_t kc_conv_fwd_workspace_floats(const k_conv_shape *s) { return workspace_floats(s, false); }
extern "C" int64_t kc_conv_bwd_workspace_floats(const k_conv_shape *s) { return workspace_floats(s, true); }

/* Source index along one dim for output coordinate o and tap t, or -1 where
 * zero padding applies (pad <= n with circular padding: one wrap at most). */
__device__ static inline int source_index(int o, int t, int stride, int pad, int n, int circular) {
  int i = o * stride - pad + t;
  if (i >= 0 && i < n) return i;
  if (!circular) return -1;
  return i < 0 ? i + n : i - n;
}

/* col[n][k][p] for the nb samples of x (each Cin·vin floats) from x[n][ci][source(p, t)]. */
__global__ static void im2col(float *col, const float *x, cgeom g, int64_t nb) {
  const int p = blockIdx.x * blockDim.x + threadIdx.x;
  if (p >= g.vout) return;
  const int o2 = p % g.out[2], o1 = (p / g.out[2]) % g.out[1], o0 = p / (g.out[2] * g.out[1]);
  for (int64_t n = blockIdx.z; n < nb; n += gridDim.z)
    for (int64_t k = blockIdx.y; k < g.ck; k += gridDim.y) {
      const int t = (int)(k % g.kvol);
      const int64_t ci = k / g.kvol;
      const int t2 = t % g.kernel[2], t1 = (t / g.kernel[2]) % g.kernel[1],
                t0 = t / (g.kernel[2] * g.kernel[1]);
      const int i0 = source_index(o0, t0, g.stride[0], g.pad[0], g.in[0], g.circular);
      const int i1 = source_index(o1, t1, g.stride[1], g.pad[1], g.in[1], g.circular);
      const int i2 = source_index(o2, t2, g.stride[2], g.pad[2], g.in[2], g.circular);
      float v = 0.0f;
      if (i0 >= 0 && i1 >= 0 && i2 >= 0)
        v = x[(n * g.cin + ci) * g.vin + ((int64_t)i0 * g.in[1] + i1) * g.in[2] + i2];
      col[(n * g.ck + k) * g.vout + p] = v;
    }
}

/* The output coordinate that reads input coordinate i through tap t via the
 * c-th unwrapped position (c = 0: i itself; 1, 2: i - n, i + n, circular
 * padding only), or -1 when none does. */
__device__ static inline int reader(int i, int c, int t, int stride, int pad, int n, int out) {
  int p = c == 0 ? i : c == 1 ? i - n : i + n;
  int q = p + pad - t;
  if (q < 0 || q % stride != 0) return -1;
  q /= stride;
  return q < out ? q : -1;
}

/* dx[n][ci][i] = Σ over the (tap, output position) pairs that read i of
 * dcol[n][(ci, tap)][position]: the adjoint of im2col as a gather, each input
 * element summed by one thread in a fixed order. */
__global__ static void col2im_gather(float *dx, const float *dcol, cgeom g, int64_t nb) {
  const int64_t total = nb * g.cin * g.vin;
  const int nc = g.circular ? 3 : 1;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    const int v = (int)(e % g.vin);
    const int64_t nci = e / g.vin; /* n·Cin + ci */
    const int i2 = v % g.in[2], i1 = (v / g.in[2]) % g.in[1], i0 = v / (g.in[2] * g.in[1]);
    const int64_t n = nci / g.cin, ci = nci % g.cin;
    const float *base = dcol + (n * g.ck + ci * g.kvol) * g.vout;
    float acc = 0.0f;
    for (int t0 = 0; t0 < g.kernel[0]; t0++)
      for (int c0 = 0; c0 < nc; c0++) {
        int o0 = reader(i0, c0, t0, g.stride[0], g.pad[0], g.in[0], g.out[0]);
        if (o0 < 0) continue;
        for (int t1 = 0; t1 < g.kernel[1]; t1++)
          for (int c1 = 0; c1 < nc; c1++) {
            int o1 = reader(i1, c1, t1, g.stride[1], g.pad[1], g.in[1], g.out[1]);
            if (o1 < 0) continue;
            for (int t2 = 0; t2 < g.kernel[2]; t2++)
              for (int c2 = 0; c2 < nc; c2++) {
                int o2 = reader(i2, c2, t2, g.stride[2], g.pad[2], g.in[2], g.out[2]);
                if (o2 < 0) continue;
                int64_t row = ((int64_t)t0 * g.kernel[1] + t1) * g.kernel[2] + t2;
                acc += base[row * g.vout + ((int64_t)o0 * g.out[1] + o1) * g.out[2] + o2];
              }
          }
      }
    dx[e] = acc;
  }
}

__global__ static void add_bias(float *y, const float *b, int64_t total, int64_t cout, int64_t vout) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] += b[(i / vout) % cout];
}

/* db[o] += Σ_n Σ_p dy[n][o][p]. One block per channel left most of the GPU
 * idle on the DCAE's first levels (64 channels of 8 × 256² positions), so the
 * positions are cut into chunks of BIAS_CHUNK fixed by the sizes: a block per
 * (chunk, sample, channel) sums its chunk in double (contiguous reads, a fixed
 * tree), and a second kernel adds a channel's partials in order
 * (deterministic). */
enum { BIAS_CHUNK = 2048 };
static const int64_t BIAS_GRID_YZ = 65535;

__global__ static void bias_partials(double *part, const float *dy, int64_t batch, int64_t cout, int64_t vout,
                                     int64_t chunks, int64_t o0) {
  __shared__ double s[CONV_THREADS];
  const int64_t k = blockIdx.x, n = blockIdx.y, o = o0 + blockIdx.z;
  const int64_t p1 = (k + 1) * BIAS_CHUNK < vout ? (k + 1) * BIAS_CHUNK : vout;
  const float *d = dy + (n * cout + o) * vout;
  double v = 0;
  for (int64_t p = k * BIAS_CHUNK + threadIdx.x; p < p1; p += CONV_THREADS) v += d[p];
  s[threadIdx.x] = v;
  __syncthreads();
  for (int w = CONV_THREADS / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) part[(o * batch + n) * chunks + k] = s[0];
}

__global__ static void bias_finish(float *db, const double *part, int64_t cout, int64_t per_channel) {
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < cout;
       o += (int64_t)gridDim.x * blockDim.x) {
    double t = 0;
    for (int64_t i = 0; i < per_channel; i++) t += part[o * per_channel + i];
    db[o] += (float)t;
  }
}

static void bias_grad(float *db, const float *dy, const cgeom *g) {
  if (g->batch == 0) return;
  const int64_t chunks = (g->vout + BIAS_CHUNK - 1) / BIAS_CHUNK, per_channel = g->batch * chunks;
  double *part = (double *)kc_column_scratch((size_t)((g->cout * per_channel + 1) / 2));
  for (int64_t n0 = 0; n0 < g->batch; n0 += BIAS_GRID_YZ)
    for (int64_t o0 = 0; o0 < g->cout; o0 += BIAS_GRID_YZ) {
      /* the grid's y and z limits: samples and channels in slices (offsets into the same layout) */
      const int64_t nb = g->batch - n0 < BIAS_GRID_YZ ? g->batch - n0 : BIAS_GRID_YZ;
      const int64_t nc = g->cout - o0 < BIAS_GRID_YZ ? g->cout - o0 : BIAS_GRID_YZ;
      dim3 grid((unsigned)chunks, (unsigned)nb, (unsigned)nc);
      bias_partials<<<grid, CONV_THREADS, 0, kc_stream()>>>(part + n0 * chunks, dy + n0 * g->cout * g->vout,
                                                            g->batch, g->cout, g->vout, chunks, o0);
      KC_LAUNCH_CHECK();
    }
  bias_finish<<<kc_blocks(g->cout, 128), 128, 0, kc_stream()>>>(db, part, g->cout, per_channel);
  KC_LAUNCH_CHECK();
}

static void launch_im2col(float *col, const float *x, const cgeom *g, int64_t nb) {
  dim3 grid((unsigned)((g->vout + CONV_THREADS - 1) / CONV_THREADS),
            (unsigned)(g->ck < CONV_GRID_YZ ? g->ck : CONV_GRID_YZ),
            (unsigned)(nb < CONV_GRID_YZ ? nb : CONV_GRID_YZ));
  im2col<<<grid, CONV_THREADS, 0, kc_stream()>>>(col, x, *g, nb);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_conv_fwd(float *y, const float *x, const float *w, const float *b, const k_conv_shape *s,
                            float *work) {
  cgeom g;
  kc_conv_geom(&g, s);
  if (g.batch == 0) return;
  if (conv_cudnn_takes(&g, cudnn_budget(&g)) && conv_cudnn_fwd(y, x, w, b, &g, work, cudnn_budget(&g)))
    return;
  const int64_t xs = g.cin * g.vin, ys = g.cout * g.vout, cs = g.ck * g.vout;
  const int64_t chunk = g.pointwise ? g.batch : chunk_samples(&g);
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t nb = g.batch - n0 < chunk ? g.batch - n0 : chunk;
    const float *col = x + n0 * xs;
    if (!g.pointwise) {
      launch_im2col(work, col, &g, nb);
      col = work;
    }
    /* y_n (Cout, P) = W (Cout, CK) · col_n (CK, P) */
    kc_rm_gemm(false, false, g.cout, g.vout, g.ck, w, g.ck, 0, col, g.vout, cs, 0.0f, y + n0 * ys, g.vout, ys,
               nb);
  }
  if (b) kc_conv_add_bias(y, b, &g);
}

void kc_conv_add_bias(float *y, const float *b, const cgeom *g) {
  int64_t total = g->batch * g->cout * g->vout;
  add_bias<<<kc_blocks(total, CONV_THREADS), CONV_THREADS, 0, kc_stream()>>>(y, b, total, g->cout, g->vout);
  KC_LAUNCH_CHECK();
}

extern "C" void kc_conv_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                            const k_conv_shape *s, float *work) {
  cgeom g;
  kc_conv_geom(&g, s);
  if (db) bias_grad(db, dy, &g);
  if ((!dx && !dw) || g.batch == 0) return;
  if (conv_cudnn_takes(&g, cudnn_budget(&g))) {
    conv_cudnn_bwd(&dx, &dw, dy, x, w, &g, work, cudnn_budget(&g));
    if (!dx && !dw) return;
  }
  const int64_t xs = g.cin * g.vin, ys = g.cout * g.vout, cs = g.ck * g.vout;
  const int64_t chunk = g.pointwise ? g.batch : chunk_samples(&g);
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t nb = g.batch - n0 < chunk ? g.batch - n0 : chunk;
    const float *dyc = dy + n0 * ys;
    if (dw) {
      const float *col = x + n0 * xs;
      if (!g.pointwise) {
        launch_im2col(work, col, &g, nb);
        col = work;
      }
      /* dw (Cout, CK) += dy_n (Cout, P) · col_n (CK, P)ᵀ, sample by sample in order */
      for (int64_t n = 0; n < nb; n++)
        kc_rm_gemm(false, true, g.cout, g.ck, g.vout, dyc + n * ys, g.vout, 0, col + n * cs, g.vout, 0, 1.0f,
                   dw, g.ck, 0, 1);
    }
    if (dx) {
      float *dxc = dx + n0 * xs;
      /* dcol_n (CK, P) = Wᵀ (CK, Cout) · dy_n (Cout, P); pointwise: dcol is dx itself */
      float *dcol = g.pointwise ? dxc : work;
      kc_rm_gemm(true, false, g.ck, g.vout, g.cout, w, g.ck, 0, dyc, g.vout, ys, 0.0f, dcol, g.vout, cs, nb);
      if (!g.pointwise) {
        int64_t total = nb * xs;
        col2im_gather<<<kc_blocks(total, CONV_THREADS), CONV_THREADS, 0, kc_stream()>>>(dxc, work, g, nb);
        KC_LAUNCH_CHECK();
      }
    }
  }
}
