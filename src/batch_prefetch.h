/* Batches filled one ahead on a helper thread: while the caller computes on
 * the batch in one buffer, the helper reads the next batch into the other.
 *
 * A batch is named by a ticket; the caller says which batch it wants now and
 * which it will want next. When the wanted batch was prefetched it is handed
 * over as soon as the helper is done with it; otherwise (the first batch, or a
 * change of plan) it is filled on the calling thread. Either way the buffer
 * holds exactly what the fill function writes for that ticket, so results do
 * not depend on whether prefetching is on.
 *
 * The fill function runs on the helper thread: it may make no MPI call
 * (MPI_THREAD_FUNNELED) and may touch only the buffer it is given and state
 * that nothing else uses while the prefetcher lives. HDF5 reads must take
 * h5_lock (io/h5util.h). When it dies (lola_die: a file that cannot be read),
 * the error is raised again on the caller's thread when it next takes a
 * batch or waits, with the same message and exit code. */
#ifndef LOLA_BATCH_PREFETCH_H
#define LOLA_BATCH_PREFETCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
  bool training;
  int64_t step;  /* the optimiser step, or the validation batch: keys the batch's randomness */
  int64_t part;  /* micro-batch of the step (training) */
  int64_t after; /* validation: optimiser steps done when it runs */
  int count;     /* items */
  long *items;   /* dataset indices */
  long *slots;   /* positions in the global batch */
} batch_ticket;

/* Fill buffer `buffer` (0 or 1) with the batch of `t`. */
typedef void (*batch_fill_fn)(void *user, int buffer, const batch_ticket *t);

typedef struct {
  batch_fill_fn fill;
  void *user;
  bool threaded;
  long capacity;        /* items per ticket */
  batch_ticket held[2]; /* what each buffer holds, or is being filled with */
  bool holds[2];        /* held[b] is meaningful */
  int handed;           /* buffer handed out last; -1 none */
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int pending; /* buffer the helper should fill next; -1 none */
  int busy;    /* buffer the helper is filling; -1 idle */
  bool stop;
  int failed;         /* exit code of the helper's failed fill; 0 none */
  char failure[1024]; /* and its message */
} batch_prefetch;

/* Tickets of up to `capacity` items. Without `threaded` every batch is filled
 * on the calling thread when it is wanted. */
void prefetch_init(batch_prefetch *p, batch_fill_fn fill, void *user, long capacity, bool threaded);
/* The buffer that holds batch `want`, valid until the next call; then, when
 * threaded, the helper starts filling `next` (NULL: nothing comes next) into
 * the other buffer. */
int prefetch_take(batch_prefetch *p, const batch_ticket *want, const batch_ticket *next);
/* Wait until the helper is idle. */
void prefetch_wait(batch_prefetch *p);
void prefetch_free(batch_prefetch *p);

/* Whether two tickets name the same batch. */
bool ticket_same(const batch_ticket *a, const batch_ticket *b);

#endif
