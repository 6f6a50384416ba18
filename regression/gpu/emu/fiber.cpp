/* The CUDA emulator's threads: one fiber per thread of a block, switched by
 * hand (x86-64), run in thread order until each waits at a barrier; the
 * barriers are released when everyone they wait for has arrived. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <unordered_map>

#include "cuemu.h"

#if !defined(__x86_64__)
#error "the CUDA emulator switches fibers with x86-64 code"
#endif

/* cuemu_switch(save, to): save the callee-saved registers on this stack,
 * store its pointer in *save, continue on the stack `to` as it was saved.
 * The floating-point control words are left alone: no kernel changes them. */
extern "C" void cuemu_switch(void **save, void *to);
asm(R"(
  .pushsection .text
  .globl cuemu_switch
  .type cuemu_switch, @function
cuemu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size cuemu_switch, .-cuemu_switch
  .popsection
)");

namespace cuemu {

fiber *current;
uint3 block_idx;
dim3 block_dim, grid_dim;

enum { MAX_THREADS = 1024, STACK_BYTES = 256 << 10, PAGE = 4096 };

static fiber fibers[MAX_THREADS];
static char *stacks[MAX_THREADS];
static int nthreads;
static void *scheduler_sp;
static thunk_fn thread_thunk;
static void *thread_ctx;
static const char *kernel_name = "(no kernel)";
static void *smem;
static size_t smem_capacity;

void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "CUDA emulator: kernel %s, block (%u,%u,%u)", kernel_name, block_idx.x, block_idx.y,
          block_idx.z);
  if (current) fprintf(stderr, ", thread (%u,%u,%u)", current->tid.x, current->tid.y, current->tid.z);
  fprintf(stderr, ": ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  abort();
}

/* A fault near device memory or in a thread's stack guard: stop with the
 * kernel, block and thread, as compute-sanitizer would; any other fault
 * keeps its usual end. Runs on its own stack, so a stack overflow gets here. */
static void on_fault(int sig, siginfo_t *info, void *) {
  char what[256];
  if (describe_device_address(info->si_addr, what, sizeof what)) fail("invalid access: %s", what);
  for (int i = 0; i < MAX_THREADS; i++)
    if (stacks[i] && (char *)info->si_addr >= stacks[i] - PAGE && (char *)info->si_addr < stacks[i])
      fail("a thread's stack (%d KiB) overflowed", STACK_BYTES >> 10);
  signal(sig, SIG_DFL); /* not ours: fault again, the usual way */
}

void catch_faults() {
  static bool done;
  if (done) return;
  done = true;
  static char alt[64 << 10];
  stack_t st = {};
  st.ss_sp = alt;
  st.ss_size = sizeof alt;
  sigaltstack(&st, NULL);
  struct sigaction sa = {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
}

static int live;          /* threads of the block not ended */
static int block_waiting; /* of them, those at __syncthreads */

static void leave(fiber *me);

static void thread_main() {
  fiber *f = current;
  thread_thunk(thread_ctx);
  f->state = FIBER_DONE;
  live--;
  leave(f);
  __builtin_unreachable();
}

/* A fresh stack whose first switch "returns" into thread_main, aligned as
 * after a call. */
static void *fresh_stack(char *base) {
  uint64_t *top = (uint64_t *)(base + STACK_BYTES);
  top[-1] = 0;                              /* thread_main's return address: never used */
  top[-2] = (uint64_t)&thread_main;         /* where the switch's ret goes */
  for (int r = 3; r <= 8; r++) top[-r] = 0; /* rbp rbx r12 r13 r14 r15 */
  return &top[-8];
}

static char *stack_for(int i) {
  if (!stacks[i]) { /* a guard page below, so an overflow faults instead of corrupting */
    char *m =
        (char *)mmap(NULL, STACK_BYTES + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) fail("no memory for a thread's stack");
    mprotect(m, PAGE, PROT_NONE);
    stacks[i] = m + PAGE;
  }
  return stacks[i];
}

/* The order threads and blocks run in: 0, 1, ... or, with
 * LOLA_EMU_ORDER=reverse, the other way, so that a missing barrier shows
 * whichever of two threads reads what the other writes. */
static int order_step = 1;
static fiber *first_in_order() { return &fibers[order_step > 0 ? 0 : nthreads - 1]; }

/* Release a completed __syncthreads: every live thread is there. */
static bool release_block() {
  if (live == 0 || block_waiting != live) return false;
  for (int i = 0; i < nthreads; i++)
    if (fibers[i].state == FIBER_BLOCK_WAIT) fibers[i].state = FIBER_READY;
  block_waiting = 0;
  return true;
}

/* A lane of `me`'s mask has reached the same barrier: waits there with the
 * same mask, or has returned (a returned lane is no longer waited for). */
static bool arrived(const fiber *me, int t) {
  return fibers[t].state == FIBER_DONE ||
         (fibers[t].state == FIBER_WARP_WAIT && fibers[t].wait_mask == me->wait_mask);
}

/* What a shuffling lane gets: its source's offer (the source waits at the
 * same meeting, as the release found, unless it returned: an error). */
static uint64_t shuffle_result(const fiber *f) {
  if (f->src < 0) return f->offer;
  if (f->src >= nthreads) /* a partial warp's missing lane: undefined on a GPU */
    fail("a shuffle (mask 0x%08x) reads lane %d, past the block's %d threads", f->wait_mask, f->src % 32,
         nthreads);
  const fiber *from = &fibers[f->src];
  if (from->warp != f->warp || !(f->wait_mask >> from->lane & 1u))
    fail("a shuffle (mask 0x%08x) reads lane %d, which is not in its mask", f->wait_mask, from->lane);
  if (from->state == FIBER_DONE)
    fail("lane %d shuffles (mask 0x%08x) from lane %d, which has returned", f->lane, f->wait_mask,
         from->lane);
  return from->offer;
}

/* The warp barrier `me` waits at, when every lane of its mask is there:
 * released, each lane's result set (a vote the or of the offers, a shuffle
 * its source's offer), and the first of its lanes in the run order
 * returned; NULL otherwise. Lanes meeting at different warp operations is
 * an error, undefined on a GPU. */
static fiber *release_warp_of(fiber *me) {
  fiber *lanes[32];
  int n = 0;
  uint64_t any = 0;
  const int base = me->warp * 32;
  unsigned todo = nthreads - base >= 32 ? me->wait_mask : me->wait_mask & ((1u << (nthreads - base)) - 1u);
  for (; todo; todo &= todo - 1) {
    fiber *f = &fibers[base + __builtin_ctz(todo)];
    if (!arrived(me, f->linear)) return NULL;
    if (f->state == FIBER_DONE) continue;
    if (f->op != me->op) fail("lanes %d and %d meet at different warp operations", me->lane, f->lane);
    any |= f->offer;
    lanes[n++] = f;
  }
  for (int k = 0; k < n; k++) { /* the offers stay in place until the lanes run again */
    if (me->op == WARP_SHUFFLE) lanes[k]->result = shuffle_result(lanes[k]);
    if (me->op == WARP_OR) lanes[k]->result = any;
    lanes[k]->state = FIBER_READY;
  }
  return order_step > 0 ? lanes[0] : lanes[n - 1];
}

/* `me` has stopped (at a barrier, or ended): go on with the thread that
 * completes a barrier's round, else the next ready thread after it, else the
 * scheduler. Switching thread to thread, not through the scheduler, keeps a
 * warp's shuffles to one switch per lane. */
static void leave(fiber *me) {
  fiber *next = NULL;
  if (me->state == FIBER_WARP_WAIT) { /* the last of its lanes to run: try the release */
    const unsigned above = me->lane == 31 ? 0u : me->wait_mask >> (me->lane + 1);
    const unsigned below = me->wait_mask & ((1u << me->lane) - 1u);
    const bool last = order_step > 0 ? above == 0 || me->linear + 1 >= nthreads : below == 0;
    if (last) next = release_warp_of(me);
  } else if (me->state == FIBER_BLOCK_WAIT) {
    block_waiting++;
  }
  if (!next && release_block()) next = first_in_order();
  for (int i = me->linear + order_step; !next && i >= 0 && i < nthreads; i += order_step)
    if (fibers[i].state == FIBER_READY) next = &fibers[i];
  while (next && next->state != FIBER_READY) next += order_step; /* after a release: its first ready thread */
  if (next == me) return;
  current = next;
  cuemu_switch(&me->sp, next ? next->sp : scheduler_sp);
  current = me;
}

static void wait_here(fiber_state s) {
  fiber *me = current;
  me->state = s;
  leave(me);
}

void sync_block() { wait_here(FIBER_BLOCK_WAIT); }

static uint64_t warp_meet(unsigned mask, warp_op op, uint64_t offer, int src) {
  fiber *me = current;
  if (!(mask >> me->lane & 1u))
    fail("a warp-synchronous call whose mask 0x%08x leaves out its own lane", mask);
  me->wait_mask = mask;
  me->op = op;
  me->offer = offer;
  me->src = src;
  wait_here(FIBER_WARP_WAIT);
  return me->result;
}

void sync_warp(unsigned mask) { warp_meet(mask, WARP_SYNC, 0, -1); }
uint64_t warp_exchange(unsigned mask, uint64_t v, int src) { return warp_meet(mask, WARP_SHUFFLE, v, src); }
uint64_t warp_or(unsigned mask, uint64_t pred) { return warp_meet(mask, WARP_OR, pred, -1); }

/* A thread that has ended offers nothing: only the offers of this same call count. */
uint64_t block_or(uint64_t pred) {
  fiber *me = current;
  const int64_t call = me->block_calls++;
  const int r = (int)(call & 1);
  me->block_slot[r] = pred;
  me->block_call[r] = call;
  sync_block();
  uint64_t any = 0;
  for (int i = 0; i < nthreads; i++)
    if (fibers[i].block_call[r] == call) any |= fibers[i].block_slot[r];
  return any;
}

void *dynamic_smem() { return smem; }

static uint64_t block_serial; /* blocks run so far, by every kernel */

void fresh_shared(void *p, size_t bytes) {
  static std::unordered_map<void *, uint64_t> filled_in; /* variable -> the block that last filled it */
  uint64_t &b = filled_in[p];
  if (b == block_serial) return;
  b = block_serial;
  memset(p, 0xff, bytes);
}

/* The scheduler's part when no thread could hand over: the warp barriers
 * whose lanes have all arrived, then a complete __syncthreads. */
static bool release_any() {
  bool released = false;
  for (int i = 0; i < nthreads; i++)
    if (fibers[i].state == FIBER_WARP_WAIT) released |= release_warp_of(&fibers[i]) != NULL;
  return release_block() || released;
}

/* Nothing can run or be released: say who waits for whom. */
[[noreturn]] static void report_deadlock() {
  for (int i = 0; i < nthreads; i++) {
    const fiber *f = &fibers[i];
    if (f->state != FIBER_WARP_WAIT) continue;
    for (int l = 0; l < 32; l++) {
      const int t = f->warp * 32 + l;
      if (f->wait_mask >> l & 1u && t < nthreads && !arrived(f, t)) {
        current = &fibers[i];
        fail(
            "deadlock: %d threads wait at __syncthreads, %d at warp barriers; this lane waits (mask 0x%08x) "
            "for lane %d, which is %s",
            block_waiting, live - block_waiting, f->wait_mask, l,
            fibers[t].state == FIBER_BLOCK_WAIT ? "at __syncthreads" : "at a warp barrier with another mask");
      }
    }
  }
  fail("deadlock: %d threads wait at __syncthreads, %d at warp barriers", block_waiting,
       live - block_waiting);
}

static void run_block() {
  for (int i = 0; i < nthreads; i++) {
    fiber *f = &fibers[i];
    f->linear = i;
    f->tid = make_uint3((unsigned)i % block_dim.x, (unsigned)i / block_dim.x % block_dim.y,
                        (unsigned)i / (block_dim.x * block_dim.y));
    f->lane = i % 32;
    f->warp = i / 32;
    f->state = FIBER_READY;
    f->block_slot[0] = f->block_slot[1] = 0;
    f->block_call[0] = f->block_call[1] = -1;
    f->block_calls = 0;
    f->sp = fresh_stack(stack_for(i));
  }
  live = nthreads;
  block_waiting = 0;
  block_serial++;
  if (smem_capacity) memset(smem, 0xff, smem_capacity); /* NaNs until written */
  int cursor = first_in_order()->linear;
  while (live > 0) {
    int ready = -1;
    for (int k = 0; k < nthreads && ready < 0; k++) {
      const int i = ((cursor + order_step * k) % nthreads + nthreads) % nthreads;
      if (fibers[i].state == FIBER_READY) ready = i;
    }
    if (ready >= 0) {
      cursor = ready;
      current = &fibers[ready];
      cuemu_switch(&scheduler_sp, fibers[ready].sp);
      current = NULL;
      continue;
    }
    if (release_any()) continue;
    report_deadlock();
  }
}

/* A launch the checks of runtime.cpp refuse runs nothing and leaves its
 * error for cudaGetLastError, as a real launch does. */
void run_kernel(const char *name, const void *fn, dim3 grid, dim3 block, size_t dynamic_smem_bytes,
                thunk_fn thunk, void *ctx) {
  cudaError_t e = launch_error(fn, grid, block, dynamic_smem_bytes);
  if (e != cudaSuccess) {
    set_last_error(e);
    return;
  }
  catch_faults();
  kernel_name = name;
  thread_thunk = thunk;
  thread_ctx = ctx;
  block_dim = block;
  grid_dim = grid;
  nthreads = (int)(block.x * block.y * block.z);
  if (dynamic_smem_bytes > smem_capacity) {
    free(smem);
    smem = aligned_alloc(128, (dynamic_smem_bytes + 127) / 128 * 128);
    if (!smem) fail("no memory for %zu bytes of shared memory", dynamic_smem_bytes);
    smem_capacity = (dynamic_smem_bytes + 127) / 128 * 128;
  }
  static const char *order = getenv("LOLA_EMU_ORDER");
  if (order && strcmp(order, "forward") != 0 && strcmp(order, "reverse") != 0)
    fail("LOLA_EMU_ORDER is forward or reverse, not '%s'", order);
  order_step = order && strcmp(order, "reverse") == 0 ? -1 : 1;
  const uint64_t blocks = (uint64_t)grid.x * grid.y * grid.z;
  for (uint64_t k = 0; k < blocks; k++) {
    const uint64_t b = order_step > 0 ? k : blocks - 1 - k;
    block_idx =
        make_uint3((unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y), (unsigned)(b / grid.x / grid.y));
    run_block();
  }
  kernel_name = "(no kernel)";
}

}  // namespace cuemu
