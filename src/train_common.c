#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../parallel/comm.h"
#include "checkpoint.h"
#include "error.h"
#include "log.h"
#include "model_io.h"

static long group_int(const deck *d, const char *g, const char *key) {
  char path[256];
  snprintf(path, sizeof path, "%s.%s", g, key);
  return deck_int(d, path);
}

static double group_float(const deck *d, const char *g, const char *key) {
  char path[256];
  snprintf(path, sizeof path, "%s.%s", g, key);
  return deck_float(d, path);
}

void train_spec_from_deck(train_spec *s, const deck *d, const char *g, const char *run_dir, char *dir,
                          int dir_size) {
  memset(s, 0, sizeof *s);
  snprintf(dir, (size_t)dir_size, "%s/%s", run_dir, g);
  s->stage = g;
  s->dir = dir;
  s->seed = (uint64_t)group_int(d, g, "seed");
  s->epochs = group_int(d, g, "train.epochs");
  s->epoch_size = group_int(d, g, "train.epoch_size");
  s->batch_size = group_int(d, g, "train.batch_size");
  s->accumulation = group_int(d, g, "train.accumulation");
  s->valid_size = group_int(d, g, "valid.epoch_size");
  s->valid_batch_size = group_int(d, g, "valid.batch_size");
  s->resume = deck_bool(d, "run.resume");
  char key[256];
  snprintf(key, sizeof key, "%s.train.prefetch", g);
  s->prefetch = deck_bool(d, key);
  snprintf(key, sizeof key, "%s.train.shard_optimizer", g);
  s->shard_optimizer = deck_bool(d, key);

  char path[256];
  snprintf(path, sizeof path, "%s.optim.betas", g);
  if (deck_list_len(d, path) != 2) deck_fail(d, path, "must hold two numbers (beta1, beta2)");
  s->optim = (adamw_config){
      .lr = group_float(d, g, "optim.learning_rate"),
      .beta1 = deck_float_at(d, path, 0),
      .beta2 = deck_float_at(d, path, 1),
      .eps = group_float(d, g, "optim.eps"),
      .weight_decay = group_float(d, g, "optim.weight_decay"),
      .grad_clip = group_float(d, g, "optim.grad_clip"),
  };
  snprintf(path, sizeof path, "%s.optim.scheduler", g);
  s->schedule = (lr_schedule_kind)lr_schedule_from_name(deck_string(d, path));
  s->warmup = group_int(d, g, "optim.warmup");

  snprintf(path, sizeof path, "%s.fork.freeze", g);
  s->nfrozen = deck_list_len(d, path);
  const char **frozen = lola_calloc((size_t)s->nfrozen + 1, sizeof *frozen, "fork.freeze");
  for (int i = 0; i < s->nfrozen; i++) {
    frozen[i] = deck_string_at(d, path, i);
    if (!frozen[i][0]) deck_fail(d, path, "entry %d is empty (it would freeze every parameter)", i);
  }
  s->frozen_prefixes = frozen;
}

void train_spec_free(train_spec *s) {
  free((void *)s->frozen_prefixes);
  s->frozen_prefixes = NULL;
}

/* Append "path=value;" for one key, in a canonical spelling. */
static void append_value(char **buf, size_t *len, size_t *cap, const deck *d, const deck_key *k) {
  char item[1024];
  int n = snprintf(item, sizeof item, "%s=", k->path);
  if (!deck_has(d, k->path)) {
    n += snprintf(item + n, sizeof item - (size_t)n, "<none>");
  } else {
    switch (k->type) {
      case KEY_INT:
        n += snprintf(item + n, sizeof item - (size_t)n, "%ld", deck_int(d, k->path));
        break;
      case KEY_FLOAT:
        n += snprintf(item + n, sizeof item - (size_t)n, "%.17g", deck_float(d, k->path));
        break;
      case KEY_BOOL:
        n += snprintf(item + n, sizeof item - (size_t)n, "%d", deck_bool(d, k->path));
        break;
      case KEY_STRING:
        n += snprintf(item + n, sizeof item - (size_t)n, "\"%s\"", deck_string(d, k->path));
        break;
      case KEY_INT_LIST:
      case KEY_FLOAT_LIST:
      case KEY_STRING_LIST:
        for (int i = 0; i < deck_list_len(d, k->path) && n < (int)sizeof item - 64; i++) {
          if (k->type == KEY_INT_LIST)
            n += snprintf(item + n, sizeof item - (size_t)n, "%ld,", deck_int_at(d, k->path, i));
          else if (k->type == KEY_FLOAT_LIST)
            n += snprintf(item + n, sizeof item - (size_t)n, "%.17g,", deck_float_at(d, k->path, i));
          else
            n += snprintf(item + n, sizeof item - (size_t)n, "\"%.200s\",", deck_string_at(d, k->path, i));
        }
        break;
    }
  }
  size_t add = strlen(item) + 1;
  if (*len + add + 1 > *cap) {
    *cap = (*len + add + 1) * 2;
    char *grown = realloc(*buf, *cap);
    if (!grown) lola_die(LOLA_EXIT_RUNTIME, "out of memory fingerprinting the deck");
    *buf = grown;
  }
  memcpy(*buf + *len, item, add - 1);
  *len += add - 1;
  (*buf)[(*len)++] = ';';
  (*buf)[*len] = 0;
}

uint64_t deck_keys_fingerprint(const deck *d, const deck_key *keys, const char *extra) {
  size_t len = 0, cap = 4096;
  char *buf = lola_malloc(cap, "deck fingerprint");
  buf[0] = 0;
  for (const deck_key *k = keys; k->path; k++) {
    if (strstr(k->path, ".name") || strstr(k->path, ".checkpointing")) continue; /* informative only */
    append_value(&buf, &len, &cap, d, k);
  }
  size_t add = strlen(extra ? extra : "");
  char *grown = realloc(buf, len + add + 1);
  if (!grown) lola_die(LOLA_EXIT_RUNTIME, "out of memory fingerprinting the deck");
  buf = grown;
  memcpy(buf + len, extra ? extra : "", add + 1);
  uint64_t h = fingerprint_text(buf);
  free(buf);
  return h;
}

void train_fork(const deck *d, const char *g, param_registry *params, param_registry *buffers) {
  char key[256], skey[256], tkey[256];
  snprintf(key, sizeof key, "%s.fork.run", g);
  snprintf(skey, sizeof skey, "%s.fork.strict", g);
  snprintf(tkey, sizeof tkey, "%s.fork.target", g);
  const char *run = deck_string(d, key);
  if (!run[0]) return;
  char stage_dir[4096], weights[4200];
  snprintf(stage_dir, sizeof stage_dir, "%s/%s", run, g);
  checkpoint_weights(stage_dir, deck_string(d, tkey), weights, (int)sizeof weights);
  struct stat st;
  if (stat(weights, &st) != 0)
    deck_fail(d, key, "run %s has no %s checkpoint of %s (%s is missing)", run, deck_string(d, tkey), g,
              weights);
  int n = model_load(weights, params, buffers, deck_bool(d, skey), g);
  lola_log("%s: forked from %s (%d tensors)", g, weights, n);
}

int64_t train_spec_largest_batch(const train_spec *s) {
  const int R = comm_size();
  int64_t micro = s->batch_size / (s->accumulation * R), valid = s->valid_batch_size / R;
  int64_t b = micro > valid ? micro : valid;
  return b < 1 ? 1 : b;
}

uint64_t train_batch_first(const train_spec *s, const batch_ticket *t, const char *stage) {
  for (int i = 0; i < t->count; i++)
    if (t->slots[i] != t->slots[0] + i)
      lola_die(LOLA_EXIT_RUNTIME, "%s: batch slots are not contiguous", stage);
  return t->count ? train_sample_index(s, t->step, t->training, t->slots[0]) : 0;
}
