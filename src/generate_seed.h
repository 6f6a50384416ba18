/* Random numbers of generated trajectories. A trajectory's numbers depend only
 * on (deck seed, split, global trajectory index), never on the rank that runs
 * it, so a data set is the same whatever the rank count. They come from the
 * project's counter-based generator (kernels/rng.h, Philox4x32-10) with
 * purpose RNG_GENERATE, the split as the step and the trajectory as the sample. */
#ifndef LOLA_GENERATE_SEED_H
#define LOLA_GENERATE_SEED_H

#include <stdint.h>

#include "../kernels/rng.h"

/* The stream of trajectory `index` of split `split` (0 train, 1 valid, 2 test). */
static inline rng_stream trajectory_stream(uint64_t seed, int split, long index) {
  rng_key key = {.seed = seed, .purpose = RNG_GENERATE, .step = (uint32_t)split};
  return rng_stream_at(key, (uint64_t)index);
}

/* 64 bits from a stream, for solvers that take a seed of their own. */
static inline uint64_t stream_seed64(rng_stream *s) {
  uint64_t hi = rng_next_word(s);
  return hi << 32 | rng_next_word(s);
}

#endif
