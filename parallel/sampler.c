#include "sampler.h"

#include <stdlib.h>

#include "../kernels/rng.h"
#include "../src/error.h"

void dist_sampler_init(dist_sampler *s, long n, long global_batch, uint64_t seed, bool shuffle, int rank,
                       int size) {
  if (global_batch < 1 || global_batch % size != 0)
    lola_die(LOLA_EXIT_DECK, "sampler: global batch %ld is not a positive multiple of the %d ranks",
             global_batch, size);
  if (global_batch > n)
    lola_die(LOLA_EXIT_DATA, "sampler: global batch %ld is larger than the %ld items of the dataset",
             global_batch, n);
  *s = (dist_sampler){.n = n,
                      .global_batch = global_batch,
                      .local_batch = global_batch / size,
                      .rank = rank,
                      .size = size,
                      .seed = seed,
                      .shuffle = shuffle,
                      .epoch = -1};
  s->order = lola_malloc((size_t)n * sizeof *s->order, "sampler permutation");
}

void dist_sampler_free(dist_sampler *s) {
  free(s->order);
  s->order = NULL;
}

long dist_sampler_batches(const dist_sampler *s) { return s->n / s->global_batch; }

/* Uniform integer in [0, bound) without modulo bias (Lemire's multiply-shift
 * with rejection), from 32-bit words of the stream. */
static uint64_t below(rng_stream *st, uint64_t bound) {
  if (bound <= 0xFFFFFFFFu) {
    uint64_t m = (uint64_t)rng_next_word(st) * bound;
    uint32_t low = (uint32_t)m;
    if (low < bound) {
      uint32_t threshold = (uint32_t)(-(uint32_t)bound) % (uint32_t)bound;
      while (low < threshold) {
        m = (uint64_t)rng_next_word(st) * bound;
        low = (uint32_t)m;
      }
    }
    return m >> 32;
  }
  for (;;) { /* rare: more than 2^32 items */
    uint64_t w = ((uint64_t)rng_next_word(st) << 32) | rng_next_word(st);
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    if (w < limit) return w % bound;
  }
}

static void draw_epoch(dist_sampler *s, long epoch) {
  for (long i = 0; i < s->n; i++) s->order[i] = i;
  if (s->shuffle) { /* Fisher-Yates, the same on every rank */
    rng_key key = {.seed = s->seed, .purpose = RNG_DATA_ORDER, .step = (uint32_t)epoch};
    rng_stream st = rng_stream_at(key, 0);
    for (long i = s->n - 1; i > 0; i--) {
      long j = (long)below(&st, (uint64_t)i + 1);
      long t = s->order[i];
      s->order[i] = s->order[j];
      s->order[j] = t;
    }
  }
  s->epoch = epoch;
}

void dist_sampler_batch(dist_sampler *s, long epoch, long batch, long *indices) {
  if (batch < 0 || batch >= dist_sampler_batches(s))
    lola_die(LOLA_EXIT_RUNTIME, "sampler: batch %ld out of range [0, %ld)", batch, dist_sampler_batches(s));
  if (s->epoch != epoch) draw_epoch(s, epoch);
  const long *first = s->order + batch * s->global_batch + (long)s->rank * s->local_batch;
  for (long i = 0; i < s->local_batch; i++) indices[i] = first[i];
}

void dist_sampler_step(dist_sampler *s, long step, long *indices, long *global_slot) {
  long per = dist_sampler_batches(s);
  dist_sampler_batch(s, step / per, step % per, indices);
  if (global_slot)
    for (long i = 0; i < s->local_batch; i++) global_slot[i] = (long)s->rank * s->local_batch + i;
}
