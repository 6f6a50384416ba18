/* The prefetcher on its own: the buffer handed out holds the batch asked for,
 * whether the helper filled it ahead or the plan changed and the caller's
 * thread had to; the helper's fill overlaps the caller's work. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "../../src/batch_prefetch.h"
#include "harness.h"

enum { CAP = 4 };

typedef struct {
  long value[2][CAP];
  int64_t step[2];
  pthread_t main_thread;
  int off_main;
  double fill_seconds;
  int64_t die_at;        /* the fill of this step fails (lola_die); -1 never */
  atomic_long done_with; /* the last step the caller finished computing on */
  bool overlapped[16];   /* the fill of step s began before the caller was done with s - 1 */
} fake;

static void sleep_for(double seconds) {
  struct timespec ts = {0, (long)(seconds * 1e9)};
  nanosleep(&ts, NULL);
}

static void fake_fill(void *user, int buffer, const batch_ticket *t) {
  fake *f = user;
  if (t->step > 0 && t->step < 16) f->overlapped[t->step] = atomic_load(&f->done_with) < t->step - 1;
  sleep_for(f->fill_seconds);
  if (t->step == f->die_at)
    lola_die(LOLA_EXIT_DATA, "cannot read the batch of step %lld", (long long)t->step);
  for (int i = 0; i < t->count; i++) f->value[buffer][i] = 1000 * t->step + t->items[i];
  f->step[buffer] = t->step;
  if (!pthread_equal(pthread_self(), f->main_thread)) f->off_main++;
}

static void ticket(batch_ticket *t, long *items, int64_t step) {
  *t = (batch_ticket){.training = true, .step = step, .count = CAP, .items = items, .slots = items};
  for (int i = 0; i < CAP; i++) items[i] = 10 * i + (long)(step % 7);
}

static bool holds(const fake *f, int b, int64_t step) {
  long items[CAP];
  batch_ticket t;
  ticket(&t, items, step);
  for (int i = 0; i < CAP; i++)
    if (f->value[b][i] != 1000 * step + items[i]) return false;
  return f->step[b] == step;
}

static void run(bool threaded) {
  fake f = {.main_thread = pthread_self(), .fill_seconds = 0.01, .die_at = -1};
  atomic_store(&f.done_with, -1);
  batch_prefetch p;
  prefetch_init(&p, fake_fill, &f, CAP, threaded);
  long wi[CAP], ni[CAP];
  batch_ticket want, next;
  /* steps 0..5 in order, then a jump to 9 (a change of plan), then 10 with nothing after */
  const int64_t order[] = {0, 1, 2, 3, 4, 5, 9, 10};
  for (int k = 0; k < 8; k++) {
    ticket(&want, wi, order[k]);
    ticket(&next, ni, order[k] + 1);
    int b = prefetch_take(&p, &want, k == 7 ? NULL : &next);
    CHECK(holds(&f, b, order[k]));
    sleep_for(0.25); /* the caller's work on batch b: ample time for the helper to start */
    atomic_store(&f.done_with, order[k]);
    CHECK(holds(&f, b, order[k])); /* untouched meanwhile */
  }
  prefetch_free(&p);
  if (threaded) {
    /* filled ahead: steps 1..5 and 10 (and the unused 6); on the caller: 0 and 9 */
    CHECK(f.off_main == 7);
    for (int s = 1; s <= 5; s++) CHECK(f.overlapped[s]);
  } else {
    CHECK(f.off_main == 0);
    for (int s = 1; s <= 5; s++) CHECK(!f.overlapped[s]);
  }
}

TEST(prefetch_hands_out_the_batch_asked_for_threaded) { run(true); }
TEST(prefetch_hands_out_the_batch_asked_for_on_the_caller) { run(false); }

TEST(prefetch_refuses_a_batch_larger_than_its_buffers) {
  fake f = {.main_thread = pthread_self(), .die_at = -1};
  batch_prefetch p;
  prefetch_init(&p, fake_fill, &f, CAP - 1, false);
  long items[CAP];
  batch_ticket t;
  ticket(&t, items, 0);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, prefetch_take(&p, &t, NULL)));
  CHECK(strstr(trap.message, "a batch of 4 items for buffers of 3") != NULL);
  prefetch_free(&p);
}

/* A fill that dies on the helper thread dies again on the caller's, when it
 * takes its next batch: same message, same exit code. */
TEST(prefetch_raises_the_helpers_error_on_the_caller) {
  fake f = {.main_thread = pthread_self(), .die_at = 2};
  atomic_store(&f.done_with, -1);
  batch_prefetch p;
  prefetch_init(&p, fake_fill, &f, CAP, true);
  long wi[CAP], ni[CAP];
  batch_ticket want, next;
  ticket(&want, wi, 1);
  ticket(&next, ni, 2);
  CHECK(holds(&f, prefetch_take(&p, &want, &next), 1)); /* step 1 on the caller; step 2 fails on the helper */
  ticket(&want, wi, 2);
  ticket(&next, ni, 3);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, prefetch_take(&p, &want, &next)));
  CHECK(strstr(trap.message, "cannot read the batch of step 2") != NULL);
  f.die_at = -1;
  CHECK(holds(&f, prefetch_take(&p, &want, &next), 2)); /* taken again: filled on the caller this time */
  prefetch_free(&p);
}
