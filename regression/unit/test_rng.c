/* The counter-based generator: Random123's known answers for Philox4x32-10,
 * independence of how a sample's numbers are split across calls, ranks or
 * threads, and the moments of every distribution. */
#include <mpi.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/kernels.h"
#include "../../parallel/comm.h"
#include "harness.h"

TEST(philox_matches_random123_known_answers) {
  /* Random123 tests/kat_vectors, "philox4x32 10": counter[4] key[2] -> output[4]. */
  static const uint32_t kat[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
       0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
       0x5001e420, 0x24126ea1},
  };
  for (int t = 0; t < 3; t++) {
    philox4x32_ctr c = {{kat[t][0], kat[t][1], kat[t][2], kat[t][3]}};
    philox4x32_ctr out = philox4x32_10(c, kat[t][4], kat[t][5]);
    for (int i = 0; i < 4; i++) CHECK(out.v[i] == kat[t][6 + i]);
  }
}

/* Mean and variance of n doubles. */
static void moments(const double *x, int64_t n, double *mean, double *var) {
  double m = 0.0, v = 0.0;
  for (int64_t i = 0; i < n; i++) m += x[i];
  m /= (double)n;
  for (int64_t i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
  *mean = m;
  *var = v / (double)(n - 1);
}

/* The sample mean is within 5 standard errors, the variance within 5%. */
static void check_moments(const double *x, int64_t n, double mean, double var) {
  double m, v;
  moments(x, n, &m, &v);
  CHECK_NEAR(m, mean, 5.0 * sqrt(var / (double)n));
  CHECK_REL(v, var, 0.05);
}

TEST(uniform_and_normal_have_their_moments) {
  enum { N = 200000 };
  float *f = malloc(N * sizeof *f);
  double *d = malloc(N * sizeof *d);
  rng_key key = {.seed = 42, .purpose = RNG_TEST, .step = 7};
  rng_uniform(f, N, key, 3, 0);
  bool inside = true;
  for (int i = 0; i < N; i++) inside &= f[i] > 0.0f && f[i] < 1.0f, d[i] = f[i];
  CHECK(inside);
  check_moments(d, N, 0.5, 1.0 / 12.0);
  rng_normal(f, N, key, 3, 0);
  int64_t within = 0;
  for (int i = 0; i < N; i++) d[i] = f[i], within += fabs(d[i]) < 1.0;
  check_moments(d, N, 0.0, 1.0);
  CHECK_NEAR((double)within / N, 0.682689, 0.005); /* P(|Z| < 1) */
  free(f), free(d);
}

TEST(draws_do_not_depend_on_the_split_or_the_threads) {
  enum { N = 100003 };
  float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
  rng_key key = {.seed = 0x123456789abcULL, .purpose = RNG_NOISE, .step = 2};
  int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  rng_normal(a, N, key, 9, 0);
  omp_set_num_threads(2);
  rng_normal(b, N, key, 9, 0);
  omp_set_num_threads(threads);
  CHECK(memcmp(a, b, N * sizeof *a) == 0);
  /* Elements 1001.. drawn in a second call (an odd offset splits a Box-Muller pair). */
  rng_normal(b, N - 1001, key, 9, 1001);
  CHECK(memcmp(a + 1001, b, (N - 1001) * sizeof *a) == 0);
  rng_uniform(a, 10, key, 9, 0);
  rng_uniform(b, 7, key, 9, 3);
  CHECK(memcmp(a + 3, b, 7 * sizeof *a) == 0);
  /* Another sample, step, purpose or seed gives other numbers. */
  rng_uniform(b, 10, key, 10, 0);
  CHECK(memcmp(a, b, 10 * sizeof *a) != 0);
  rng_key other[3] = {key, key, key};
  other[0].step++, other[1].purpose = RNG_MASK, other[2].seed++;
  for (int k = 0; k < 3; k++) {
    rng_uniform(b, 10, other[k], 9, 0);
    CHECK(memcmp(a, b, 10 * sizeof *a) != 0);
  }
  free(a), free(b);
}

TEST(streams_replay_and_have_their_moments) {
  enum { N = 60000 };
  double *x = malloc(N * sizeof *x);
  rng_key key = {.seed = 5, .purpose = RNG_TEST};
  rng_stream s = rng_stream_at(key, 0), t = rng_stream_at(key, 0);
  for (int i = 0; i < 100; i++) CHECK(rng_next_uniform(&s) == rng_next_uniform(&t));

  /* Beta(a, b): mean a/(a+b), variance ab/((a+b)²(a+b+1)); shape 0.5 exercises the boost below 1. */
  const double ab[2][2] = {{2.0, 5.0}, {0.5, 0.5}};
  for (int k = 0; k < 2; k++) {
    double a = ab[k][0], b = ab[k][1];
    s = rng_stream_at(key, 1 + (uint64_t)k);
    for (int i = 0; i < N; i++) x[i] = rng_next_beta(&s, a, b);
    check_moments(x, N, a / (a + b), a * b / ((a + b) * (a + b) * (a + b + 1.0)));
  }
  /* Kumaraswamy(a, b): E[X^r] = b·B(1 + r/a, b). */
  double a = 2.0, b = 3.0;
  s = rng_stream_at(key, 3);
  for (int i = 0; i < N; i++) x[i] = rng_next_kumaraswamy(&s, a, b);
  double m1 = b * exp(lgamma(1 + 1 / a) + lgamma(b) - lgamma(1 + 1 / a + b));
  double m2 = b * exp(lgamma(1 + 2 / a) + lgamma(b) - lgamma(1 + 2 / a + b));
  check_moments(x, N, m1, m2 - m1 * m1);
  /* Poisson(λ): mean and variance λ, below (Knuth) and above (PTRS) the switch. */
  const double lambdas[3] = {0.7, 3.0, 55.0};
  for (int k = 0; k < 3; k++) {
    s = rng_stream_at(key, 4 + (uint64_t)k);
    for (int i = 0; i < N; i++) x[i] = (double)rng_next_poisson(&s, lambdas[k]);
    check_moments(x, N, lambdas[k], lambdas[k]);
  }
  /* P(X = 0) = e^-λ for λ = 3. */
  s = rng_stream_at(key, 5);
  int zeros = 0;
  for (int i = 0; i < N; i++) zeros += rng_next_poisson(&s, 3.0) == 0;
  CHECK_NEAR((double)zeros / N, exp(-3.0), 5.0 * sqrt(exp(-3.0) / N));
  free(x);
}

TEST(draws_follow_the_documented_counter_layout) {
  /* Element e of (key, sample) comes from word e % 4 of block e / 4 (uniform),
   * normals from the word pair (2j, 2j+1) of their Box-Muller pair j: the CUDA
   * backend must reproduce exactly this. */
  rng_key key = {.seed = 0xfeedbeef12345678ULL, .purpose = RNG_TEST, .step = 11};
  float u[8], z[8];
  rng_uniform(u, 8, key, 77, 0);
  rng_normal(z, 8, key, 77, 0);
  philox4x32_ctr c = {{1, 77, 11, RNG_TEST}};
  philox4x32_ctr w = philox4x32_10(c, 0x12345678u, 0xfeedbeefu);
  CHECK(u[5] == rng_word_to_uniform(w.v[1]));
  double u1 = rng_word_to_uniform(w.v[2]), u2 = rng_word_to_uniform(w.v[3]); /* pair 3: elements 6, 7 */
  CHECK_NEAR(z[6], sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2), 1e-6);
  CHECK_NEAR(z[7], sqrt(-2.0 * log(u1)) * sin(2.0 * M_PI * u2), 1e-6);
}

/* Ranks draw the samples of their block of the global batch; gathered, they
 * are the numbers one rank draws for the whole batch. */
static void check_ranks_reproduce_one_rank(void) {
  enum { SAMPLES = 7, PER = 50 };
  rng_key key = {.seed = 2024, .purpose = RNG_DROPOUT, .step = 5};
  long begin, end;
  comm_block(SAMPLES, comm_rank(), comm_size(), &begin, &end);
  float mine[SAMPLES * PER], ones[SAMPLES * PER], all[SAMPLES * PER], masked[SAMPLES * PER];
  for (long s = begin; s < end; s++) rng_normal(mine + (s - begin) * PER, PER, key, (uint64_t)s, 0);
  for (int i = 0; i < SAMPLES * PER; i++) ones[i] = 1.0f;
  k_dropout_fwd(masked, ones, end - begin, PER, 0.5f, key, (uint64_t)begin); /* this rank's share */
  int counts[16], displs[16], n = (int)((end - begin) * PER);
  for (int r = 0; r < comm_size(); r++) {
    long b, e;
    comm_block(SAMPLES, r, comm_size(), &b, &e);
    counts[r] = (int)((e - b) * PER), displs[r] = (int)(b * PER);
  }
  MPI_Gatherv(mine, n, MPI_FLOAT, all, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
  MPI_Gatherv(masked, n, MPI_FLOAT, mine, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
  if (comm_rank() != 0) return;
  float single[SAMPLES * PER], single_mask[SAMPLES * PER];
  for (int s = 0; s < SAMPLES; s++) rng_normal(single + s * PER, PER, key, (uint64_t)s, 0);
  k_dropout_fwd(single_mask, ones, SAMPLES, PER, 0.5f, key, 0);
  CHECK(memcmp(all, single, sizeof all) == 0);
  CHECK(memcmp(mine, single_mask, sizeof mine) == 0);
}

TEST_RANKS(rng_two_ranks_draw_what_one_rank_draws, 2) { check_ranks_reproduce_one_rank(); }
TEST_RANKS(rng_three_ranks_draw_what_one_rank_draws, 3) { check_ranks_reproduce_one_rank(); }
