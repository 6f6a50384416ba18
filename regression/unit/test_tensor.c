/* Tensors, arenas and the parameter registry. */
#include <stdint.h>
#include <string.h>

#include "../../src/tensor.h"
#include "harness.h"

TEST(dtypes_and_shapes) {
  CHECK(dtype_size(DT_F32) == 4 && dtype_size(DT_BF16) == 2 && dtype_size(DT_F16) == 2);
  CHECK(dtype_size(DT_I64) == 8 && dtype_size(DT_BOOL) == 1);
  CHECK(strcmp(dtype_name(DT_BF16), "BF16") == 0);
  int64_t shape[3] = {2, 3, 5};
  CHECK(shape_numel(3, shape) == 30);
  CHECK(shape_numel(0, shape) == 1); /* a scalar */
  char buf[64];
  CHECK(strcmp(shape_str(3, shape, buf, sizeof buf), "(2, 3, 5)") == 0);
  CHECK(strcmp(shape_str(0, shape, buf, sizeof buf), "()") == 0);
}

TEST(arena_bumps_aligned_resets_and_dies_when_exhausted) {
  uint64_t heap_before = arena_heap_allocations();
  arena a;
  arena_init(&a, 1000, "activations");
  CHECK(arena_heap_allocations() == heap_before + 1);
  CHECK(a.capacity == 1024);
  char *p = arena_alloc(&a, 1), *q = arena_alloc(&a, 65);
  CHECK((uintptr_t)p % ARENA_ALIGN == 0 && (uintptr_t)q % ARENA_ALIGN == 0);
  CHECK(q - p == ARENA_ALIGN);
  int64_t shape[2] = {4, 8};
  tensor t = arena_tensor(&a, DT_F32, 2, shape);
  CHECK(tensor_numel(&t) == 32 && t.ndim == 2 && t.shape[1] == 8);
  CHECK((char *)t.data - q == 2 * ARENA_ALIGN);
  CHECK(a.used == 5 * ARENA_ALIGN && a.high_water == 5 * ARENA_ALIGN); /* 64 + 128 + 128 bytes */
  arena_reset(&a);
  CHECK(a.used == 0 && a.high_water == 5 * ARENA_ALIGN);
  CHECK(arena_alloc(&a, 10) == p); /* the same memory again */
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, arena_alloc(&a, 2000)));
  CHECK(strstr(trap.message, "activations") != NULL);
  CHECK(arena_heap_allocations() == heap_before + 1); /* never fell back to the heap */
  arena_free(&a);
}

TEST(parameter_registry_lays_out_contiguous_aligned_arrays) {
  param_registry r;
  params_init(&r, 8);
  int64_t w[2] = {3, 5}, b[1] = {3}, s[1] = {17};
  int iw = params_add(&r, "blocks.0.linear.weight", 2, w);
  int ib = params_add(&r, "blocks.0.linear.bias", 1, b);
  int is = params_add(&r, "ada_zero", 1, s);
  CHECK(iw == 0 && ib == 1 && is == 2);
  CHECK(r.entries[ib].offset == 16 && r.entries[is].offset == 32); /* 15 -> 16, 3 -> 16 */
  CHECK(r.total == 64);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, params_add(&r, "ada_zero", 1, s)));
  CHECK(strstr(trap.message, "ada_zero") != NULL);
  params_finalize(&r);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, params_add(&r, "late", 1, s)));
  CHECK(params_value(&r, ib) == r.values + 16 && params_grad(&r, is) == r.grads + 32);
  CHECK((uintptr_t)params_value(&r, is) % 64 == 0);
  bool zero = true;
  for (int64_t i = 0; i < r.total; i++)
    zero &= r.values[i] == 0 && r.grads[i] == 0 && r.m[i] == 0 && r.v[i] == 0;
  CHECK(zero);
  CHECK(params_find(&r, "blocks.0.linear.bias") == ib && params_find(&r, "nope") == -1);
  params_grad(&r, iw)[4] = 2.0f;
  params_zero_grad(&r);
  CHECK(params_grad(&r, iw)[4] == 0.0f);
  params_free(&r);
}
