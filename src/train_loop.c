#include "train_loop.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/atomic_file.h"
#include "../io/metrics_csv.h"
#include "../kernels/vector.h"
#include "../parallel/allreduce.h"
#include "../parallel/grad_sync.h"
#include "../parallel/comm.h"
#include "../parallel/sampler.h"
#include "checkpoint.h"
#include "error.h"
#include "log.h"
#include "progress.h"

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

/* safe_gd_step over the trainable parameters only: frozen ones keep their
 * values (no weight decay either) and contribute nothing to the norm. */
static double optimiser_step(const train_spec *s, adamw_state *st, double lr) {
  param_registry *r = s->params;
  for (int i = 0; i < r->count; i++)
    if (is_frozen(s, r->entries[i].name)) k_fill(params_grad(r, i), 0.0f, r->entries[i].numel);
  double norm = k_global_norm(r->grads, r->total);
  if (!isfinite(norm)) {
    st->skipped++;
  } else {
    const adamw_config *o = &s->optim;
    if (o->grad_clip > 0) {
      float coef = (float)fmin(1.0, o->grad_clip / (norm + 1e-6));
      k_scal(r->grads, coef, r->total);
    }
    st->steps++;
    for (int i = 0; i < r->count; i++) {
      const param_entry *e = &r->entries[i];
      if (is_frozen(s, e->name)) continue;
      k_adamw_update(r->values + e->offset, r->grads + e->offset, r->m + e->offset, r->v + e->offset,
                     e->numel, lr, o->beta1, o->beta2, o->eps, o->weight_decay, st->steps);
    }
  }
  params_zero_grad(r);
  return norm;
}

static double validate(const train_spec *s, const train_objective *obj, dist_sampler *va, long *idx,
                       long *slot) {
  double sums[2] = {0, 0}; /* loss · samples, samples */
  long local = va->local_batch;
  for (long k = 0; k < s->valid_size / s->valid_batch_size; k++) {
    dist_sampler_step(va, k, idx, slot);
    sums[0] += obj->loss(obj->user, idx, slot, (int)local, k, false, 0) * (double)local;
    sums[1] += (double)local;
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
  check_sizes(s);
  int R = comm_size(), rank = comm_rank();
  int64_t micro = s->batch_size / (s->accumulation * R);
  int64_t steps_per_epoch = s->epoch_size / s->batch_size;
  char csv[4096];
  snprintf(csv, sizeof csv, "%s/metrics.csv", s->dir);
  if (rank == 0) make_dirs(s->dir);

  train_counters c = {.best_valid = INFINITY, .ranks = R, .model_fingerprint = s->model_fingerprint};
  if (s->resume) resume_from_checkpoint(s, &c);
  if (rank == 0) {
    if (c.epoch > 0)
      metrics_keep_until(csv, c.epoch);
    else
      unlink(csv); /* a fresh start: rows of an earlier attempt are not ours */
  }

  dist_sampler tr, va;
  dist_sampler_init(&tr, s->train_len, s->batch_size, s->seed, true, rank, R);
  dist_sampler_init(&va, s->valid_len, s->valid_batch_size, s->seed ^ 0x76616c6964ULL, true, rank, R);
  long local = tr.local_batch > va.local_batch ? tr.local_batch : va.local_batch;
  long *idx = lola_malloc(sizeof(long) * (size_t)local, "batch indices");
  long *slot = lola_malloc(sizeof(long) * (size_t)local, "batch slots");
  grad_sync *sync = lola_calloc(1, sizeof *sync, "gradient all-reduce state");

  double valid = NAN;
  progress p;
  const int64_t first_epoch = c.epoch; /* c.epoch advances as epochs finish */
  progress_begin(&p, s->stage, "step", (s->epochs - first_epoch) * steps_per_epoch);
  double session_start = wall_time(), elapsed_before = c.elapsed;
  for (int64_t epoch = c.epoch; epoch < s->epochs; epoch++) {
    double lr = s->optim.lr * lr_factor(s->schedule, epoch, s->epochs, s->warmup);
    double epoch_start = wall_time(), loss_sum = 0, norm_sum = 0;
    int64_t skipped_before = c.opt.skipped;
    for (int64_t i = 0; i < steps_per_epoch; i++) {
      dist_sampler_step(&tr, (long)c.step, idx, slot);
      double loss = 0;
      for (int64_t j = 0; j < s->accumulation; j++) {
        /* the last micro-batch's backward starts the all-reduce of each finished block */
        if (j == s->accumulation - 1) grad_sync_listen(sync, s->params);
        loss += obj->loss(obj->user, idx + j * micro, slot + j * micro, (int)micro, c.step, true,
                          1.0 / (double)s->accumulation);
      }
      loss /= (double)s->accumulation * R;
      allreduce_sum_doubles(&loss, 1);
      grad_sync_finish(sync, s->params);
      double norm = optimiser_step(s, &c.opt, lr);
      loss_sum += loss;
      norm_sum += isfinite(norm) ? norm : 0;
      c.step++;
      c.samples += s->batch_size;
      char extra[160];
      snprintf(extra, sizeof extra, "epoch %lld/%lld loss %.4g lr %.3g", (long long)epoch + 1,
               (long long)s->epochs, loss, lr);
      progress_update(&p, (epoch - first_epoch) * steps_per_epoch + i + 1, extra);
    }
    valid = validate(s, obj, &va, idx, slot);
    double took = wall_time() - epoch_start;
    c.epoch = epoch + 1;
    c.elapsed = elapsed_before + (wall_time() - session_start);
    if (rank == 0) {
      if (valid < c.best_valid) {
        c.best_valid = valid;
        checkpoint_save(s->dir, "best", s->params, s->buffers, &c, s->deck_text);
      }
      checkpoint_save(s->dir, "last", s->params, s->buffers, &c, s->deck_text);
      char row[512];
      snprintf(row, sizeof row, "%lld,%lld,%lld,%.9g,%.9g,%.9g,%lld,%.9g,%.6g,%.3f", (long long)c.epoch,
               (long long)c.step, (long long)c.samples, loss_sum / (double)steps_per_epoch, valid,
               norm_sum / (double)steps_per_epoch, (long long)(c.opt.skipped - skipped_before), lr,
               (double)s->epoch_size / took, c.elapsed);
      metrics_append(
          csv, "epoch,step,samples,train_loss,valid_loss,grad_norm,skipped,lr,samples_per_s,elapsed", row);
    }
    MPI_Bcast(&c.best_valid, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    lola_log("%s: epoch %lld/%lld train %.5g valid %.5g (%.3g samples/s)", s->stage, (long long)c.epoch,
             (long long)s->epochs, loss_sum / (double)steps_per_epoch, valid, (double)s->epoch_size / took);
  }
  progress_end(&p, p.total, NULL);
  if (isnan(valid)) valid = validate(s, obj, &va, idx, slot); /* resumed a finished run */
  free(idx);
  free(slot);
  free(sync);
  dist_sampler_free(&tr);
  dist_sampler_free(&va);
  return valid;
}
