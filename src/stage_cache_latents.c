/* `cache_latents`: the reference's experiments/cache_latents.py as a stage.
 * Every trajectory of each split is preprocessed, encoded state by state with
 * the autoencoder of an AE run, and written with its label to
 *   <ae_run>/cache/<physics>/<split>/<source file name>
 * one cache file per source file (src/../io/latent_cache.h), all ranks writing
 * their share of the rows of each file collectively. Training trajectories are
 * cached `repeat` times with distinct random augmentations, as the reference
 * (which redraws a copy equal to an earlier one); other splits once, as is.
 * A cache already made by the same autoencoder weights is kept. With
 * cache_latents.prefetch a helper thread (src/batch_prefetch.h) reads the next
 * trajectory while this one is encoded and written. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/latent_cache.h"
#include "../kernels/backend.h"
#include "../parallel/comm.h"
#include "ae_run.h"
#include "batch_prefetch.h"
#include "autoencoder_deck.h"
#include "dataset_deck.h"
#include "error.h"
#include "log.h"
#include "progress.h"
#include "stage.h"
#include "staging.h"

static const deck_key cache_own_keys[] = {
    {.path = "cache_latents.ae_run",
     .type = KEY_STRING,
     .fallback = "\"\"",
     .help = "run.dir of the train_ae run whose autoencoder encodes; \"\" this run"},
    {.path = "cache_latents.ae_checkpoint",
     .type = KEY_STRING,
     .fallback = "\"last\"",
     .choices = "last|best",
     .help = "which checkpoint of the autoencoder run"},
    {.path = "cache_latents.splits",
     .type = KEY_STRING_LIST,
     .fallback = "[\"train\", \"valid\"]",
     .choices = "train|valid|test",
     .help = "splits to encode"},
    {.path = "cache_latents.repeat",
     .type = KEY_INT,
     .fallback = "1",
     .has_min = true,
     .min = 1,
     .help = "augmented copies of each training trajectory"},
    {.path = "cache_latents.seed",
     .type = KEY_INT,
     .fallback = "0",
     .has_min = true,
     .min = 0,
     .help = "augmentations"},
    {.path = "cache_latents.prefetch",
     .type = KEY_BOOL,
     .fallback = "true",
     .help = "read the next trajectory on a helper thread while this one is encoded (ranks open the files "
             "themselves)"},
    {.path = NULL},
};
static const deck_key *const cache_keys[] = {dataset_keys, autoencoder_deck_keys, cache_own_keys, NULL};

enum { MAX_ATTEMPTS = 32 }; /* redraws of an augmented copy equal to an earlier one */

typedef struct {
  dataset *ds;
  dataset_setup setup;
  augment_layout lay;
  bool augment;
  int repeat, C, dims;
  long P, Lmax;
  /* buffers for one trajectory: raw and label_raw point into raw_buf and
   * label_buf, the buffer of the trajectory at hand (the helper fills the other) */
  float *raw, *work, *visited, *label, *label_raw, *scratch;
  float *raw_buf[2], *label_buf[2];
  bool prefetch;
  staged x;    /* the channel-first states the encoder reads */
  float *z;    /* the latents, back on the host for the writer */
  int64_t lat; /* floats of one latent state */
  autoencoder *ae;
  arena act, scratch_arena;
  dcae_grid grid;
} cache_job;

/* "<root>/<physics>/data/<split>/<file>" -> physics (caller's buffer); the
 * dataset's name when the path has another shape. */
static const char *physics_of(const char *path, const char *fallback, char *buf, size_t n) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s", path);
  char *parts[3] = {0};
  for (int k = 0; k < 3; k++) {
    char *slash = strrchr(tmp, '/');
    if (!slash) break;
    *slash = 0;
    parts[k] = slash + 1;
  }
  if (parts[2] && strcmp(parts[2], "data") == 0) {
    char *slash = strrchr(tmp, '/');
    snprintf(buf, n, "%.500s", slash ? slash + 1 : tmp);
  } else {
    snprintf(buf, n, "%s", fallback[0] ? fallback : "data");
  }
  return buf;
}

/* Copy `copy` of trajectory t into j->work (channel-last) and j->label:
 * copies 0..copy are redrawn in order so that every rank finds the same one. */
static void augmented_copy(cache_job *j, long t, long L, int copy) {
  size_t n = (size_t)L * (size_t)j->P * (size_t)j->C;
  int D = dataset_label_dim(j->ds);
  if (!j->augment) {
    memcpy(j->work, j->raw, sizeof(float) * n);
    memcpy(j->label, j->label_raw, sizeof(float) * (size_t)D);
    return;
  }
  long attempt = 0;
  for (int k = 0; k <= copy; k++) {
    for (;;) {
      memcpy(j->work, j->raw, sizeof(float) * n);
      memcpy(j->label, j->label_raw, sizeof(float) * (size_t)D);
      j->lay.steps = (int)L;
      augment_window(&j->setup.aug, &j->lay, attempt++, t, j->work, j->label, j->scratch);
      bool seen = false;
      for (int v = 0; v < k && !seen; v++)
        seen = memcmp(j->visited + (size_t)v * n, j->work, sizeof(float) * n) == 0;
      if (!seen || attempt >= (long)MAX_ATTEMPTS * (k + 1)) break;
    }
    if (k < copy) memcpy(j->visited + (size_t)k * n, j->work, sizeof(float) * n);
  }
}

/* Encode j->work (L states, channel-last) into z (L, lat, *latent grid) in the arena. */
static float *encode_trajectory(cache_job *j, long L) {
  const long P = j->P;
  preprocess_apply(&j->setup.pre, j->work, (size_t)L * (size_t)P);
  for (long l = 0; l < L; l++)
    for (long p = 0; p < P; p++)
      for (int c = 0; c < j->C; c++)
        j->x.host[0][((size_t)l * j->C + c) * P + p] = j->work[((size_t)l * P + p) * j->C + c];
  staged_upload(&j->x, 0, (size_t)L * (size_t)P * (size_t)j->C);
  arena_reset(&j->act);
  arena_reset(&j->scratch_arena);
  dcae_pass pass = {.act = &j->act, .scratch = &j->scratch_arena, .train = false};
  const float *z = autoencoder_encode(j->ae, &pass, j->x.dev, L, &j->grid);
  k_download(j->z, z, sizeof(float) * (size_t)L * (size_t)j->lat);
  return j->z;
}

/* Trajectory t->step, t->part states long, into buffer b (the helper thread's
 * only work: dataset reads take the HDF5 lock). */
static void read_trajectory(void *user, int b, const batch_ticket *t) {
  cache_job *j = user;
  dataset_trajectory(j->ds, (long)t->step, 0, (long)t->part, 1, j->raw_buf[b], j->label_buf[b]);
}

/* The raw states and label of trajectory t (L states) in j->raw, j->label_raw,
 * from the prefetcher, which then reads trajectory `next` (-1: none). */
static void take_trajectory(cache_job *j, batch_prefetch *pf, long t, long next, long L) {
  long none[1] = {0};
  batch_ticket want = {.training = true, .step = t, .part = L, .items = none, .slots = none};
  batch_ticket after = want;
  after.step = next;
  int b = prefetch_take(pf, &want, next >= 0 ? &after : NULL);
  j->raw = j->raw_buf[b];
  j->label_raw = j->label_buf[b];
}

static void cache_split(cache_job *j, const deck *d, const ae_run_ref *ref, const char *split, uint64_t seed,
                        int repeat) {
  dataset_setup_from_deck(&j->setup, d, split, 0, 1, seed);
  j->setup.spec.posix = j->prefetch; /* the helper thread may not make MPI calls */
  j->ds = dataset_open(&j->setup.spec);
  dataset_setup_check(&j->setup, d, j->ds);
  if (!j->setup.pre.normalize)
    deck_fail(d, "dataset.stats.mean", "encoding needs the per-field statistics dataset.stats (as train_ae)");
  const augment_config *a = &j->setup.aug;
  j->augment = strcmp(split, "train") == 0 && (a->flip || a->permute || a->roll);
  j->repeat = strcmp(split, "train") == 0 ? repeat : 1;
  if (j->repeat > 1 && !j->augment)
    deck_fail(d, "cache_latents.repeat",
              "is %d but dataset.augment lists no augmentation: the copies would be equal", repeat);
  if (j->augment) augment_layout_from_dataset(&j->lay, j->ds, a);

  const long T = dataset_trajectories(j->ds);
  const int F = dataset_files(j->ds), D = dataset_label_dim(j->ds);
  const int R = comm_size(), rank = comm_rank();
  long *first = lola_calloc((size_t)F + 1, sizeof(long), "cache files"),
       *count = lola_calloc((size_t)F + 1, sizeof(long), "cache files");
  for (long t = T - 1; t >= 0; t--) {
    int f;
    long traj, start;
    dataset_locate(j->ds, t, &f, &traj, &start);
    first[f] = t;
    count[f]++;
  }
  char fp[32];
  ae_fingerprint_hex(ref->fingerprint, fp);
  for (int f = 0; f < F; f++) {
    if (!count[f]) continue;
    const char *src = dataset_file_path(j->ds, f);
    const char *base = strrchr(src, '/');
    base = base ? base + 1 : src;
    char physics[512], path[8192];
    physics_of(src, deck_string(d, "dataset.name"), physics, sizeof physics);
    snprintf(path, sizeof path, "%s/%s/%s/%s", ref->cache, physics, split, base);
    int keep = 0;
    if (rank == 0) {
      char found[64];
      keep = latent_cache_fingerprint(path, found, (int)sizeof found) && strcmp(found, fp) == 0;
    }
    MPI_Bcast(&keep, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (keep) {
      lola_log("cache_latents: %s is up to date", path);
      continue;
    }
    const long L = dataset_trajectory_steps(j->ds, first[f]);
    dcae_grid latent;
    int64_t lat = autoencoder_latent_shape(j->ae, &j->grid, &latent);
    latent_cache_layout lay = {.rows = count[f] * j->repeat,
                               .length = L,
                               .channels = (int)lat,
                               .ndims = latent.dims,
                               .label_dim = D,
                               .ae_run = ref->run,
                               .fingerprint = fp,
                               .source = src};
    for (int k = 0; k < latent.dims; k++) lay.shape[k] = latent.ext[k];
    latent_writer w;
    latent_writer_open(&w, path, &lay);
    long begin, end;
    comm_block(lay.rows, rank, R, &begin, &end);
    progress p;
    progress_begin(&p, "cache_latents", "trajectory", end - begin);
    batch_prefetch pf;
    prefetch_init(&pf, read_trajectory, j, 1, j->prefetch);
    for (long row = begin; row < end; row++) {
      long t = first[f] + row / j->repeat;
      if (row == begin || row % j->repeat == 0) { /* a new trajectory: its copies follow it */
        long following = (row / j->repeat + 1) * j->repeat;
        take_trajectory(j, &pf, t, following < end ? first[f] + following / j->repeat : -1, L);
      }
      augmented_copy(j, t, L, (int)(row % j->repeat));
      float *z = encode_trajectory(j, L);
      latent_writer_row(&w, row, z, j->label);
      progress_update(&p, row - begin + 1, NULL);
    }
    progress_end(&p, end - begin, NULL);
    prefetch_free(&pf);
    latent_writer_close(&w);
    char gbuf[64];
    lola_log("cache_latents: wrote %s (%ld trajectories x %d, %ld states of %lld x %s latents)", path,
             count[f], j->repeat, L, (long long)lat, shape_str(latent.dims, latent.ext, gbuf, sizeof gbuf));
  }
  free(first);
  free(count);
  dataset_close(j->ds);
  dataset_setup_free(&j->setup);
}

static void run_cache_latents(const run_ctx *ctx) {
  const deck *d = ctx->deck;
  const char *run = deck_string(d, "cache_latents.ae_run");
  ae_run_ref ref;
  ae_run_locate(d, "cache_latents.ae_run", run[0] ? run : ctx->run_dir,
                deck_string(d, "cache_latents.ae_checkpoint"), &ref);
  int repeat = (int)deck_int(d, "cache_latents.repeat");
  uint64_t seed = (uint64_t)deck_int(d, "cache_latents.seed");
  const int nsplits = deck_list_len(d, "cache_latents.splits");

  /* Shapes from every split: the autoencoder, arenas and buffers for the longest trajectory. */
  cache_job j = {0};
  int D = 0;
  for (int s = 0; s < nsplits; s++) {
    dataset_setup setup;
    dataset_setup_from_deck(&setup, d, deck_string_at(d, "cache_latents.splits", s), 0, 1, seed);
    dataset *ds = dataset_open(&setup.spec);
    if (s == 0) {
      j.C = dataset_channels(ds);
      j.dims = dataset_ndims(ds);
      j.P = dataset_points(ds);
      j.grid.dims = j.dims;
      for (int k = 0; k < j.dims; k++) j.grid.ext[k] = dataset_shape(ds, k);
    } else if (dataset_channels(ds) != j.C || dataset_points(ds) != j.P) {
      lola_die_collective(LOLA_EXIT_DATA,
                          "cache_latents: the %s split's states (%d fields, %ld points) differ "
                          "from the %s split's (%d fields, %ld points)",
                          deck_string_at(d, "cache_latents.splits", s), dataset_channels(ds),
                          dataset_points(ds), deck_string_at(d, "cache_latents.splits", 0), j.C, j.P);
    }
    for (long t = 0; t < dataset_trajectories(ds); t++)
      if (dataset_trajectory_steps(ds, t) > j.Lmax) j.Lmax = dataset_trajectory_steps(ds, t);
    if (dataset_label_dim(ds) > D) D = dataset_label_dim(ds);
    dataset_close(ds);
    dataset_setup_free(&setup);
  }

  autoencoder ae;
  ae_run_load(d, &ref, j.C, j.dims, &ae);
  j.ae = &ae;
  size_t n = (size_t)j.Lmax * (size_t)j.P * (size_t)j.C;
  j.prefetch = deck_bool(d, "cache_latents.prefetch");
  for (int b = 0; b < (j.prefetch ? 2 : 1); b++) {
    j.raw_buf[b] = lola_malloc(sizeof(float) * n, "trajectory");
    j.label_buf[b] = lola_malloc(sizeof(float) * (size_t)(D + 1), "label");
  }
  j.work = lola_malloc(sizeof(float) * n, "trajectory");
  j.scratch = lola_malloc(sizeof(float) * n, "trajectory");
  params_to_device(&ae.params);
  params_to_device(&ae.buffers);
  staged_init(&j.x, n, 1, "trajectory");
  dcae_grid latent;
  j.lat = autoencoder_latent_shape(&ae, &j.grid, &latent) * dcae_grid_volume(&latent);
  j.z = lola_malloc(sizeof(float) * (size_t)j.Lmax * (size_t)j.lat, "latent trajectory");
  j.visited = lola_malloc(sizeof(float) * n * (size_t)repeat, "augmented copies");
  j.label = lola_malloc(sizeof(float) * (size_t)(D + 1), "label");
  arena_init_device(&j.act, autoencoder_activation_bytes(&ae, j.Lmax, &j.grid, false) + (1u << 20),
                    "cache_latents activations");
  arena_init_device(&j.scratch_arena, autoencoder_scratch_bytes(&ae, j.Lmax, &j.grid) + (1u << 20),
                    "cache_latents scratch");
  char fp[32];
  lola_log("cache_latents: autoencoder %s (weights %s), %d split%s, repeat %d", ref.weights,
           ae_fingerprint_hex(ref.fingerprint, fp), nsplits, nsplits == 1 ? "" : "s", repeat);
  for (int s = 0; s < nsplits; s++)
    cache_split(&j, d, &ref, deck_string_at(d, "cache_latents.splits", s), seed, repeat);

  arena_free(&j.act);
  arena_free(&j.scratch_arena);
  for (int b = 0; b < 2; b++) free(j.raw_buf[b]), free(j.label_buf[b]);
  free(j.work);
  free(j.scratch);
  staged_free(&j.x);
  free(j.z);
  free(j.visited);
  free(j.label);
  autoencoder_free(&ae);
}

const stage stage_cache_latents = {"cache_latents",
                                   "encode every trajectory with an autoencoder run into latent caches "
                                   "(experiments/cache_latents.py)",
                                   cache_keys, run_cache_latents, .device_ready = true};
