/* The common training loop on a toy least-squares model: convergence, N ranks
 * against a serial reference, exact resume, frozen parameters, skipped steps,
 * the divisibility and resume errors, and batches prefetched on the helper
 * thread in the order the loop takes them, with the weights of a run without. */
#include <math.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/atomic_file.h"
#include "../../io/metrics_csv.h"
#include "../../kernels/rng.h"
#include "../../parallel/comm.h"
#include "../../parallel/sampler.h"
#include "../../src/checkpoint.h"
#include "../../src/train_loop.h"
#include "harness.h"

enum { D = 4, N_TRAIN = 96, N_VALID = 24, MAX_BATCH = 64, MAX_LOG = 512 };

typedef struct {
  param_registry reg;
  int nan_at_step; /* -1: never */
  int die_at_step; /* -1: never; else a simulated crash (lola_die) there */
  /* the batch buffers the loop fills: x, y and the ticket each holds */
  float x[2][MAX_BATCH][D], y[2][MAX_BATCH];
  batch_ticket held[2];
  long held_items[2][MAX_BATCH];
  /* what happened: each fill's batch and whether the helper thread did it,
   * each loss's batch and whether its buffer held it */
  pthread_t main_thread;
  int fills, fills_off_main, losses, losses_mismatched;
  batch_ticket fill_log[MAX_LOG], loss_log[MAX_LOG];
} toy;

/* Item i: x uniform in (-1, 1)^D, y = 0.5 + sum_k (k + 1) x_k / 4. */
static void item(long i, float *x, float *y) {
  rng_key key = {.seed = 7, .purpose = RNG_TEST, .step = 0};
  rng_uniform(x, D, key, (uint64_t)i, 0);
  double t = 0.5;
  for (int k = 0; k < D; k++) {
    x[k] = 2 * x[k] - 1;
    t += (k + 1) * x[k] / 4.0;
  }
  *y = (float)t;
}

static void toy_fill(void *user, int buffer, const batch_ticket *b) {
  toy *t = user;
  for (int s = 0; s < b->count; s++) item(b->items[s], t->x[buffer][s], &t->y[buffer][s]);
  t->held[buffer] = *b;
  memcpy(t->held_items[buffer], b->items, sizeof(long) * (size_t)b->count);
  if (t->fills < MAX_LOG) t->fill_log[t->fills] = *b;
  t->fills++;
  if (!pthread_equal(pthread_self(), t->main_thread)) t->fills_off_main++;
}

static double toy_loss(void *user, int buffer, const batch_ticket *b, double scale) {
  toy *t = user;
  const bool backward = b->training;
  const int64_t step = b->step;
  const int count = b->count;
  if (!ticket_same(&t->held[buffer], b) ||
      memcmp(t->held_items[buffer], b->items, sizeof(long) * (size_t)count) != 0)
    t->losses_mismatched++;
  if (t->losses < MAX_LOG) t->loss_log[t->losses] = *b;
  t->losses++;
  if (backward && step == t->die_at_step)
    lola_die(LOLA_EXIT_RUNTIME, "simulated crash at step %lld", (long long)step);
  float *w = params_value(&t->reg, 0), *bias = params_value(&t->reg, 1);
  float *gw = params_grad(&t->reg, 0), *gb = params_grad(&t->reg, 1);
  double sum = 0;
  for (int s = 0; s < count; s++) {
    const float *x = t->x[buffer][s];
    double r = bias[0] - t->y[buffer][s];
    for (int k = 0; k < D; k++) r += w[k] * x[k];
    sum += r * r;
    if (backward) {
      double g = 2 * r * scale / count;
      if (step == t->nan_at_step) g = NAN;
      for (int k = 0; k < D; k++) gw[k] += (float)(g * x[k]);
      gb[0] += (float)g;
    }
  }
  return sum / count;
}

/* The serial reference's loss: the items read here, on the calling thread. */
static void toy_direct_step(toy *t, const long *items, const long *slots, int count, int64_t step) {
  batch_ticket b = {
      .training = true, .step = step, .count = count, .items = (long *)items, .slots = (long *)slots};
  toy_fill(t, 0, &b);
  toy_loss(t, 0, &b, 1.0);
}

static void toy_init(toy *t) {
  params_init(&t->reg, 4);
  int64_t dw[] = {D}, db[] = {1};
  params_add(&t->reg, "head.weight", 1, dw);
  params_add(&t->reg, "head.bias", 1, db);
  params_finalize(&t->reg);
  t->nan_at_step = -1;
  t->die_at_step = -1;
  t->main_thread = pthread_self();
  t->fills = t->fills_off_main = t->losses = t->losses_mismatched = 0;
  t->held[0].count = t->held[1].count = -1;
}

static train_spec toy_spec(toy *t, const char *dir, int64_t epochs) {
  train_spec s = {
      .stage = "toy",
      .dir = dir,
      .deck_text = "toy = 1;\n",
      .model_fingerprint = 42,
      .params = &t->reg,
      .optim = {.lr = 0.05, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.0, .grad_clip = 1.0},
      .schedule = LR_COSINE,
      .warmup = 0,
      .epochs = epochs,
      .epoch_size = 48,
      .batch_size = 12,
      .accumulation = 2,
      .valid_size = 24,
      .valid_batch_size = 6,
      .train_len = N_TRAIN,
      .valid_len = N_VALID,
      .seed = 3,
      .prefetch = true,
  };
  return s;
}

static const char *scratch(const char *name) {
  static char path[4][1024];
  static int which;
  char *p = path[which++ % 4];
  snprintf(p, 1024, "%s/%s", harness_tmpdir(), name);
  return p;
}

static train_objective objective(toy *t) {
  return (train_objective){.fill = toy_fill, .loss = toy_loss, .user = t};
}

TEST(train_loop_converges_and_writes_metrics_and_checkpoints) {
  toy t;
  toy_init(&t);
  train_spec s = toy_spec(&t, scratch("converge"), 30);
  train_objective o = objective(&t);
  double valid = train_run(&s, &o);
  CHECK(valid < 1e-3);
  CHECK_NEAR(params_value(&t.reg, 1)[0], 0.5, 0.05);
  char path[1024];
  snprintf(path, sizeof path, "%s/metrics.csv", s.dir);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  int lines = 0;
  char line[1024];
  while (f && fgets(line, sizeof line, f)) lines++;
  if (f) fclose(f);
  CHECK(lines == 31); /* header + one row per epoch */
  train_counters c;
  toy u;
  toy_init(&u);
  CHECK(checkpoint_load(s.dir, "last", &u.reg, NULL, &c));
  CHECK(c.epoch == 30 && c.step == 30 * 4 && c.samples == 30 * 48);
  CHECK(memcmp(u.reg.values, t.reg.values, sizeof(float) * (size_t)t.reg.total) == 0);
  CHECK(checkpoint_load(s.dir, "best", &u.reg, NULL, &c));
  CHECK(c.best_valid <= valid + 1e-12);
}

TEST(train_loop_resume_gives_the_uninterrupted_weights) {
  toy a;
  toy_init(&a);
  train_spec sa = toy_spec(&a, scratch("straight"), 4);
  train_objective oa = objective(&a);
  train_run(&sa, &oa);
  /* Crash in the middle of epoch 3 (step 10 of 16), then once more during the
   * swap of a checkpoint, which leaves only last.old; resume each time. */
  for (int crash_step = 10; crash_step <= 14; crash_step += 4) {
    toy b;
    toy_init(&b);
    b.die_at_step = crash_step;
    train_spec sb = toy_spec(&b, scratch("interrupted"), 4);
    sb.resume = crash_step > 10;
    sb.prefetch = false; /* the trapped crash leaves train_run by longjmp: no helper may outlive it */
    train_objective ob = objective(&b);
    lola_error_trap trap;
    CHECK(EXPECT_DIE(trap, LOLA_EXIT_RUNTIME, train_run(&sb, &ob)));
  }
  char from[1024], to[1024];
  snprintf(from, sizeof from, "%s/last", scratch("interrupted"));
  snprintf(to, sizeof to, "%s/last.old", scratch("interrupted"));
  CHECK(rename(from, to) == 0);
  toy c;
  toy_init(&c); /* a new process: fresh weights, everything comes from the checkpoint */
  train_objective oc = objective(&c);
  train_spec sc = toy_spec(&c, scratch("interrupted"), 4);
  sc.resume = true;
  train_run(&sc, &oc);
  CHECK(memcmp(c.reg.values, a.reg.values, sizeof(float) * (size_t)a.reg.total) == 0);
  CHECK(memcmp(c.reg.m, a.reg.m, sizeof(float) * (size_t)a.reg.total) == 0);
  /* The metrics table holds each epoch once. */
  char path[1024], line[512];
  snprintf(path, sizeof path, "%s/metrics.csv", scratch("interrupted"));
  FILE *f = fopen(path, "r");
  int rows = 0;
  while (f && fgets(line, sizeof line, f)) rows++;
  if (f) fclose(f);
  CHECK(rows == 5);
}

TEST(train_loop_frozen_parameters_do_not_move) {
  toy t;
  toy_init(&t);
  train_spec s = toy_spec(&t, scratch("frozen"), 2);
  const char *frozen[] = {"head.bias"};
  s.nfrozen = 1;
  s.frozen_prefixes = frozen;
  train_objective o = objective(&t);
  train_run(&s, &o);
  CHECK(params_value(&t.reg, 1)[0] == 0.0f);
  CHECK(params_value(&t.reg, 0)[0] != 0.0f);
}

TEST(train_loop_skips_a_step_with_a_non_finite_gradient) {
  toy t, u;
  toy_init(&t);
  toy_init(&u);
  t.nan_at_step = 0;
  train_spec s = toy_spec(&t, scratch("nan"), 1);
  train_objective o = objective(&t);
  train_run(&s, &o);
  train_counters c;
  CHECK(checkpoint_load(s.dir, "last", &u.reg, NULL, &c));
  CHECK(c.opt.skipped == 1 && c.opt.steps == 3 && c.step == 4);
}

TEST(train_loop_rejects_sizes_that_do_not_divide) {
  toy t;
  toy_init(&t);
  train_spec s = toy_spec(&t, scratch("sizes"), 1);
  s.accumulation = 5;
  train_objective o = objective(&t);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, train_run(&s, &o)));
  CHECK(
      strstr(trap.message, "train.batch_size (12) must be a multiple of ranks x train.accumulation (1 x 5)"));
}

TEST(train_loop_refuses_to_resume_a_different_model) {
  toy t;
  toy_init(&t);
  train_spec s = toy_spec(&t, scratch("fingerprint"), 1);
  train_objective o = objective(&t);
  train_run(&s, &o);
  s.resume = true;
  s.epochs = 2;
  s.model_fingerprint = 43;
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, train_run(&s, &o)));
  CHECK(strstr(trap.message, "the deck changes the model") != NULL);
}

/* Serial reference: plain loops over the whole global batch, same sampler,
 * same AdamW; the distributed loop must follow it to reassociation. */
static void serial_reference(toy *t, const train_spec *s) {
  dist_sampler tr;
  dist_sampler_init(&tr, s->train_len, s->batch_size, s->seed, true, 0, 1);
  long idx[64], slot[64];
  adamw_state st = {0};
  int64_t steps_per_epoch = s->epoch_size / s->batch_size;
  for (int64_t e = 0; e < s->epochs; e++) {
    double lr = s->optim.lr * lr_factor(s->schedule, e, s->epochs, s->warmup);
    for (int64_t i = 0; i < steps_per_epoch; i++) {
      dist_sampler_step(&tr, (long)(e * steps_per_epoch + i), idx, slot);
      toy_direct_step(t, idx, slot, (int)s->batch_size, e * steps_per_epoch + i);
      k_adamw_safe_step(&s->optim, &st, lr / s->optim.lr, t->reg.values, t->reg.grads, t->reg.m, t->reg.v,
                        t->reg.total);
    }
  }
  dist_sampler_free(&tr);
}

static void ranks_follow_serial(void) {
  toy t, ref;
  toy_init(&t);
  toy_init(&ref);
  train_spec s = toy_spec(&t, scratch("ranks"), 3);
  s.batch_size = 12;
  s.accumulation = 1;
  train_objective o = objective(&t);
  train_run(&s, &o);
  train_spec sr = s;
  sr.params = &ref.reg;
  serial_reference(&ref, &sr);
  for (int k = 0; k < D + 1; k++) CHECK_NEAR(t.reg.values[k], ref.reg.values[k], 2e-6);
}

TEST(train_loop_one_rank_follows_the_serial_reference) { ranks_follow_serial(); }
TEST_RANKS(train_loop_two_ranks_follow_the_serial_reference, 2) { ranks_follow_serial(); }
TEST_RANKS(train_loop_three_ranks_follow_the_serial_reference, 3) { ranks_follow_serial(); }

/* Every batch the loop computes on is the one it asked for; with prefetch the
 * helper thread fills all but the first, in the loop's order (micro-batches,
 * then the validation batches after each epoch), and the weights are those of
 * a run that fills every batch itself. */
static void prefetch_matches_direct(void) {
  toy a, b;
  toy_init(&a);
  toy_init(&b);
  train_spec sa = toy_spec(&a, scratch("prefetch_on"), 3);
  train_spec sb = toy_spec(&b, scratch("prefetch_off"), 3);
  sb.prefetch = false;
  train_objective oa = objective(&a), ob = objective(&b);
  train_run(&sa, &oa);
  train_run(&sb, &ob);
  CHECK(memcmp(a.reg.values, b.reg.values, sizeof(float) * (size_t)a.reg.total) == 0);
  CHECK(memcmp(a.reg.v, b.reg.v, sizeof(float) * (size_t)a.reg.total) == 0);
  /* 3 epochs x 4 steps x 2 micro-batches + 3 x 4 validation batches */
  const int R = comm_size(), expected = 3 * 4 * 2 + 3 * (24 / 6);
  CHECK(a.losses == expected && b.losses == expected);
  CHECK(a.losses_mismatched == 0 && b.losses_mismatched == 0);
  CHECK(a.fills == expected && b.fills == expected);
  CHECK(b.fills_off_main == 0);
  CHECK(a.fills_off_main == expected - 1);
  for (int k = 0; k < expected; k++) {
    CHECK(ticket_same(&a.fill_log[k], &a.loss_log[k]));
    CHECK(ticket_same(&a.loss_log[k], &b.loss_log[k]));
  }
  /* the order: step 0 micro 0 and 1, ..., then validation 0..3 after 4 steps */
  CHECK(a.loss_log[1].training && a.loss_log[1].step == 0 && a.loss_log[1].part == 1);
  CHECK(a.loss_log[8].training == false && a.loss_log[8].step == 0 && a.loss_log[8].after == 4);
  CHECK(a.loss_log[12].training && a.loss_log[12].step == 4 && a.loss_log[12].part == 0);
  CHECK(a.loss_log[0].count == (int)(12 / (2 * R)) && a.loss_log[8].count == 6 / R);
}

TEST(train_loop_prefetch_matches_direct_reads) { prefetch_matches_direct(); }
TEST_RANKS(train_loop_prefetch_matches_direct_reads_2ranks, 2) { prefetch_matches_direct(); }
TEST_RANKS(train_loop_prefetch_matches_direct_reads_3ranks, 3) { prefetch_matches_direct(); }

/* A folder all ranks see: rank 0's scratch folder. */
static const char *shared_scratch(const char *name) {
  static char path[4][1024];
  static int which;
  char *p = path[which++ % 4];
  if (comm_rank() == 0) snprintf(p, 1024, "%s/%s", harness_tmpdir(), name);
  MPI_Bcast(p, 1024, MPI_CHAR, 0, MPI_COMM_WORLD);
  return p;
}

/* ZeRO-1: with the moments sharded over the ranks, a run (stopped after 2
 * epochs and resumed for the third; a constant learning rate, so that the
 * schedule does not depend on where it stopped) ends with the weights of an
 * unsharded run, and its checkpoint holds the same moments, bit for bit. */
static void sharded_matches_unsharded(void) {
  toy a, b, c, u, w;
  toy_init(&a), toy_init(&b), toy_init(&c), toy_init(&u), toy_init(&w);
  train_spec sa = toy_spec(&a, shared_scratch("unsharded"), 3);
  train_spec sb = toy_spec(&b, shared_scratch("sharded"), 2);
  sb.shard_optimizer = true;
  sa.schedule = sb.schedule = LR_NONE;
  train_objective oa = objective(&a), ob = objective(&b), oc = objective(&c);
  train_run(&sa, &oa);
  train_run(&sb, &ob);
  CHECK(b.reg.sharded == (comm_size() > 1));
  train_spec sc = toy_spec(&c, shared_scratch("sharded"), 3);
  sc.shard_optimizer = true;
  sc.resume = true;
  sc.schedule = LR_NONE;
  train_run(&sc, &oc);
  CHECK(memcmp(c.reg.values, a.reg.values, sizeof(float) * (size_t)a.reg.total) == 0);
  train_counters ca, cc;
  CHECK(checkpoint_load(sa.dir, "last", &u.reg, NULL, &ca));
  CHECK(checkpoint_load(sc.dir, "last", &w.reg, NULL, &cc));
  CHECK(ca.step == cc.step && ca.opt.steps == cc.opt.steps && cc.epoch == 3);
  CHECK(memcmp(u.reg.m, w.reg.m, sizeof(float) * (size_t)u.reg.total) == 0);
  CHECK(memcmp(u.reg.v, w.reg.v, sizeof(float) * (size_t)u.reg.total) == 0);
  CHECK(memcmp(u.reg.values, a.reg.values, sizeof(float) * (size_t)u.reg.total) == 0);
  /* every moment moved: the gathered checkpoint holds all shares, not rank 0's alone */
  bool all = true;
  for (int i = 0; i < w.reg.count; i++)
    for (int64_t k = 0; k < w.reg.entries[i].numel; k++) all &= w.reg.v[w.reg.entries[i].offset + k] != 0.0f;
  CHECK(all);
  params_free(&a.reg), params_free(&b.reg), params_free(&c.reg), params_free(&u.reg), params_free(&w.reg);
}

TEST(train_loop_sharded_moments_match_unsharded) { sharded_matches_unsharded(); }
TEST_RANKS(train_loop_sharded_moments_match_unsharded_2ranks, 2) { sharded_matches_unsharded(); }
TEST_RANKS(train_loop_sharded_moments_match_unsharded_3ranks, 3) { sharded_matches_unsharded(); }

/* Frozen parameters with sharded moments: a rank whose share holds only
 * frozen weights updates nothing, and the weights are those of an unsharded
 * run with the same parameters frozen. */
static void sharded_with_frozen(void) {
  toy a, b;
  toy_init(&a), toy_init(&b);
  const char *frozen[] = {"head.bias"};
  train_spec sa = toy_spec(&a, scratch("frozen_whole"), 2), sb = toy_spec(&b, scratch("frozen_sharded"), 2);
  sa.nfrozen = sb.nfrozen = 1;
  sa.frozen_prefixes = sb.frozen_prefixes = frozen;
  sb.shard_optimizer = true;
  train_objective oa = objective(&a), ob = objective(&b);
  train_run(&sa, &oa);
  train_run(&sb, &ob);
  CHECK(memcmp(a.reg.values, b.reg.values, sizeof(float) * (size_t)a.reg.total) == 0);
  CHECK(params_value(&b.reg, 1)[0] == 0.0f && params_value(&b.reg, 0)[0] != 0.0f);
  params_free(&a.reg), params_free(&b.reg);
}

TEST_RANKS(train_loop_sharded_moments_with_frozen_parameters_2ranks, 2) { sharded_with_frozen(); }
TEST_RANKS(train_loop_sharded_moments_with_frozen_parameters_3ranks, 3) { sharded_with_frozen(); }

/* A resumed run keeps the rows up to its checkpoint under the current header,
 * also when an older version wrote the table with fewer columns. */
TEST(metrics_keep_until_keeps_rows_under_the_current_header) {
  char path[1024];
  snprintf(path, sizeof path, "%s/old_metrics.csv", harness_tmpdir());
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs("epoch,loss\n1,0.5\n2,0.4\n3,0.3\n", f);
  fclose(f);
  metrics_keep_until(path, "epoch,loss,data_wait_s", 2);
  f = fopen(path, "r");
  char text[256] = {0};
  size_t got = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f) fclose(f);
  CHECK(got > 0 && strcmp(text, "epoch,loss,data_wait_s\n1,0.5\n2,0.4\n") == 0);
}
