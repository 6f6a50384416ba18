#define _GNU_SOURCE
#include "checkpoint.h"

#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../io/atomic_file.h"
#include "../io/paths.h"
#include "../io/safetensors.h"
#include "error.h"
#include "model_io.h"

uint64_t fingerprint_text(const char *text) {
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) h = (h ^ *p) * 1099511628211ULL;
  return h;
}

const char *checkpoint_weights(const char *stage_dir, const char *name, char *buf, int n) {
  snprintf(buf, (size_t)n, "%s/%s/model.safetensors", stage_dir, name);
  return buf;
}

static void remove_tree(const char *dir) {
  static const char *const files[] = {"model.safetensors", "optimizer.safetensors", "counters.cfg",
                                      "deck.cfg"};
  char path[4096];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    path_join(path, sizeof path, dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

static int dir_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void checkpoint_save(const char *stage_dir, const char *name, const param_registry *r,
                     const param_registry *buffers, const train_counters *c, const char *deck_text) {
  char tmp[4096], final[4096], old[4096], path[4096];
  snprintf(tmp, sizeof tmp, "%s/%s.tmp.%ld", stage_dir, name, (long)getpid());
  snprintf(final, sizeof final, "%s/%s", stage_dir, name);
  snprintf(old, sizeof old, "%s/%s.old", stage_dir, name);
  remove_tree(tmp);
  make_dirs(tmp);

  path_join(path, sizeof path, tmp, "model.safetensors");
  model_save(path, r, buffers, NULL);
  path_join(path, sizeof path, tmp, "optimizer.safetensors");
  st_save_optimizer(path, r, &c->opt);
  char text[1024];
  int len =
      snprintf(text, sizeof text,
               "epoch = %lldL;\nstep = %lldL;\nsamples = %lldL;\nbest_valid = %#.17g;\nelapsed = %#.17g;\n"
               "ranks = %d;\nmodel_fingerprint = \"%016llx\";\n",
               (long long)c->epoch, (long long)c->step, (long long)c->samples,
               isfinite(c->best_valid) ? c->best_valid : 1e308, c->elapsed, c->ranks,
               (unsigned long long)c->model_fingerprint);
  path_join(path, sizeof path, tmp, "counters.cfg");
  atomic_write(path, text, (size_t)len);
  path_join(path, sizeof path, tmp, "deck.cfg");
  atomic_write(path, deck_text, strlen(deck_text));

  /* Swap: final -> old, tmp -> final, drop old. A crash in between leaves
   * old (and maybe tmp); checkpoint_load falls back to old. */
  remove_tree(old);
  if (dir_exists(final) && rename(final, old) != 0)
    lola_die(LOLA_EXIT_RUNTIME, "cannot move checkpoint %s aside: %s", final, strerror(errno));
  atomic_rename(tmp, final);
  remove_tree(old);
}

static bool read_counters(const char *dir, train_counters *c) {
  char path[4096];
  path_join(path, sizeof path, dir, "counters.cfg");
  config_t cfg;
  config_init(&cfg);
  if (!config_read_file(&cfg, path)) {
    config_destroy(&cfg);
    return false;
  }
  long long v = 0;
  const char *fp = NULL;
  int ranks = 0;
  bool ok = config_lookup_int64(&cfg, "epoch", &v) && (c->epoch = v, true) &&
            config_lookup_int64(&cfg, "step", &v) && (c->step = v, true) &&
            config_lookup_int64(&cfg, "samples", &v) && (c->samples = v, true) &&
            config_lookup_float(&cfg, "best_valid", &c->best_valid) &&
            config_lookup_float(&cfg, "elapsed", &c->elapsed) && config_lookup_int(&cfg, "ranks", &ranks) &&
            config_lookup_string(&cfg, "model_fingerprint", &fp);
  if (ok) {
    c->ranks = ranks;
    c->model_fingerprint = strtoull(fp, NULL, 16);
    if (c->best_valid >= 1e308) c->best_valid = INFINITY;
  }
  config_destroy(&cfg);
  return ok;
}

bool checkpoint_load(const char *stage_dir, const char *name, param_registry *r, param_registry *buffers,
                     train_counters *c) {
  char dir[4096], path[4096];
  snprintf(dir, sizeof dir, "%s/%s", stage_dir, name);
  if (!dir_exists(dir)) snprintf(dir, sizeof dir, "%s/%s.old", stage_dir, name); /* crash mid-swap */
  if (!dir_exists(dir)) return false;
  if (!read_counters(dir, c))
    lola_die(LOLA_EXIT_DATA, "checkpoint %s: counters.cfg is missing or malformed", dir);
  path_join(path, sizeof path, dir, "model.safetensors");
  model_load(path, r, buffers, true, stage_dir);
  path_join(path, sizeof path, dir, "optimizer.safetensors");
  st_load_optimizer(path, r, &c->opt);
  return true;
}
