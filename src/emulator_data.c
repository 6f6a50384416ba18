#include "emulator_data.h"

#include <dirent.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/h5util.h"
#include "../io/latent_cache.h"
#include "../parallel/comm.h"
#include "ae_run.h"
#include "error.h"
#include "log.h"

enum { MAX_CACHE_FILES = 4096 };

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool any_substring(const deck *d, const char *key, const char *name) {
  for (int i = 0; i < deck_list_len(d, key); i++)
    if (strstr(name, deck_string_at(d, key, i))) return true;
  return false;
}

/* Cache files of `split`, sorted per physics folder (rank 0's listing, broadcast). */
static int list_caches(const deck *d, const char *cache, const char *split, char ***out) {
  char **files = lola_calloc(MAX_CACHE_FILES, sizeof(char *), "cache file list");
  int n = 0;
  if (comm_rank() == 0)
    for (int p = 0; p < deck_list_len(d, "dataset.physics"); p++) {
      char dir[4600];
      snprintf(dir, sizeof dir, "%s/%s/%s", cache, deck_string_at(d, "dataset.physics", p), split);
      DIR *dh = opendir(dir);
      if (!dh) continue;
      int begin = n;
      struct dirent *e;
      while ((e = readdir(dh)) && n < MAX_CACHE_FILES) {
        size_t len = strlen(e->d_name);
        bool h5 = (len > 3 && strcmp(e->d_name + len - 3, ".h5") == 0) ||
                  (len > 5 && strcmp(e->d_name + len - 5, ".hdf5") == 0);
        if (!h5) continue;
        if (deck_list_len(d, "dataset.include_filters") > 0 &&
            !any_substring(d, "dataset.include_filters", e->d_name))
          continue;
        if (any_substring(d, "dataset.exclude_filters", e->d_name)) continue;
        size_t m = strlen(dir) + len + 2;
        files[n] = lola_malloc(m, "cache file name");
        snprintf(files[n++], m, "%s/%s", dir, e->d_name);
      }
      closedir(dh);
      qsort(files + begin, (size_t)(n - begin), sizeof(char *), compare_names);
    }
  MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
  for (int i = 0; i < n; i++) {
    int len = comm_rank() == 0 ? (int)strlen(files[i]) + 1 : 0;
    MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (comm_rank() != 0) files[i] = lola_malloc((size_t)len, "cache file name");
    MPI_Bcast(files[i], len, MPI_CHAR, 0, MPI_COMM_WORLD);
  }
  *out = files;
  return n;
}

static void free_list(char **files, int n) {
  for (int i = 0; i < n; i++) free(files[i]);
  free(files);
}

/* Refuse caches made by other autoencoder weights; read the latent grid. */
static void check_caches(const deck *d, const char *key, const ae_run_ref *ref, char **files, int n,
                         int *dims, int64_t *grid) {
  char want[32], bad[4700] = "";
  ae_fingerprint_hex(ref->fingerprint, want);
  int64_t g[4] = {0};
  int nd = 0;
  if (comm_rank() == 0) {
    for (int i = 0; i < n && !bad[0]; i++) {
      char found[64];
      if (!latent_cache_fingerprint(files[i], found, (int)sizeof found))
        snprintf(bad, sizeof bad, "%s records no autoencoder (not written by cache_latents)", files[i]);
      else if (strcmp(found, want) != 0)
        snprintf(bad, sizeof bad,
                 "%s was made by another autoencoder (weights %s, not %s of %s): run cache_latents again",
                 files[i], found, want, ref->weights);
    }
    if (!bad[0] && n > 0) {
      h5_lock();
      hid_t f = h5_open_read(files[0], MPI_COMM_NULL);
      hid_t s = h5_open_dataset(f, "state");
      hsize_t sd[H5U_MAX_RANK];
      int r = h5_dataset_shape(s, sd);
      nd = r - 3;
      for (int k = 0; k < nd && k < 3; k++) g[k] = (int64_t)sd[3 + k];
      H5Dclose(s);
      h5_close_file(f);
      h5_unlock();
    }
  }
  MPI_Bcast(bad, (int)sizeof bad, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (bad[0]) {
    char where[256];
    lola_die_collective(LOLA_EXIT_DATA, "%s (%s): %s", key, deck_where(d, key, where, sizeof where), bad);
  }
  MPI_Bcast(&nd, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Bcast(g, 4, MPI_INT64_T, 0, MPI_COMM_WORLD);
  if (nd < 1 || nd > 3)
    lola_die_collective(LOLA_EXIT_DATA, "%s: cache %s has %d latent dims", key, files[0], nd);
  *dims = nd;
  for (int k = 0; k < nd; k++) grid[k] = g[k];
}

static void open_latents(emulator_data *e, const deck *d, const char *g, int L, int stride, bool posix) {
  char key[256], ckey[256];
  snprintf(key, sizeof key, "%s.ae_run", g);
  snprintf(ckey, sizeof ckey, "%s.ae_checkpoint", g);
  ae_run_ref ref;
  ae_run_locate(d, key, deck_string(d, key), deck_string(d, ckey), &ref);
  const char *splits[2] = {"train", "valid"};
  sample_source *src[2] = {&e->train, &e->valid};
  int dims = 0;
  int64_t grid[3] = {0};
  for (int s = 0; s < 2; s++) {
    char **files;
    int n = list_caches(d, ref.cache, splits[s], &files);
    if (n == 0)
      deck_fail(d, key, "no %s latent caches under %s/<physics>/%s for dataset.physics: run cache_latents",
                splits[s], ref.cache, splits[s]);
    check_caches(d, key, &ref, files, n, &dims, grid);
    source_open_latents(src[s], n, (const char *const *)files, L, stride, posix);
    free_list(files, n);
  }
  e->spatial = dims + 1;
  for (int k = 0; k < dims; k++) e->shape[1 + k] = grid[k];
  snprintf(e->describe, sizeof e->describe, "latents of %.400s (weights %016llx)", ref.run,
           (unsigned long long)ref.fingerprint);
}

void emulator_data_open(emulator_data *e, const deck *d, const char *g, uint64_t seed, bool posix) {
  memset(e, 0, sizeof *e);
  char key[256];
  snprintf(key, sizeof key, "%s.trajectory.length", g);
  const int L = (int)deck_int(d, key);
  snprintf(key, sizeof key, "%s.trajectory.stride", g);
  const int stride = (int)deck_int(d, key);
  snprintf(key, sizeof key, "%s.trajectory.context.lmbda", g);
  e->context.lmbda = deck_float(d, key);
  snprintf(key, sizeof key, "%s.trajectory.context.rho", g);
  e->context.rho = deck_float(d, key);
  snprintf(key, sizeof key, "%s.trajectory.context.atleast", g);
  e->context.atleast = (int)deck_int(d, key);
  if (e->context.atleast >= L) deck_fail(d, key, "must be below trajectory.length (%d)", L);
  e->L = L;
  e->shape[0] = L;
  snprintf(key, sizeof key, "%s.ae_run", g);
  e->latent = deck_string(d, key)[0] != 0;
  if (e->latent) {
    open_latents(e, d, g, L, stride, posix);
  } else {
    source_open_pixels(&e->train, d, "train", L, stride, seed, posix);
    source_open_pixels(&e->valid, d, "valid", L, stride, seed, posix);
    e->spatial = e->train.ndims + 1;
    for (int k = 0; k < e->train.ndims; k++) e->shape[1 + k] = e->train.shape[k];
    snprintf(e->describe, sizeof e->describe, "pixels of %s", deck_string(d, "dataset.path"));
  }
  e->C = e->train.C;
  e->label_dim = e->train.label_dim;
  e->per_sample = source_sample_floats(&e->train);
  if (e->valid.C != e->C || e->valid.points != e->train.points || e->valid.label_dim != e->label_dim)
    lola_die_collective(LOLA_EXIT_DATA,
                        "%s: the valid split's samples (%d channels, %ld points, label %d) differ "
                        "from the train split's (%d channels, %ld points, label %d)",
                        g, e->valid.C, e->valid.points, e->valid.label_dim, e->C, e->train.points,
                        e->label_dim);
  e->known = lola_calloc((size_t)L, sizeof(bool), "context mask");
}

void emulator_data_close(emulator_data *e) {
  source_close(&e->train);
  source_close(&e->valid);
  free(e->known);
}

void emulator_batch(emulator_data *e, const long *items, int count, bool training, int64_t step,
                    uint64_t first, uint64_t mask_seed, float *x, float *mask, float *label) {
  sample_source *src = training ? &e->train : &e->valid;
  rng_key key = {.seed = mask_seed, .purpose = RNG_MASK, .step = (uint32_t)step};
  for (int i = 0; i < count; i++) {
    uint64_t sample = first + (uint64_t)i;
    source_sample(src, items[i], training, step, sample, x + (size_t)i * e->per_sample,
                  label + (size_t)i * e->label_dim);
    context_draw(&e->context, e->L, key, sample, e->known);
    context_mask_fill(mask + (size_t)i * e->per_sample, e->known, e->C, e->L, src->points);
  }
}

void emulator_buffers_init(emulator_buffers *b, const emulator_data *e, int64_t batch, const char *what) {
  size_t n = (size_t)batch * (size_t)e->per_sample;
  staged_init(&b->x, n, 2, what);
  staged_init(&b->mask, n, 2, what);
  staged_init(&b->label, (size_t)batch * (size_t)(e->label_dim + 1), 2, what);
}

void emulator_buffers_free(emulator_buffers *b) {
  staged_free(&b->x);
  staged_free(&b->mask);
  staged_free(&b->label);
}

void emulator_batch_fill(emulator_data *e, emulator_buffers *b, int buffer, const train_spec *spec,
                         const batch_ticket *t, const char *stage) {
  emulator_batch(e, t->items, t->count, t->training, t->step, train_batch_first(spec, t, stage),
                 train_batch_seed(spec, t->training), b->x.host[buffer], b->mask.host[buffer],
                 b->label.host[buffer]);
}

void emulator_batch_upload(const emulator_data *e, emulator_buffers *b, int buffer, int count) {
  size_t n = (size_t)count * (size_t)e->per_sample;
  staged_upload(&b->x, buffer, n);
  staged_upload(&b->mask, buffer, n);
  staged_upload(&b->label, buffer, (size_t)count * (size_t)e->label_dim);
}

char *emulator_train_spec(train_spec *spec, const deck *d, const emulator_data *e, const deck_key *model_keys,
                          param_registry *params, param_registry *buffers, const char *stage) {
  char extra[256];
  snprintf(extra, sizeof extra, "channels=%d;labels=%d;spatial=%d;length=%d", e->C, e->label_dim, e->spatial,
           e->L);
  spec->model_fingerprint = deck_keys_fingerprint(d, model_keys, extra);
  spec->params = params;
  spec->buffers = buffers;
  spec->train_len = source_len(&e->train);
  spec->valid_len = source_len(&e->valid);
  char *text = deck_text(d);
  spec->deck_text = text;
  char sbuf[64];
  lola_log("%s: %s; %ld train / %ld valid windows of %s x %d channels, label %d, %lld parameters", stage,
           e->describe, spec->train_len, spec->valid_len, shape_str(e->spatial, e->shape, sbuf, sizeof sbuf),
           e->C, e->label_dim, (long long)params->total);
  return text;
}
