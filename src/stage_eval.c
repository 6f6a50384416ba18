/* `eval`: the reference's experiments/eval.py as a distributed stage. For each
 * trained model found in eval.run (the autoencoder alone, the surrogate, the
 * diffusion model), the selected test trajectories are emulated from their
 * first `context` states by `samples` members each; the (trajectory, member)
 * pairs are spread over all ranks in balanced blocks (comm_block), each rank
 * rolls out its members in batches of eval.batch (src/rollout.h over
 * src/eval_emulators.h), decodes them to pixels in chunks and post-processes
 * them to physical units. Rank 0 gathers each trajectory's members, scores
 * them (src/eval_score.h) against the truth and against the autoencoder's
 * reconstruction, and appends the rows to <run.dir>/eval/stats.csv; the first
 * `record` members are saved to HDF5 and rendered (PNG strips, GIF).
 *
 * A member's numbers depend on (seed, trajectory, start, member) only, so the
 * table does not depend on the rank count (the speed column, a timing, aside). */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/atomic_file.h"
#include "../io/eval_record.h"
#include "../io/stats_csv.h"
#include "../kernels/rng.h"
#include "../parallel/comm.h"
#include "dataset_deck.h"
#include "diffusion_sampler.h"
#include "error.h"
#include "eval_emulators.h"
#include "eval_model.h"
#include "eval_render.h"
#include "eval_score.h"
#include "log.h"
#include "progress.h"
#include "rollout.h"
#include "generate_deck.h"
#include "stage.h"

/* clang-format off */
static const deck_key eval_own_keys[] = {
    {.path = "eval.run", .type = KEY_STRING, .fallback = "\"\"",
     .help = "run.dir of the trained models (train_ae, train_surrogate, train_diffusion); \"\" this run"},
    {.path = "eval.target", .type = KEY_STRING, .fallback = "\"last\"", .choices = "last|best",
     .help = "which checkpoint of each model"},
    {.path = "eval.methods", .type = KEY_STRING_LIST, .fallback = "[\"autoencoder\", \"surrogate\", \"diffusion\"]",
     .choices = "autoencoder|surrogate|diffusion",
     .help = "models to evaluate: those found in eval.run (the others are skipped with a note)"},
    {.path = "eval.split", .type = KEY_STRING, .fallback = "\"test\"", .choices = "train|valid|test",
     .help = "split of the trajectories"},
    {.path = "eval.indices", .type = KEY_FLOAT_LIST, .fallback = "[0]", .has_min = true, .min = 0,
     .help = "trajectories: integers are indices in the split, values in (0, 1) fractions of its size"},
    {.path = "eval.random", .type = KEY_INT, .fallback = "0", .has_min = true, .min = 0,
     .help = "seeded random trajectories added to eval.indices"},
    {.path = "eval.start", .type = KEY_INT, .fallback = "0", .has_min = true, .min = 0,
     .help = "time step of the last context state (at least (context - 1) x stride)"},
    {.path = "eval.context", .type = KEY_INT, .fallback = "1", .has_min = true, .min = 1,
     .help = "observed states at the start (below the emulator's window)"},
    {.path = "eval.overlap", .type = KEY_INT, .fallback = "1", .has_min = true, .min = 1,
     .help = "states of the previous window conditioning the next (below the window)"},
    {.path = "eval.crop", .type = KEY_INT, .fallback = "0", .has_min = true, .min = 0,
     .help = "states kept of each window; 0 the whole window"},
    {.path = "eval.rollout", .type = KEY_INT, .fallback = "0", .has_min = true, .min = 0,
     .help = "states emulated after the context; 0 to the end of the trajectory"},
    {.path = "eval.samples", .type = KEY_INT, .fallback = "16", .has_min = true, .min = 1,
     .help = "ensemble members per trajectory (1: spread is NaN)"},
    {.path = "eval.sampler.algorithm", .type = KEY_STRING, .fallback = "\"ab\"",
     .choices = "ddpm|ddim|euler|heun|ab|eab|pc", .help = "diffusion sampler (azula 0.3.1)"},
    {.path = "eval.sampler.steps", .type = KEY_INT, .fallback = "16", .has_min = true, .min = 1,
     .help = "sampler time steps"},
    {.path = "eval.sampler.eta", .type = KEY_FLOAT, .fallback = "0.0", .has_min = true, .min = 0, .has_max = true,
     .max = 1, .help = "ddim: stochasticity"},
    {.path = "eval.sampler.order", .type = KEY_INT, .fallback = "3", .has_min = true, .min = 1, .has_max = true,
     .max = 8, .help = "ab, eab: multistep order"},
    {.path = "eval.sampler.corrections", .type = KEY_INT, .fallback = "1", .has_min = true, .min = 0,
     .help = "pc: Langevin corrections per step"},
    {.path = "eval.sampler.delta", .type = KEY_FLOAT, .fallback = "0.01", .has_min = true, .min = 0,
     .help = "pc: Langevin step size"},
    {.path = "eval.seed", .type = KEY_INT, .fallback = "0", .has_min = true, .min = 0,
     .help = "random trajectories and sampler noise"},
    {.path = "eval.record", .type = KEY_INT, .fallback = "0", .has_min = true, .min = 0,
     .help = "members saved to HDF5 and rendered per trajectory"},
    {.path = "eval.batch", .type = KEY_INT, .fallback = "4", .has_min = true, .min = 1,
     .help = "members per emulator call"},
    {.path = "eval.chunk", .type = KEY_INT, .fallback = "16", .has_min = true, .min = 1,
     .help = "states per autoencoder encode / decode call"},
    {.path = "eval.stride", .type = KEY_INT, .fallback = "0", .has_min = true, .min = 0,
     .help = "autoencoder alone: time steps between states; 0 that of the run's emulator (else 1)"},
    {.path = NULL},
};
/* clang-format on */
static const deck_key *const eval_keys[] = {eval_own_keys, NULL};

typedef struct {
  long index, first, L; /* trajectory, first time step read, states */
} eval_traj;

typedef struct {
  const deck *d;
  const char *run, *target, *out_dir;
  char runname[256];
  int context, overlap, crop, samples, batch, record;
  long start, rollout;
  uint64_t seed;
  sampler_config sampler;
  double solver_seconds; /* per stored state, when the data came from this deck's generate; else 0 */
} eval_opts;

static uint64_t mix64(uint64_t x) { /* splitmix64's finaliser */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* The sampler seed of a trajectory, as the reference's randseed(f"{seed},{index},{start}"). */
static uint64_t trajectory_seed(uint64_t seed, long index, long start) {
  return mix64(mix64(mix64(seed) ^ (uint64_t)index) ^ (uint64_t)start);
}

static int compare_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

/* eval.indices and eval.random as sorted distinct trajectory indices. */
static long select_trajectories(const eval_opts *o, long count, long **out) {
  const deck *d = o->d;
  const int n = deck_list_len(d, "eval.indices");
  const long r = deck_int(d, "eval.random");
  long *idx = lola_malloc(sizeof(long) * (size_t)(n + r + 1), "eval indices");
  long k = 0;
  for (int i = 0; i < n; i++) {
    double v = deck_float_at(d, "eval.indices", i);
    long t;
    if (v > 0 && v < 1)
      t = (long)(v * (double)count);
    else if (v == floor(v))
      t = (long)v;
    else
      deck_fail(d, "eval.indices", "entry %d (%g) is neither an index nor a fraction in (0, 1)", i, v);
    if (t >= count)
      deck_fail(d, "eval.indices", "trajectory %ld is outside the %s split (%ld trajectories)", t,
                deck_string(d, "eval.split"), count);
    idx[k++] = t;
  }
  for (long i = 0; i < r; i++) {
    float u;
    rng_uniform(&u, 1, (rng_key){.seed = o->seed, .purpose = RNG_SAMPLER, .step = 0xE7A1u}, (uint64_t)i, 0);
    long t = (long)(u * (float)count);
    idx[k++] = t < count ? t : count - 1;
  }
  qsort(idx, (size_t)k, sizeof(long), compare_long);
  long m = 0;
  for (long i = 0; i < k; i++)
    if (m == 0 || idx[i] != idx[m - 1]) idx[m++] = idx[i];
  if (m == 0) deck_fail(d, "eval.indices", "selects no trajectory (and eval.random is 0)");
  *out = idx;
  return m;
}

/* Raw channel-last (L, P, C) to (C, L, P). */
static void channel_first(const float *raw, float *out, long L, long P, int C) {
  for (long l = 0; l < L; l++)
    for (long p = 0; p < P; p++)
      for (int c = 0; c < C; c++) out[((int64_t)c * L + l) * P + p] = raw[((int64_t)l * P + p) * C + c];
}

/* Preprocessed state-major (L, C, P) to physical (C, L, P); tmp holds L·P·C. */
static void to_physical(const preprocess *pre, const float *x, float *tmp, float *out, long L, long P,
                        int C) {
  for (long l = 0; l < L; l++)
    for (int c = 0; c < C; c++)
      for (long p = 0; p < P; p++) tmp[((int64_t)l * P + p) * C + c] = x[((int64_t)l * C + c) * P + p];
  preprocess_invert(pre, tmp, (size_t)(L * P));
  channel_first(tmp, out, L, P, C);
}

/* Raw (L, P, C) to preprocessed state-major (L, C, P); raw is overwritten. */
static void to_model(const preprocess *pre, float *raw, float *out, long L, long P, int C) {
  preprocess_apply(pre, raw, (size_t)(L * P));
  for (long l = 0; l < L; l++)
    for (int c = 0; c < C; c++)
      for (long p = 0; p < P; p++) out[((int64_t)l * C + c) * P + p] = raw[((int64_t)l * P + p) * C + c];
}

typedef struct {
  eval_model *m;
  dataset *ds;
  const preprocess *pre;
  eval_emulator em;
  long Lmax;
  float *raw, *xs, *z, *ctx, *zhat, *work, *xh, *tmp, *label;
  uint64_t *ids;
} eval_worker;

/* Members [m0, m1) of trajectory tr into store (each C·L·P, physical). Returns seconds. */
static double emulate_members(eval_worker *w, const eval_opts *o, const eval_traj *tr, int m0, int m1,
                              float *store, progress *prog, long done) {
  eval_model *m = w->m;
  const int C = m->C;
  const long P = m->P, L = tr->L;
  const int64_t S = eval_state_floats(m), X = (int64_t)C * L * P;
  dataset_trajectory(w->ds, tr->index, tr->first, L, m->stride, w->raw, w->label);
  to_model(w->pre, w->raw, w->xs, L, P, C);
  double tic = wall_time();
  if (m->method == EVAL_AUTOENCODER) { /* the reference's z.expand(samples, ...) */
    eval_encode(m, w->xs, L, w->z);
    eval_decode(m, w->z, L, w->xh);
    to_physical(w->pre, w->xh, w->tmp, store, L, P, C);
    for (int k = 1; k < m1 - m0; k++) memcpy(store + k * X, store, sizeof(float) * (size_t)X);
    return wall_time() - tic;
  }
  eval_encode(m, w->xs, o->context, w->z);
  rollout_plan plan = {
      .window = m->window, .context = o->context, .overlap = o->overlap, .crop = o->crop, .length = L};
  emulator cb = eval_emulator_callback(&w->em);
  w->em.seed = trajectory_seed(o->seed, tr->index, o->start);
  w->em.label = m->label_dim ? w->label : NULL;
  for (int b0 = m0; b0 < m1; b0 += o->batch) {
    int nb = m1 - b0 < o->batch ? m1 - b0 : o->batch;
    for (int k = 0; k < nb; k++) {
      w->ids[k] = (uint64_t)(b0 + k);
      memcpy(w->ctx + (int64_t)k * o->context * S, w->z, sizeof(float) * (size_t)(o->context * S));
    }
    w->em.batch = nb;
    w->em.ids = w->ids;
    rollout_run(&plan, &cb, w->ctx, w->zhat, nb, S, w->work);
    for (int k = 0; k < nb; k++) {
      eval_decode(m, w->zhat + (int64_t)k * L * S, L, w->xh);
      to_physical(w->pre, w->xh, w->tmp, store + (int64_t)(b0 - m0 + k) * X, L, P, C);
    }
    progress_update(prog, done + b0 + nb - m0, NULL);
  }
  return wall_time() - tic;
}

/* Rank 0: truth and autoencoder reconstruction (C, L, P), physical, and the label. */
static void reference_states(eval_worker *w, const eval_traj *tr, float *truth, float *recon) {
  eval_model *m = w->m;
  const long P = m->P, L = tr->L;
  dataset_trajectory(w->ds, tr->index, tr->first, L, m->stride, w->raw, w->label);
  to_model(w->pre, w->raw, w->xs, L, P, m->C);
  to_physical(w->pre, w->xs, w->tmp, truth, L, P, m->C); /* as eval.py: postprocess(preprocess(x)) */
  eval_encode(m, w->xs, L, w->z);
  eval_decode(m, w->z, L, w->xh);
  to_physical(w->pre, w->xh, w->tmp, recon, L, P, m->C);
}

static void evaluate_method(const eval_opts *o, eval_method method, int ae_stride) {
  const deck *d = o->d;
  eval_model m;
  eval_model_load_deck(&m, o->run, method, o->target);
  dataset_setup setup;
  dataset_setup_from_deck(&setup, m.mdeck, deck_string(d, "eval.split"), 0, 1, o->seed);
  dataset *ds = dataset_open(&setup.spec);
  dataset_setup_check(&setup, m.mdeck, ds);
  eval_model_build(&m, ds, (int)deck_int(d, "eval.chunk"), ae_stride);
  const char *name = eval_method_name(method);

  /* Trajectories and their lengths. */
  long *idx;
  const long T = select_trajectories(o, dataset_trajectories(ds), &idx);
  eval_traj *tr = lola_malloc(sizeof(eval_traj) * (size_t)T, "eval trajectories");
  long Lmax = 0;
  const long back = (long)(o->context - 1) * m.stride;
  if (o->start < back)
    deck_fail(d, "eval.start", "is %ld but the %d context states %d steps apart need at least %ld", o->start,
              o->context, m.stride, back);
  for (long k = 0; k < T; k++) {
    const long steps = dataset_trajectory_steps(ds, idx[k]);
    if (o->start >= steps)
      deck_fail(d, "eval.start", "is %ld but trajectory %ld has %ld steps", o->start, idx[k], steps);
    tr[k].index = idx[k];
    tr[k].first = o->start - back;
    tr[k].L = (steps - 1 - tr[k].first) / m.stride + 1;
    if (o->rollout > 0 && tr[k].L > o->context + o->rollout) tr[k].L = o->context + o->rollout;
    if (tr[k].L > Lmax) Lmax = tr[k].L;
  }
  if (method != EVAL_AUTOENCODER) {
    rollout_plan plan = {
        .window = m.window, .context = o->context, .overlap = o->overlap, .crop = o->crop, .length = Lmax};
    rollout_check(&plan);
  }

  /* This rank's block of (trajectory, member) pairs. */
  const int R = comm_size(), rank = comm_rank(), M = o->samples;
  const int C = m.C;
  const long P = m.P, N = T * M;
  long begin, end;
  comm_block(N, rank, R, &begin, &end);
  const int64_t S = eval_state_floats(&m);
  eval_worker w = {.m = &m, .ds = ds, .pre = &setup.pre, .Lmax = Lmax};
  const size_t X = (size_t)C * (size_t)Lmax * (size_t)P;
  w.raw = lola_malloc(sizeof(float) * X, "eval trajectory");
  w.xs = lola_malloc(sizeof(float) * X, "eval trajectory");
  w.xh = lola_malloc(sizeof(float) * X, "eval decoded member");
  w.tmp = lola_malloc(sizeof(float) * X, "eval decoded member");
  w.z = lola_malloc(sizeof(float) * (size_t)(Lmax * S), "eval latents");
  w.label = lola_malloc(sizeof(float) * (size_t)(m.label_dim + 1), "eval label");
  w.ids = lola_malloc(sizeof(uint64_t) * (size_t)o->batch, "eval member ids");
  if (method != EVAL_AUTOENCODER) {
    eval_emulator_init(&w.em, &m, o->batch, &o->sampler);
    rollout_plan plan = {
        .window = m.window, .context = o->context, .overlap = o->overlap, .crop = o->crop, .length = Lmax};
    w.ctx = lola_malloc(sizeof(float) * (size_t)(o->batch * o->context * S), "eval context");
    w.zhat = lola_malloc(sizeof(float) * (size_t)((int64_t)o->batch * Lmax * S), "eval rollout");
    w.work =
        lola_malloc(sizeof(float) * (size_t)rollout_workspace_floats(&plan, o->batch, S), "eval rollout");
  }
  size_t stored = 0;
  for (long p = begin; p < end; p++) stored += (size_t)C * (size_t)tr[p / M].L * (size_t)P;
  float *store = lola_malloc(sizeof(float) * (stored + 1), "eval members of this rank");
  double *seconds = lola_calloc((size_t)T, sizeof(double), "eval timings");

  lola_log("eval: %s of %s (%s): %ld trajectories x %d members over %d rank%s, %s", name, o->run, o->target,
           T, M, R, R == 1 ? "" : "s", m.latent ? "latent" : "pixels");
  progress prog;
  progress_begin(&prog, "eval", "member", end - begin);
  double tic = wall_time();
  size_t offset = 0;
  for (long p = begin; p < end;) {
    const long k = p / M;
    const long stop = (k + 1) * M < end ? (k + 1) * M : end;
    seconds[k] += emulate_members(&w, o, &tr[k], (int)(p - k * M), (int)(stop - k * M), store + offset, &prog,
                                  p - begin);
    offset += (size_t)(stop - p) * (size_t)C * (size_t)tr[k].L * (size_t)P;
    p = stop;
    progress_update(&prog, p - begin, NULL);
  }
  progress_end(&prog, end - begin, NULL);
  double wall = wall_time() - tic, slowest;
  MPI_Allreduce(&wall, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  double *total = lola_calloc((size_t)T, sizeof(double), "eval timings");
  MPI_Reduce(seconds, total, (int)T, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);

  /* Gather each trajectory's members on rank 0; score, record, render. */
  float *members = NULL, *truth = NULL, *recon = NULL;
  if (rank == 0) {
    members = lola_malloc(sizeof(float) * X * (size_t)M, "eval members");
    truth = lola_malloc(sizeof(float) * X, "eval truth");
    recon = lola_malloc(sizeof(float) * X, "eval reconstruction");
  }
  int *counts = lola_malloc(sizeof(int) * (size_t)R * 2, "eval gather"), *displs = counts + R;
  char stats_path[4400], settings[64] = "None";
  snprintf(stats_path, sizeof stats_path, "%s/stats.csv", o->out_dir);
  if (method == EVAL_DIFFUSION)
    snprintf(settings, sizeof settings, "%s%d", deck_string(d, "eval.sampler.algorithm"), o->sampler.steps);
  const char **fields = lola_malloc(sizeof(char *) * (size_t)C, "eval field names");
  for (int c = 0; c < C; c++) fields[c] = dataset_channel_name(ds, c);
  long states = 0;
  offset = 0;
  for (long k = 0; k < T; k++) {
    const long Xk = (long)C * tr[k].L * P;
    states += (long)M * tr[k].L;
    for (int r = 0; r < R; r++) {
      long b, e;
      comm_block(N, r, R, &b, &e);
      long lo = b > k * M ? b : k * M, hi = e < (k + 1) * M ? e : (k + 1) * M;
      counts[r] = hi > lo ? (int)((hi - lo) * Xk) : 0;
      displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
    }
    MPI_Gatherv(store + offset, counts[rank], MPI_FLOAT, members, counts, displs, MPI_FLOAT, 0,
                MPI_COMM_WORLD);
    offset += (size_t)counts[rank];
    if (rank != 0) continue;
    reference_states(&w, &tr[k], truth, recon);
    stats_row_key key = {.run = o->runname,
                         .target = o->target,
                         .method = name,
                         .settings = settings,
                         .guidance = "None",
                         .split = deck_string(d, "eval.split"),
                         .compression = (double)(C * P) / (double)S,
                         .speed = total[k] / (double)(M * tr[k].L),
                         .context = o->context,
                         .overlap = o->overlap,
                         .index = tr[k].index,
                         .start = o->start,
                         .seed = (int64_t)o->seed,
                         .labels = m.label_dim,
                         .label = w.label};
    eval_score_layout lay = {
        .C = C, .ndims = m.dims, .members = M, .context = o->context, .stride = m.stride, .L = tr[k].L};
    for (int a = 0; a < m.dims; a++) lay.shape[a] = m.grid.ext[a];
    char *rows = eval_score_rows(&lay, &key, truth, recon, members);
    stats_csv_append(stats_path, m.label_dim, rows);
    free(rows);
    if (o->record > 0) {
      char path[4500];
      snprintf(path, sizeof path, "%s/%s_%06ld", o->out_dir, name, tr[k].index);
      eval_record_layout rl = {.method = name,
                               .index = tr[k].index,
                               .start = o->start,
                               .stride = m.stride,
                               .context = o->context,
                               .C = C,
                               .ndims = m.dims,
                               .members = o->record < M ? o->record : M,
                               .L = tr[k].L,
                               .fields = fields};
      for (int a = 0; a < m.dims; a++) rl.shape[a] = m.grid.ext[a];
      char h5[4600];
      snprintf(h5, sizeof h5, "%s.h5", path);
      eval_record_write(h5, &rl, truth, members);
      eval_render(path, truth, members, rl.members, C, tr[k].L, m.dims, rl.shape, fields, 25 * m.stride);
    }
  }
  double seconds_total = 0;
  for (long k = 0; k < T && rank == 0; k++) seconds_total += total[k];
  lola_log(
      "eval: %s: %ld emulated states in %.3g s on %d rank%s: %.4g states/s (%.4g rank-seconds per state)",
      name, states, slowest, R, R == 1 ? "" : "s", (double)states / slowest,
      seconds_total / (double)(states > 0 ? states : 1));
  if (o->solver_seconds > 0 && states > 0) {
    /* One emulated state spans `stride` stored states of the solver. */
    double solver = o->solver_seconds * m.stride, emulator = seconds_total / (double)states;
    lola_log(
        "eval: %s: the solver takes %.4g s per emulated state (stride %d), the emulator %.4g: speed-up %.3gx",
        name, solver, m.stride, emulator, solver / emulator);
  }

  free(fields);
  free(counts);
  free(members);
  free(truth);
  free(recon);
  free(total);
  free(seconds);
  free(store);
  if (method != EVAL_AUTOENCODER) {
    eval_emulator_free(&w.em);
    free(w.ctx);
    free(w.zhat);
    free(w.work);
  }
  free(w.raw);
  free(w.xs);
  free(w.xh);
  free(w.tmp);
  free(w.z);
  free(w.label);
  free(w.ids);
  free(tr);
  free(idx);
  eval_model_free(&m);
  dataset_close(ds);
  dataset_setup_free(&setup);
}

/* The autoencoder's stride: eval.stride, else that of the run's first emulator, else 1. */
static int autoencoder_stride(const eval_opts *o) {
  int s = (int)deck_int(o->d, "eval.stride");
  for (eval_method e = EVAL_SURROGATE; s == 0 && e <= EVAL_DIFFUSION; e++)
    if (eval_model_exists(o->run, e, o->target)) {
      eval_model m;
      eval_model_load_deck(&m, o->run, e, o->target);
      char key[128];
      snprintf(key, sizeof key, "%s.trajectory.stride", eval_method_stage(e));
      s = (int)deck_int(m.mdeck, key);
      eval_model_free(&m);
    }
  return s > 0 ? s : 1;
}

/* The deck's context, overlap, crop and start against an emulator's window and stride. */
static void check_emulator(const eval_opts *o, eval_method e) {
  eval_model m;
  eval_model_load_deck(&m, o->run, e, o->target);
  char key[128];
  snprintf(key, sizeof key, "%s.trajectory.length", eval_method_stage(e));
  const int window = (int)deck_int(m.mdeck, key);
  snprintf(key, sizeof key, "%s.trajectory.stride", eval_method_stage(e));
  const int stride = (int)deck_int(m.mdeck, key);
  eval_model_free(&m);
  rollout_plan plan = {
      .window = window, .context = o->context, .overlap = o->overlap, .crop = o->crop, .length = o->context};
  rollout_check(&plan);
  const long back = (long)(o->context - 1) * stride;
  if (o->start < back)
    deck_fail(o->d, "eval.start", "is %ld but the %d context states %d steps apart need at least %ld",
              o->start, o->context, stride, back);
}

/* The solver's seconds per stored state, when this deck generated the data
 * (it lists the generate stage): rank 0 reruns one test trajectory's first
 * states; 0 otherwise. */
static double time_solver(const deck *d) {
  bool listed = false;
  for (int i = 0; i < deck_list_len(d, "stages"); i++)
    listed |= !strcmp(deck_string_at(d, "stages", i), "generate");
  if (!listed) return 0;
  generate_config c;
  generate_config_from_deck(d, &c);
  double seconds = 0;
  if (comm_rank() == 0) {
    int states = c.steps - 1 < 10 ? c.steps - 1 : 10;
    seconds = states > 0 ? generate_seconds_per_state(&c, states) : 0;
    if (seconds > 0)
      lola_log("eval: the generate solver takes %.4g s per stored state (%d states timed)", seconds, states);
  }
  MPI_Bcast(&seconds, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return seconds > 0 ? seconds : 0;
}

static void run_eval(const run_ctx *ctx) {
  const deck *d = ctx->deck;
  eval_opts o = {.d = d, .target = deck_string(d, "eval.target")};
  o.run = deck_string(d, "eval.run")[0] ? deck_string(d, "eval.run") : ctx->run_dir;
  o.context = (int)deck_int(d, "eval.context");
  o.overlap = (int)deck_int(d, "eval.overlap");
  o.crop = (int)deck_int(d, "eval.crop");
  o.samples = (int)deck_int(d, "eval.samples");
  o.batch = (int)deck_int(d, "eval.batch");
  o.record = (int)deck_int(d, "eval.record");
  o.start = deck_int(d, "eval.start");
  o.rollout = deck_int(d, "eval.rollout");
  o.seed = (uint64_t)deck_int(d, "eval.seed");
  o.sampler = sampler_defaults((sampler_algorithm)sampler_from_name(deck_string(d, "eval.sampler.algorithm")),
                               (int)deck_int(d, "eval.sampler.steps"));
  o.sampler.eta = deck_float(d, "eval.sampler.eta");
  o.sampler.order = (int)deck_int(d, "eval.sampler.order");
  o.sampler.corrections = (int)deck_int(d, "eval.sampler.corrections");
  o.sampler.delta = deck_float(d, "eval.sampler.delta");
  { /* the run's name: the last component of its folder */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", o.run);
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/') tmp[--n] = 0;
    const char *slash = strrchr(tmp, '/');
    snprintf(o.runname, sizeof o.runname, "%s", slash ? slash + 1 : tmp);
  }
  char out_dir[4200];
  snprintf(out_dir, sizeof out_dir, "%s/eval", ctx->run_dir);
  o.out_dir = out_dir;
  if (comm_rank() == 0) {
    make_dirs(out_dir);
    char path[4400];
    snprintf(path, sizeof path, "%s/stats.csv", out_dir);
    FILE *f = fopen(path, "r");
    if (f) { /* several jobs may share a table, as the reference's: rows are appended, never replaced */
      fclose(f);
      lola_log("eval: appending to the existing %s", path);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  o.solver_seconds = time_solver(d);
  if (o.samples == 1) lola_warn("eval: eval.samples = 1: the spread of a single member is undefined (NaN)");

  /* Every model found is checked against the deck before any is evaluated. */
  int found = 0;
  bool use[3] = {false};
  char missing[512] = "";
  for (int i = 0; i < deck_list_len(d, "eval.methods"); i++) {
    eval_method e = (eval_method)eval_method_from_name(deck_string_at(d, "eval.methods", i));
    if (!eval_model_exists(o.run, e, o.target)) {
      size_t n = strlen(missing);
      snprintf(missing + n, sizeof missing - n, "%s%s/%s/", n ? ", " : "", eval_method_stage(e), o.target);
      continue;
    }
    found += !use[e];
    use[e] = true;
    if (e != EVAL_AUTOENCODER) check_emulator(&o, e);
  }
  if (!found)
    deck_fail(d, "eval.run", "'%s' holds no trained model of eval.methods (looked for %s): train it first",
              o.run, missing);
  if (missing[0]) lola_log("eval: not found in %s (skipped): %s", o.run, missing);
  for (eval_method e = EVAL_AUTOENCODER; e <= EVAL_DIFFUSION; e++)
    if (use[e]) evaluate_method(&o, e, e == EVAL_AUTOENCODER ? autoencoder_stride(&o) : 0);
  lola_log("eval: scores in %s/stats.csv (lola report %s)", out_dir, ctx->run_dir);
}

const stage stage_eval = {
    "eval",
    "roll out trained emulators over test trajectories, distributed ensembles, scores to "
    "CSV and pictures (experiments/eval.py)",
    eval_keys, run_eval, .device_ready = true};
