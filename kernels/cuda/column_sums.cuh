/* Sums down the columns of row-major data, the reduction behind the bias,
 * modulation and mixing gradients of token-layout layers:
 *
 *   out0[g·ostride + c] += Σ_r f(g, r, c).x,  out1[...] += Σ_r f(g, r, c).y
 *
 * for g < groups (samples, or 1), r < rows (tokens), c < cols (channels),
 * where f reads row r of group g at column c (adjacent c, adjacent memory).
 *
 * One thread per column and a serial loop over the rows leaves most of the
 * GPU idle when there are few columns and many rows (1024 channels over
 * 40960 tokens: 8 blocks). Here the rows are cut into chunks fixed by the
 * sizes alone: blocks of 32 columns × 8 row lanes sum a chunk each in
 * double, a fixed order adds the lanes, and a second kernel of the same shape
 * adds the chunks, each lane a fixed subset in order, so the result does not
 * depend on the scheduling (deterministic). */
#ifndef LOLA_COLUMN_SUMS_CUH
#define LOLA_COLUMN_SUMS_CUH

#include "common.cuh"

enum { CS_COLS = 32, CS_LANES = 8 };
static const int64_t CS_MIN_CHUNK_ROWS = 64, CS_MAX_CHUNKS = 256, CS_MAX_GRID_Z = 65535;

/* Device scratch of at least `count` double2 partial sums (kept and grown). */
double2 *kc_column_scratch(size_t count);

/* Rows per chunk: at least CS_MIN_CHUNK_ROWS, and at most CS_MAX_CHUNKS chunks. */
static inline int64_t cs_chunk_rows(int64_t rows) {
  int64_t per = (rows + CS_MAX_CHUNKS - 1) / CS_MAX_CHUNKS;
  return per < CS_MIN_CHUNK_ROWS ? CS_MIN_CHUNK_ROWS : per;
}

/* Every lane's acc for this column meet in lane order (deterministic); the
 * total is thread (x, 0)'s. All threads of the block must call it. */
__device__ static inline double2 cs_lanes_meet(double2 acc) {
  __shared__ double2 lane[CS_LANES][CS_COLS];
  lane[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  double2 t = lane[0][threadIdx.x];
  if (threadIdx.y == 0)
    for (int y = 1; y < CS_LANES; y++) {
      t.x += lane[y][threadIdx.x].x;
      t.y += lane[y][threadIdx.x].y;
    }
  return t;
}

template <typename F>
__global__ static void cs_partial(double2 *part, int64_t g0, int64_t rows, int64_t cols, int64_t per,
                                  int64_t chunks, F f) {
  const int64_t c = blockIdx.x * (int64_t)CS_COLS + threadIdx.x, chunk = blockIdx.y, g = g0 + blockIdx.z;
  double2 acc = make_double2(0.0, 0.0);
  if (c < cols) {
    const int64_t r1 = (chunk + 1) * per < rows ? (chunk + 1) * per : rows;
    for (int64_t r = chunk * per + threadIdx.y; r < r1; r += CS_LANES) {
      double2 v = f(g, r, c);
      acc.x += v.x;
      acc.y += v.y;
    }
  }
  const double2 t = cs_lanes_meet(acc);
  if (threadIdx.y == 0 && c < cols) part[(g * chunks + chunk) * cols + c] = t;
}

/* out += the chunks' sums: lane y of a column adds chunks y, y + 8, ... in
 * order, then the lanes meet in a fixed order (deterministic). */
__global__ static void cs_finish(float *out0, float *out1, int64_t ostride, const double2 *part, int64_t g0,
                                 int64_t chunks, int64_t cols) {
  const int64_t c = blockIdx.x * (int64_t)CS_COLS + threadIdx.x, g = g0 + blockIdx.y;
  double2 acc = make_double2(0.0, 0.0);
  if (c < cols)
    for (int64_t k = threadIdx.y; k < chunks; k += CS_LANES) {
      double2 v = part[(g * chunks + k) * cols + c];
      acc.x += v.x;
      acc.y += v.y;
    }
  const double2 t = cs_lanes_meet(acc);
  if (threadIdx.y == 0 && c < cols) {
    if (out0) out0[g * ostride + c] += (float)t.x;
    if (out1) out1[g * ostride + c] += (float)t.y;
  }
}

/* The launch: f is a __device__ functor (g, r, c) -> double2; out0 or out1 may be NULL. */
template <typename F>
static void kc_column_sums(float *out0, float *out1, int64_t ostride, int64_t groups, int64_t rows,
                           int64_t cols, F f) {
  if (groups == 0 || cols == 0 || (!out0 && !out1)) return;
  const int64_t per = cs_chunk_rows(rows), chunks = rows > 0 ? (rows + per - 1) / per : 1;
  double2 *part = kc_column_scratch((size_t)(groups * chunks * cols));
  const unsigned tiles = (unsigned)((cols + CS_COLS - 1) / CS_COLS);
  for (int64_t g0 = 0; g0 < groups; g0 += CS_MAX_GRID_Z) {
    const int64_t ng = groups - g0 < CS_MAX_GRID_Z ? groups - g0 : CS_MAX_GRID_Z;
    cs_partial<<<dim3(tiles, (unsigned)chunks, (unsigned)ng), dim3(CS_COLS, CS_LANES), 0, kc_stream()>>>(
        part, g0, rows, cols, per, chunks, f);
    KC_LAUNCH_CHECK();
    cs_finish<<<dim3(tiles, (unsigned)ng), dim3(CS_COLS, CS_LANES), 0, kc_stream()>>>(out0, out1, ostride,
                                                                                      part, g0, chunks, cols);
    KC_LAUNCH_CHECK();
  }
}

#endif
