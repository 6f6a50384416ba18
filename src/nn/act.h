/* Sizing of activation arenas. Every arena allocation is rounded up to
 * ARENA_ALIGN bytes, so a module's activation_bytes sums act_bytes() of each
 * allocation its forward (and its backward's scratch) makes. Backward scratch
 * is taken above the forward's allocations and released on return
 * (act_mark / act_release), so sibling modules reuse it. */
#ifndef LOLA_NN_ACT_H
#define LOLA_NN_ACT_H

#include <stddef.h>
#include <stdint.h>

#include "../tensor.h"

static inline size_t act_bytes(int64_t floats) {
  size_t b = (size_t)floats * sizeof(float);
  return (b + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

static inline size_t act_mark(const arena *a) { return a->used; }
static inline void act_release(arena *a, size_t mark) { a->used = mark; }

static inline size_t act_max(size_t a, size_t b) { return a > b ? a : b; }

#endif
