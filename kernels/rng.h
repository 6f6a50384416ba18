/* Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random
 * numbers: as easy as 1, 2, 3", SC 2011), the generator of Random123, cuRAND
 * and PyTorch's CUDA backend.
 *
 * A number is a pure function of (seed, purpose, step, global sample index,
 * element index): the 64-bit seed is the Philox key and the 128-bit counter is
 *   word 0: element index / 4 (each block yields four 32-bit words),
 *   word 1: global sample index (its low 32 bits),   word 2: step,
 *   word 3: purpose (below 2^16) XOR the sample index's bits 32..47 shifted up 16.
 * So a sample sees the same numbers whatever the rank that holds it, the rank
 * count, the thread count, the device or a restart.
 *
 * Draws that take a variable number of words (Poisson, Beta) read them in order
 * from a stream that walks the element counter of one (key, sample). */
#ifndef LOLA_RNG_H
#define LOLA_RNG_H

#include <stdint.h>

#ifdef __CUDACC__
#define RNG_HD __host__ __device__
#else
#define RNG_HD
#endif

/* What the numbers are for: different purposes never share numbers. */
enum rng_purpose {
  RNG_INIT = 1,       /* parameter initialisation */
  RNG_DATA_ORDER,     /* shuffling of the training set */
  RNG_DROPOUT,        /* dropout masks */
  RNG_NOISE,          /* diffusion / latent noise */
  RNG_DIFFUSION_TIME, /* diffusion noise levels */
  RNG_MASK,           /* context masks of the emulators */
  RNG_SAMPLER,        /* sampling (ensembles, rollouts) */
  RNG_GENERATE,       /* initial conditions of the physics solvers */
  RNG_TEST            /* unit tests */
};

typedef struct {
  uint64_t seed;
  uint32_t purpose;
  uint32_t step;
} rng_key;

typedef struct {
  uint32_t v[4];
} philox4x32_ctr;

/* One Philox4x32 bijection with 10 rounds. */
static inline RNG_HD philox4x32_ctr philox4x32_10(philox4x32_ctr c, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c.v[0];
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c.v[2];
    philox4x32_ctr n;
    n.v[0] = (uint32_t)(p1 >> 32) ^ c.v[1] ^ k0;
    n.v[1] = (uint32_t)p1;
    n.v[2] = (uint32_t)(p0 >> 32) ^ c.v[3] ^ k1;
    n.v[3] = (uint32_t)p0;
    c = n;
    k0 += 0x9E3779B9u; /* golden ratio */
    k1 += 0xBB67AE85u; /* sqrt(3) - 1 */
  }
  return c;
}

/* The four words of block `block` for (key, sample). */
static inline RNG_HD philox4x32_ctr rng_block(rng_key key, uint64_t sample, uint32_t block) {
  philox4x32_ctr c = {{block, (uint32_t)sample, key.step, key.purpose ^ ((uint32_t)(sample >> 32) << 16)}};
  return philox4x32_10(c, (uint32_t)key.seed, (uint32_t)(key.seed >> 32));
}

/* A word to a float uniform in (0, 1): 24 random bits, centred in their cell. */
static inline RNG_HD float rng_word_to_uniform(uint32_t w) { return ((float)(w >> 8) + 0.5f) * 0x1p-24f; }

/* Fill out[0..n) with element indices first..first+n of (key, sample). */
void rng_uniform(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first);
/* Standard normal: Box-Muller on the uniforms of elements (2j, 2j+1). */
void rng_normal(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first);

/* rng_uniform / rng_normal into an array of the active backend (kernels/backend.h):
 * the same uniforms, bit for bit, on every backend; normals to the last bit
 * of the GPU's log, sin and cos (1 float ulp, rarely), which are not the C
 * library's. */
void k_rng_uniform(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first);
void k_rng_normal(float *out, int64_t n, rng_key key, uint64_t sample, int64_t first);

/* A sequential stream over (key, sample), for draws that take a variable number
 * of words. Uniforms here use 53 bits (two words). */
typedef struct {
  rng_key key;
  uint64_t sample;
  uint32_t block;
  int lane; /* next word in `words`; 4 = exhausted */
  philox4x32_ctr words;
} rng_stream;

rng_stream rng_stream_at(rng_key key, uint64_t sample);
uint32_t rng_next_word(rng_stream *s);
double rng_next_uniform(rng_stream *s); /* in (0, 1) */
double rng_next_normal(rng_stream *s);
double rng_next_gamma(rng_stream *s, double shape);             /* Marsaglia-Tsang, scale 1 */
double rng_next_beta(rng_stream *s, double a, double b);        /* X/(X+Y), X~Gamma(a), Y~Gamma(b) */
double rng_next_kumaraswamy(rng_stream *s, double a, double b); /* inverse CDF */
int64_t rng_next_poisson(rng_stream *s, double lambda);         /* Knuth below 12, PTRS above */

#endif
