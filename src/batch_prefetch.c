#include "batch_prefetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

bool ticket_same(const batch_ticket *a, const batch_ticket *b) {
  return a->training == b->training && a->step == b->step && a->part == b->part && a->after == b->after &&
         a->count == b->count;
}

static void ticket_copy(batch_ticket *to, const batch_ticket *from, long capacity) {
  if (from->count < 0 || from->count > capacity)
    lola_die(LOLA_EXIT_RUNTIME, "prefetch: a batch of %d items for buffers of %ld", from->count, capacity);
  long *items = to->items, *slots = to->slots;
  *to = *from;
  to->items = items;
  to->slots = slots;
  memcpy(items, from->items, sizeof(long) * (size_t)from->count);
  memcpy(slots, from->slots, sizeof(long) * (size_t)from->count);
}

/* The helper's fill, its lola_die caught and kept for the caller's thread. */
static void fill_trapped(batch_prefetch *p, int b) {
  lola_error_trap trap = {.code = 0};
  if (setjmp(trap.env) == 0) {
    lola_set_error_trap(&trap);
    p->fill(p->user, b, &p->held[b]);
    lola_set_error_trap(NULL);
  } else { /* lola_die cleared the trap */
    p->failed = trap.code ? trap.code : LOLA_EXIT_RUNTIME;
    snprintf(p->failure, sizeof p->failure, "%s", trap.message);
    p->holds[b] = false;
  }
}

static void *helper(void *arg) {
  batch_prefetch *p = arg;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->stop && p->pending < 0) pthread_cond_wait(&p->cond, &p->lock);
    if (p->stop) break;
    int b = p->busy = p->pending;
    p->pending = -1;
    pthread_mutex_unlock(&p->lock);
    fill_trapped(p, b);
    pthread_mutex_lock(&p->lock);
    p->busy = -1;
    pthread_cond_broadcast(&p->cond);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

void prefetch_init(batch_prefetch *p, batch_fill_fn fill, void *user, long capacity, bool threaded) {
  memset(p, 0, sizeof *p);
  p->fill = fill;
  p->user = user;
  p->threaded = threaded;
  p->capacity = capacity;
  for (int b = 0; b < 2; b++) {
    p->held[b].items = lola_malloc(sizeof(long) * (size_t)capacity, "prefetched batch items");
    p->held[b].slots = lola_malloc(sizeof(long) * (size_t)capacity, "prefetched batch slots");
  }
  p->handed = p->pending = p->busy = -1;
  if (!threaded) return;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  if (pthread_create(&p->thread, NULL, helper, p) != 0)
    lola_die(LOLA_EXIT_RUNTIME, "prefetch: cannot start the helper thread");
}

static void wait_idle(batch_prefetch *p) {
  if (!p->threaded) return;
  pthread_mutex_lock(&p->lock);
  while (p->pending >= 0 || p->busy >= 0) pthread_cond_wait(&p->cond, &p->lock);
  pthread_mutex_unlock(&p->lock);
}

void prefetch_wait(batch_prefetch *p) {
  wait_idle(p);
  if (p->failed) {
    int code = p->failed;
    p->failed = 0;
    lola_die(code, "%s", p->failure);
  }
}

int prefetch_take(batch_prefetch *p, const batch_ticket *want, const batch_ticket *next) {
  prefetch_wait(p);
  int b = -1;
  for (int k = 0; k < 2; k++)
    if (p->holds[k] && ticket_same(&p->held[k], want)) b = k;
  if (b < 0) { /* not prefetched: fill it here */
    b = p->handed == 0 ? 1 : 0;
    ticket_copy(&p->held[b], want, p->capacity);
    p->holds[b] = true;
    p->fill(p->user, b, &p->held[b]);
  }
  p->handed = b;
  if (p->threaded && next) {
    int o = 1 - b;
    ticket_copy(&p->held[o], next, p->capacity);
    p->holds[o] = true;
    pthread_mutex_lock(&p->lock);
    p->pending = o;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
  }
  return b;
}

void prefetch_free(batch_prefetch *p) {
  if (p->threaded) {
    wait_idle(p); /* a failure nobody took a batch after is dropped with the rest */
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
  }
  for (int b = 0; b < 2; b++) free(p->held[b].items), free(p->held[b].slots);
  memset(p, 0, sizeof *p);
}
