/* The CUDA emulator's own checks: that it runs kernels as a GPU would where
 * the kernels of kernels/cuda rely on it (thread and block indices, shared
 * memory per block, barriers, shuffles, votes, tensor-core tiles, launch
 * limits), and that it stops on what a GPU leaves undefined (a barrier some
 * threads skip, a lane that returned before a shuffle, a misaligned tile).
 * Those run in a child process, whose abort and message are the result. */
#include <cuda_runtime.h>
#include <mma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;

static void expect(bool ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  ok ? passed++ : failed++;
}

__global__ void indices(int *out) {
  const int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int b = blockIdx.x + gridDim.x * blockIdx.y;
  out[b * blockDim.x * blockDim.y * blockDim.z + t] = b * 1000 + t;
}

/* Reverse 256 values through shared memory: needs the barrier. */
__global__ void reverse(const float *in, float *out) {
  __shared__ float s[256];
  s[threadIdx.x] = in[blockIdx.x * 256 + threadIdx.x];
  __syncthreads();
  out[blockIdx.x * 256 + threadIdx.x] = s[255 - threadIdx.x];
}
/* The same without the barrier: thread 0 reads slot 255 before thread 255 wrote it. */
__global__ void reverse_racy(const float *in, float *out) {
  __shared__ float s[256];
  s[threadIdx.x] = in[blockIdx.x * 256 + threadIdx.x];
  out[blockIdx.x * 256 + threadIdx.x] = s[255 - threadIdx.x];
}

/* Each thread reads its left neighbour's slot: without a barrier, the
 * forward order hides the race and the reverse order shows it. */
__global__ void shift_racy(float *out) {
  __shared__ float s[64];
  s[threadIdx.x] = (float)threadIdx.x;
  out[threadIdx.x] = s[(threadIdx.x + 63) % 64];
}

__global__ void warp_sums(const int *in, int *out, int *any_odd, int *block_any) {
  int v = in[threadIdx.x];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  out[threadIdx.x] = v;
  any_odd[threadIdx.x] = __any_sync(0xffffffffu, in[threadIdx.x] & 1);
  const int none = __syncthreads_or(in[threadIdx.x] == 77), one = __syncthreads_or(in[threadIdx.x] == 81);
  block_any[threadIdx.x] = none | one << 1;
}

__global__ void dynamic_shared(int *out) {
  extern __shared__ int buf[];
  buf[threadIdx.x] = (int)threadIdx.x * 2;
  __syncthreads();
  out[threadIdx.x] = buf[(threadIdx.x + 1) % blockDim.x];
}

__global__ void tile_product(const __nv_bfloat16 *a, const __nv_bfloat16 *b, float *c) {
  using namespace nvcuda;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fill_fragment(acc, 1.0f);
  wmma::load_matrix_sync(fa, a, 16);
  wmma::load_matrix_sync(fb, b, 16);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}

__global__ void divergent_barrier(int *out) {
  if (threadIdx.x < 16)
    __syncthreads();
  else
    __syncwarp();
  out[threadIdx.x] = 1;
}
__global__ void returned_lane(int *out) {
  if (threadIdx.x == 5) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
}
__global__ void misaligned_tile(const __nv_bfloat16 *a) {
  nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __nv_bfloat16, nvcuda::wmma::row_major> fa;
  nvcuda::wmma::load_matrix_sync(fa, a + 1, 16);
}

/* Half-warps shuffling a different number of times under their own masks,
 * then the whole warp together: each meeting pairs the right offers. */
__global__ void half_warps(int *out) {
  const unsigned lane = threadIdx.x, half = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  int v = (int)lane;
  const int rounds = lane < 16 ? 3 : 1;
  for (int r = 0; r < rounds; r++) v += __shfl_xor_sync(half, v, 1);
  out[lane] = __shfl_xor_sync(0xffffffffu, v, 16);
}
/* Groups of 16: lanes of the upper group may read the lower one, not the reverse. */
__global__ void narrow_xor(int *out) {
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 16, 16);
}
/* A lane that returned is not waited for at __syncwarp or a vote. */
__global__ void vote_after_return(int *out) {
  if (threadIdx.x == 31) return;
  __syncwarp();
  out[threadIdx.x] = __any_sync(0xffffffffu, threadIdx.x == 30);
}
/* A stored tile read back by other lanes: needs the __syncwarp. */
__global__ void tile_round_trip(const float *in, float *out, int sync) {
  __shared__ __align__(32) float t[256];
  nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> acc;
  nvcuda::wmma::load_matrix_sync(acc, in, 16, nvcuda::wmma::mem_row_major);
  nvcuda::wmma::store_matrix_sync(t, acc, 16, nvcuda::wmma::mem_row_major);
  if (sync) __syncwarp();
  for (int i = (int)threadIdx.x; i < 256; i += 32) out[i] = t[255 - i];
}
/* Static shared memory starts as NaN in every block, not with the last block's values. */
__global__ void stale_static_shared(float *out) {
  __shared__ float s[32];
  out[blockIdx.x * 32 + threadIdx.x] = s[threadIdx.x];
  s[threadIdx.x] = 1.0f;
}

/* A butterfly sum in a block of 48: the second warp's lanes 16..31 do not exist. */
__global__ void partial_warp_sum(int *out) {
  int v = 1;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  out[threadIdx.x] = v;
}

/* Writes n + 1 values into an array of n. */
__global__ void one_past(float *out, int n) {
  if ((int)threadIdx.x <= n) out[threadIdx.x] = 1.0f;
}

/* Run f in a child: true when it aborts with `message` in its stderr. */
static bool aborts_with(void (*f)(), const char *message) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    f();
    _exit(0);
  }
  close(pipefd[1]);
  char buf[4096] = {0};
  size_t got = 0;
  ssize_t r;
  while (got + 1 < sizeof buf && (r = read(pipefd[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!strstr(buf, message)) fprintf(stdout, "     child said: %s\n", buf);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(buf, message);
}

static void run_divergent() {
  int *d;
  cudaMalloc(&d, 64 * sizeof(int));
  divergent_barrier<<<1, 64>>>(d);
}
static void run_returned_lane() {
  int *d;
  cudaMalloc(&d, 32 * sizeof(int));
  returned_lane<<<1, 32>>>(d);
}
static void run_one_past() {
  float *d;
  cudaMalloc(&d, 64 * sizeof(float)); /* 256 bytes: no slack after it */
  one_past<<<1, 96>>>(d, 64);
}
static void run_after_free() {
  float *d;
  cudaMalloc(&d, 64 * sizeof(float));
  cudaFree(d);
  one_past<<<1, 32>>>(d, 16);
}
static void run_partial_warp() {
  int *d;
  cudaMalloc(&d, 48 * sizeof(int));
  partial_warp_sum<<<1, 48>>>(d);
}
static void run_misaligned() {
  __nv_bfloat16 *d;
  cudaMalloc(&d, 512 * sizeof(__nv_bfloat16));
  misaligned_tile<<<1, 32>>>(d);
}

int main() {
  setvbuf(stdout, NULL, _IOLBF, 0);
  { /* indices over a 2-D grid of 3-D blocks */
    const int n = 6 * 24;
    int *d, h[n];
    cudaMalloc(&d, sizeof h);
    indices<<<dim3(3, 2), dim3(2, 3, 4)>>>(d);
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    bool ok = true;
    for (int i = 0; i < n; i++) ok &= h[i] == (i / 24) * 1000 + i % 24;
    expect(ok, "thread and block indices of a 3x2 grid of 2x3x4 blocks");
    cudaFree(d);
  }
  { /* shared memory and __syncthreads; without the barrier the race shows */
    float h[512], o[512], *din, *dout;
    for (int i = 0; i < 512; i++) h[i] = (float)i;
    cudaMalloc(&din, sizeof h);
    cudaMalloc(&dout, sizeof o);
    cudaMemcpy(din, h, sizeof h, cudaMemcpyHostToDevice);
    reverse<<<2, 256>>>(din, dout);
    cudaMemcpy(o, dout, sizeof o, cudaMemcpyDeviceToHost);
    bool ok = true;
    for (int i = 0; i < 512; i++) ok &= o[i] == h[(i / 256) * 256 + 255 - i % 256];
    expect(ok, "shared-memory reversal with __syncthreads, per block");
    reverse_racy<<<1, 256>>>(din, dout);
    cudaMemcpy(o, dout, sizeof o, cudaMemcpyDeviceToHost);
    bool stale = false; /* the first thread to run reads a slot nobody wrote yet */
    for (int i = 0; i < 256; i++) stale |= !(o[i] == h[255 - i]);
    expect(stale, "the same without the barrier reads an unwritten slot");
    shift_racy<<<1, 64>>>(dout);
    cudaMemcpy(o, dout, 64 * sizeof(float), cudaMemcpyDeviceToHost);
    const char *order = getenv("LOLA_EMU_ORDER");
    const bool reverse = order && strcmp(order, "reverse") == 0;
    expect(reverse ? o[5] != 4.0f : o[5] == 4.0f,
           reverse ? "reading a neighbour's slot without a barrier: the reverse order shows the race"
                   : "reading a neighbour's slot without a barrier: the forward order hides the race");
    cudaFree(din);
    cudaFree(dout);
  }
  { /* shuffles, votes */
    int h[64], sums[64], any[64], blk[64], *d, *ds, *da, *db;
    for (int i = 0; i < 64; i++) h[i] = i < 32 ? 2 * i : 2 * i + (i == 40);
    cudaMalloc(&d, sizeof h), cudaMalloc(&ds, sizeof h), cudaMalloc(&da, sizeof h), cudaMalloc(&db, sizeof h);
    cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice);
    warp_sums<<<1, 64>>>(d, ds, da, db);
    cudaMemcpy(sums, ds, sizeof h, cudaMemcpyDeviceToHost);
    cudaMemcpy(any, da, sizeof h, cudaMemcpyDeviceToHost);
    cudaMemcpy(blk, db, sizeof h, cudaMemcpyDeviceToHost);
    int s0 = 0, s1 = 0;
    for (int i = 0; i < 32; i++) s0 += h[i], s1 += h[32 + i];
    bool ok_sum = true, ok_any = true, ok_blk = true;
    for (int i = 0; i < 64; i++) {
      ok_sum &= sums[i] == (i < 32 ? s0 : s1);
      ok_any &= any[i] == (i >= 32);
      ok_blk &= blk[i] == 2;
    }
    expect(ok_sum, "__shfl_xor_sync butterfly sums, per warp");
    expect(ok_any, "__any_sync, per warp");
    expect(ok_blk, "__syncthreads_or: false for none, true for one thread (of another warp)");
  }
  { /* dynamic shared memory and its limit */
    int *d, h[128];
    cudaMalloc(&d, sizeof h);
    dynamic_shared<<<1, 128, 128 * sizeof(int)>>>(d);
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    bool ok = cudaGetLastError() == cudaSuccess;
    for (int i = 0; i < 128; i++) ok &= h[i] == 2 * ((i + 1) % 128);
    expect(ok, "extern __shared__ memory of the launch");
    dynamic_shared<<<1, 128, 64 << 10>>>(d);
    expect(cudaGetLastError() == cudaErrorInvalidValue, "64 KiB of dynamic shared memory refused by default");
    cudaFuncSetAttribute(dynamic_shared, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 << 10);
    dynamic_shared<<<1, 128, 64 << 10>>>(d);
    expect(cudaGetLastError() == cudaSuccess, "... and taken once the kernel's attribute allows it");
    dynamic_shared<<<1, 2048>>>(d);
    expect(cudaGetLastError() == cudaErrorInvalidConfiguration, "a block of 2048 threads refused");
    cudaFree(d);
  }
  { /* a 16x16x16 bf16 tile product with fp32 accumulation */
    __nv_bfloat16 ha[256], hb[256], *da, *db;
    float hc[256], *dc;
    for (int i = 0; i < 256; i++)
      ha[i] = __float2bfloat16_rn((float)(i % 7) - 3), hb[i] = __float2bfloat16_rn((float)(i % 5) * 0.5f);
    cudaMalloc(&da, sizeof ha), cudaMalloc(&db, sizeof hb), cudaMalloc(&dc, sizeof hc);
    cudaMemcpy(da, ha, sizeof ha, cudaMemcpyHostToDevice);
    cudaMemcpy(db, hb, sizeof hb, cudaMemcpyHostToDevice);
    tile_product<<<1, 32>>>(da, db, dc);
    cudaMemcpy(hc, dc, sizeof hc, cudaMemcpyDeviceToHost);
    bool ok = true;
    for (int i = 0; i < 16; i++)
      for (int j = 0; j < 16; j++) {
        float s = 1.0f; /* b is col_major: element (k, j) at b[j * 16 + k] */
        for (int k = 0; k < 16; k++) s += __bfloat162float(ha[i * 16 + k]) * __bfloat162float(hb[j * 16 + k]);
        ok &= hc[i * 16 + j] == s;
      }
    expect(ok, "wmma bf16 tile product, row-major a, column-major b");
  }
  { /* warp meetings under partial masks, narrow shuffles, returned lanes */
    int h[32], *d;
    cudaMalloc(&d, sizeof h);
    half_warps<<<1, 32>>>(d);
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    bool ok = true; /* lower pairs: (a+b) doubled twice; upper pairs: a+b; then the halves swap */
    for (int l = 0; l < 32; l++) {
      const int m = l ^ 16, pair = (m & ~1) + (m | 1);
      ok &= h[l] == (m < 16 ? 4 * pair : pair);
    }
    expect(ok, "half-warps shuffling 3 and 1 times under their own masks, then together");
    narrow_xor<<<1, 32>>>(d);
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    ok = true;
    for (int l = 0; l < 32; l++) ok &= h[l] == (l < 16 ? l : l - 16);
    expect(ok, "__shfl_xor_sync width 16: a later group gives the own value, an earlier one its value");
    vote_after_return<<<1, 32>>>(d);
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    ok = cudaGetLastError() == cudaSuccess;
    for (int l = 0; l < 31; l++) ok &= h[l] == 1;
    expect(ok, "__syncwarp and __any_sync with a lane of the mask returned");
    cudaFree(d);
  }
  { /* tiles stored lane by lane; static shared memory fresh per block */
    float h[256], o[256], *din, *dout;
    for (int i = 0; i < 256; i++) h[i] = (float)i;
    cudaMalloc(&din, sizeof h), cudaMalloc(&dout, sizeof o);
    cudaMemcpy(din, h, sizeof h, cudaMemcpyHostToDevice);
    tile_round_trip<<<1, 32>>>(din, dout, 1);
    cudaMemcpy(o, dout, sizeof o, cudaMemcpyDeviceToHost);
    bool ok = true, stale = false;
    for (int i = 0; i < 256; i++) ok &= o[i] == h[255 - i];
    expect(ok, "a stored tile read back by other lanes after __syncwarp");
    tile_round_trip<<<1, 32>>>(din, dout, 0);
    cudaMemcpy(o, dout, sizeof o, cudaMemcpyDeviceToHost);
    for (int i = 0; i < 256; i++) stale |= !(o[i] == h[255 - i]);
    expect(stale, "... and without it reads what other lanes have not stored");
    stale_static_shared<<<2, 32>>>(dout);
    cudaMemcpy(o, dout, 64 * sizeof(float), cudaMemcpyDeviceToHost);
    ok = true;
    for (int i = 0; i < 64; i++) ok &= o[i] != o[i];
    expect(ok, "static __shared__ memory reads NaN before it is written, in every block");
    cudaFree(din);
    cudaFree(dout);
  }
  expect(aborts_with(run_divergent, "deadlock"), "a __syncthreads half the block skips stops the program");
  expect(aborts_with(run_returned_lane, "which has returned"),
         "a shuffle waiting for a returned lane stops it");
  expect(aborts_with(run_misaligned, "not 256-bit aligned"), "a misaligned tile load stops it");
  expect(aborts_with(run_partial_warp, "past the block's 48 threads"),
         "a shuffle from a lane a partial warp lacks stops it");
  expect(aborts_with(run_one_past, "0 bytes past the end of a device allocation of 256 bytes"),
         "a write one element past an allocation stops it, naming the kernel and thread");
  expect(aborts_with(run_after_free, "freed by cudaFree"), "a write to freed device memory stops it");
  printf("\nemulator self-test: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
