#include "train_loop.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/atomic_file.h"
#include "../io/metrics_csv.h"
#include "../kernels/backend.h"
#include "../kernels/vector.h"
#include "../parallel/allreduce.h"
#include "../parallel/grad_sync.h"
#include "../parallel/comm.h"
#include "../parallel/sampler.h"
#include "../parallel/shard.h"
#include "checkpoint.h"
#include "error.h"
#include "log.h"
#include "progress.h"

/* The columns of metrics.csv, one row per epoch. */
#define METRICS_HEADER \
  "epoch,step,samples,train_loss,valid_loss,grad_norm,skipped,lr,samples_per_s,elapsed,data_wait_s"

static void check_sizes(const train_spec *s) {
  int R = comm_size();
  if (s->batch_size % (s->accumulation * R) != 0)
    lola_die_collective(
        LOLA_EXIT_DECK,
        "%s: train.batch_size (%lld) must be a multiple of ranks x train.accumulation (%d x %lld)", s->stage,
        (long long)s->batch_size, R, (long long)s->accumulation);
  if (s->epoch_size % s->batch_size != 0)
    lola_die_collective(LOLA_EXIT_DECK,
                        "%s: train.epoch_size (%lld) must be a multiple of train.batch_size (%lld)", s->stage,
                        (long long)s->epoch_size, (long long)s->batch_size);
  if (s->valid_batch_size % R != 0 || s->valid_size % s->valid_batch_size != 0)
    lola_die_collective(LOLA_EXIT_DECK,
                        "%s: valid.batch_size (%lld) must be a multiple of the rank count (%d) and divide "
                        "valid.epoch_size (%lld)",
                        s->stage, (long long)s->valid_batch_size, R, (long long)s->valid_size);
  if (s->batch_size > s->train_len || s->valid_batch_size > s->valid_len)
    lola_die_collective(
        LOLA_EXIT_DECK,
        "%s: batch sizes (train %lld, valid %lld) exceed the dataset (train %ld, valid %ld windows)",
        s->stage, (long long)s->batch_size, (long long)s->valid_batch_size, s->train_len, s->valid_len);
}

static bool is_frozen(const train_spec *s, const char *name) {
  for (int i = 0; i < s->nfrozen; i++)
    if (strncmp(name, s->frozen_prefixes[i], strlen(s->frozen_prefixes[i])) == 0) return true;
  return false;
}

/* What the optimiser touches, derived once per run from the frozen prefixes
 * and this rank's share of the moments: the frozen entries (their gradients
 * are zeroed) and the spans of trainable floats this rank updates, padding
 * included (contiguous trainable entries make one span). */
typedef struct {
  int nfrozen, nspans;
  int *frozen;        /* entry indices */
  int64_t (*span)[2]; /* [lo, hi) into the flat arrays */
} update_plan;

static void update_plan_init(update_plan *u, const train_spec *s) {
  const param_registry *r = s->params;
  const int64_t own_lo = r->sharded ? r->shard_lo : 0, own_hi = r->sharded ? r->shard_hi : r->total;
  u->frozen = lola_malloc(sizeof(int) * (size_t)(r->count + 1), "frozen parameters");
  u->span = lola_malloc(sizeof *u->span * (size_t)(r->count + 1), "optimiser spans");
  u->nfrozen = u->nspans = 0;
  for (int i = 0; i < r->count;) {
    if (is_frozen(s, r->entries[i].name)) {
      u->frozen[u->nfrozen++] = i++;
      continue;
    }
    int end = i + 1;
    while (end < r->count && !is_frozen(s, r->entries[end].name)) end++;
    int64_t lo = r->entries[i].offset, hi = end < r->count ? r->entries[end].offset : r->total;
    lo = lo > own_lo ? lo : own_lo;
    hi = hi < own_hi ? hi : own_hi;
    if (hi > lo) u->span[u->nspans][0] = lo, u->span[u->nspans++][1] = hi;
    i = end;
  }
}

static void update_plan_free(update_plan *u) { free(u->frozen), free(u->span); }

/* safe_gd_step over the trainable parameters only: frozen ones keep their
 * values (no weight decay either) and contribute nothing to the norm. The
 * norm, the non-finite check and the counters stay in the kernels' memory
 * (`state`): nothing here waits for the device. */
static void optimiser_step(const train_spec *s, const update_plan *u, k_step_state *state, double lr) {
  param_registry *r = s->params;
  for (int k = 0; k < u->nfrozen; k++) {
    int i = u->frozen[k];
    k_fill(params_grad(r, i), 0.0f, r->entries[i].numel);
  }
  grad_sync_guard(r, state); /* the norm of the mean gradient, from the shares when sharded */
  const adamw_config *o = &s->optim;
  const int64_t own_lo = r->sharded ? r->shard_lo : 0; /* the kernels' moments start there (ZeRO-1) */
  for (int k = 0; k < u->nspans; k++) {
    int64_t lo = u->span[k][0], hi = u->span[k][1];
    k_adamw_guarded(r->values + lo, r->grads + lo, r->m + (lo - own_lo), r->v + (lo - own_lo), hi - lo, state,
                    lr, o->beta1, o->beta2, o->eps, o->weight_decay, o->grad_clip);
  }
  if (r->sharded) shard_allgather(r->values, r->total);
  params_zero_grad(r);
}

/* ZeRO-1: this rank keeps the moments of its share from now on. */
static void shard_moments(const train_spec *s) {
  int R = comm_size();
  param_registry *r = s->params;
  int64_t lo, hi;
  shard_bounds(r->total, R, comm_rank(), &lo, &hi);
  params_shard_moments(r, lo, hi);
  int64_t first_lo, largest; /* rank 0's share: the shares are equal but for the last ones */
  shard_bounds(r->total, R, 0, &first_lo, &largest);
  lola_log("%s: AdamW moments sharded over %d ranks (ZeRO-1): at most %.1f MB per rank instead of %.1f MB",
           s->stage, R, 8.0 * (double)largest / 1e6, 8.0 * (double)r->total / 1e6);
}

/* Sharded moments: every rank's share into rank 0's host arrays, which its
 * checkpoints write. */
static void gather_moments(const train_spec *s) {
  param_registry *r = s->params;
  if (!r->sharded) return;
  params_download(r);
  shard_gather_to_root(params_host(r, PARAM_M), r->total);
  shard_gather_to_root(params_host(r, PARAM_V), r->total);
}

/* The step counters as the host keeps them (checkpoints, metrics), and back. */
static void step_state_upload(k_step_state *dev, const adamw_state *st) {
  k_step_state h = {.steps = (double)st->steps, .skipped = (double)st->skipped};
  k_upload(dev, &h, sizeof h);
}

static k_step_state step_state_download(const k_step_state *dev, adamw_state *st) {
  k_step_state h;
  k_download(&h, dev, sizeof h);
  st->steps = (int64_t)h.steps;
  st->skipped = (int64_t)h.skipped;
  return h;
}

/* The order in which the loop takes its batches: the micro-batches of each
 * step, and after each epoch's last step the validation batches. */
typedef struct {
  const train_spec *s;
  dist_sampler tr, va;
  int64_t micro, steps_per_epoch, valid_batches;
  double waited; /* seconds spent waiting for batches */
} batch_plan;

/* Items and slots of the batch t names. */
static void plan_items(batch_plan *p, batch_ticket *t) {
  if (!t->training) {
    dist_sampler_step(&p->va, (long)t->step, t->items, t->slots);
    t->count = (int)p->va.local_batch;
    return;
  }
  dist_sampler_step(&p->tr, (long)t->step, t->items, t->slots);
  size_t off = (size_t)(t->part * p->micro), n = (size_t)p->micro;
  memmove(t->items, t->items + off, sizeof(long) * n);
  memmove(t->slots, t->slots + off, sizeof(long) * n);
  t->count = (int)p->micro;
}

static void plan_training(batch_plan *p, batch_ticket *t, int64_t step, int64_t part) {
  t->training = true, t->step = step, t->part = part, t->after = 0;
  plan_items(p, t);
}

static void plan_validation(batch_plan *p, batch_ticket *t, int64_t k, int64_t after) {
  t->training = false, t->step = k, t->part = 0, t->after = after;
  plan_items(p, t);
}

/* The batch after t into n; false when t is the run's last. */
static bool plan_next(batch_plan *p, const batch_ticket *t, batch_ticket *n) {
  if (t->training && t->part + 1 < p->s->accumulation) {
    plan_training(p, n, t->step, t->part + 1);
  } else if (t->training) {
    int64_t done = t->step + 1;
    if (done % p->steps_per_epoch == 0)
      plan_validation(p, n, 0, done);
    else
      plan_training(p, n, done, 0);
  } else if (t->step + 1 < p->valid_batches) {
    plan_validation(p, n, t->step + 1, t->after);
  } else if (t->after / p->steps_per_epoch < p->s->epochs) {
    plan_training(p, n, t->after, 0);
  } else {
    return false;
  }
  return true;
}

/* obj->loss of batch `want`, taken from the prefetcher, which then starts on
 * the batch after it. */
static double batch_loss(batch_plan *p, batch_prefetch *pf, const train_objective *obj,
                         const batch_ticket *want, batch_ticket *next, double grad_scale) {
  bool more = plan_next(p, want, next);
  double t0 = wall_time();
  int b = prefetch_take(pf, want, more ? next : NULL);
  p->waited += wall_time() - t0;
  return obj->loss(obj->user, b, want, grad_scale);
}

static double validate(batch_plan *p, batch_prefetch *pf, const train_objective *obj, batch_ticket *want,
                       batch_ticket *next, int64_t after) {
  double sums[2] = {0, 0}; /* loss · samples, samples */
  for (int64_t k = 0; k < p->valid_batches; k++) {
    plan_validation(p, want, k, after);
    sums[0] += batch_loss(p, pf, obj, want, next, 0) * (double)want->count;
    sums[1] += (double)want->count;
  }
  allreduce_sum_doubles(sums, 2);
  return sums[0] / sums[1];
}

static void resume_from_checkpoint(const train_spec *s, train_counters *c) {
  train_counters found = *c;
  if (!checkpoint_load(s->dir, "last", s->params, s->buffers, &found)) {
    lola_log("%s: run.resume is set but %s/last holds no checkpoint: starting from scratch", s->stage,
             s->dir);
    return;
  }
  if (found.ranks != comm_size())
    lola_die_collective(
        LOLA_EXIT_DECK,
        "%s: cannot resume %s/last on %d ranks: it was written by a %d-rank run (the batch split "
        "and so the result depend on it); run again with %d ranks",
        s->stage, s->dir, comm_size(), found.ranks, found.ranks);
  if (found.model_fingerprint != c->model_fingerprint)
    lola_die_collective(LOLA_EXIT_DECK,
                        "%s: cannot resume %s/last: the deck changes the model (its keys differ from the "
                        "checkpoint's deck.cfg)",
                        s->stage, s->dir);
  *c = found;
  lola_log("%s: resumed from %s/last at epoch %lld, step %lld", s->stage, s->dir, (long long)c->epoch,
           (long long)c->step);
}

double train_run(const train_spec *s, const train_objective *obj) {
  if (!obj->fill || !obj->loss)
    lola_die(LOLA_EXIT_RUNTIME, "%s: the objective lacks its fill or loss", s->stage);
  check_sizes(s);
  int R = comm_size(), rank = comm_rank();
  int64_t micro = s->batch_size / (s->accumulation * R);
  int64_t steps_per_epoch = s->epoch_size / s->batch_size;
  char csv[4096];
  snprintf(csv, sizeof csv, "%s/metrics.csv", s->dir);
  if (rank == 0) make_dirs(s->dir);

  train_counters c = {.best_valid = INFINITY, .ranks = R, .model_fingerprint = s->model_fingerprint};
  if (s->shard_optimizer && R > 1) shard_moments(s);
  if (s->shard_optimizer && R == 1)
    lola_log("%s: train.shard_optimizer has nothing to shard on one rank", s->stage);
  if (s->resume) resume_from_checkpoint(s, &c);
  update_plan updates;
  update_plan_init(&updates, s);
  if (rank == 0) {
    if (c.epoch > 0)
      metrics_keep_until(csv, METRICS_HEADER, c.epoch);
    else
      unlink(csv); /* a fresh start: rows of an earlier attempt are not ours */
  }

  batch_plan plan = {.s = s,
                     .micro = micro,
                     .steps_per_epoch = steps_per_epoch,
                     .valid_batches = s->valid_size / s->valid_batch_size};
  dist_sampler_init(&plan.tr, s->train_len, s->batch_size, s->seed, true, rank, R);
  dist_sampler_init(&plan.va, s->valid_len, s->valid_batch_size, s->seed ^ 0x76616c6964ULL, true, rank, R);
  long local = plan.tr.local_batch > plan.va.local_batch ? plan.tr.local_batch : plan.va.local_batch;
  batch_ticket want = {0}, next = {0};
  batch_ticket *tickets[2] = {&want, &next};
  for (int k = 0; k < 2; k++) {
    tickets[k]->items = lola_malloc(sizeof(long) * (size_t)local, "batch indices");
    tickets[k]->slots = lola_malloc(sizeof(long) * (size_t)local, "batch slots");
  }
  batch_prefetch pf;
  prefetch_init(&pf, obj->fill, obj->user, local, s->prefetch);
  k_step_state *state = k_device_alloc(sizeof *state, "optimiser step state");
  grad_sync *sync = lola_calloc(1, sizeof *sync, "gradient all-reduce state");

  double valid = NAN;
  progress p;
  const int64_t first_epoch = c.epoch; /* c.epoch advances as epochs finish */
  progress_begin(&p, s->stage, "step", (s->epochs - first_epoch) * steps_per_epoch);
  double session_start = wall_time(), elapsed_before = c.elapsed;
  for (int64_t epoch = c.epoch; epoch < s->epochs; epoch++) {
    double lr = s->optim.lr * lr_factor(s->schedule, epoch, s->epochs, s->warmup);
    double epoch_start = wall_time(), loss_sum = 0;
    plan.waited = 0;
    int64_t skipped_before = c.opt.skipped;
    step_state_upload(state, &c.opt);
    for (int64_t i = 0; i < steps_per_epoch; i++) {
      double loss = 0;
      for (int64_t j = 0; j < s->accumulation; j++) {
        /* the last micro-batch's backward starts the all-reduce of each finished block */
        if (j == s->accumulation - 1) grad_sync_listen(sync, s->params);
        plan_training(&plan, &want, c.step, j);
        loss += batch_loss(&plan, &pf, obj, &want, &next, 1.0 / (double)s->accumulation);
      }
      loss /= (double)s->accumulation * R;
      allreduce_sum_doubles(&loss, 1);
      grad_sync_finish(sync, s->params);
      optimiser_step(s, &updates, state, lr);
      loss_sum += loss;
      c.step++;
      c.samples += s->batch_size;
      char extra[160];
      snprintf(extra, sizeof extra, "epoch %lld/%lld loss %.4g lr %.3g", (long long)epoch + 1,
               (long long)s->epochs, loss, lr);
      progress_update(&p, (epoch - first_epoch) * steps_per_epoch + i + 1, extra);
    }
    double norm_sum = step_state_download(state, &c.opt).norm_sum;
    valid = validate(&plan, &pf, obj, &want, &next, c.step);
    double took = wall_time() - epoch_start;
    c.epoch = epoch + 1;
    c.elapsed = elapsed_before + (wall_time() - session_start);
    gather_moments(s);
    if (rank == 0) {
      if (valid < c.best_valid) {
        c.best_valid = valid;
        checkpoint_save(s->dir, "best", s->params, s->buffers, &c, s->deck_text);
      }
      checkpoint_save(s->dir, "last", s->params, s->buffers, &c, s->deck_text);
      char row[512];
      snprintf(row, sizeof row, "%lld,%lld,%lld,%.9g,%.9g,%.9g,%lld,%.9g,%.6g,%.3f,%.3f", (long long)c.epoch,
               (long long)c.step, (long long)c.samples, loss_sum / (double)steps_per_epoch, valid,
               norm_sum / (double)steps_per_epoch, (long long)(c.opt.skipped - skipped_before), lr,
               (double)s->epoch_size / took, c.elapsed, plan.waited);
      metrics_append(csv, METRICS_HEADER, row);
    }
    MPI_Bcast(&c.best_valid, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    lola_log(
        "%s: epoch %lld/%lld train %.5g valid %.5g (%.3g samples/s, %.0f%% of the epoch waiting for data)",
        s->stage, (long long)c.epoch, (long long)s->epochs, loss_sum / (double)steps_per_epoch, valid,
        (double)s->epoch_size / took, 100.0 * plan.waited / took);
  }
  progress_end(&p, p.total, NULL);
  if (isnan(valid)) valid = validate(&plan, &pf, obj, &want, &next, c.step); /* resumed a finished run */
  prefetch_free(&pf);
  update_plan_free(&updates);
  k_device_free(state);
  for (int k = 0; k < 2; k++) free(tickets[k]->items), free(tickets[k]->slots);
  grad_sync_free(sync);
  free(sync);
  dist_sampler_free(&plan.tr);
  dist_sampler_free(&plan.va);
  return valid;
}
