/* `stats`: per-field mean and standard deviation after the transforms over a
 * whole split (the reference's experiments/get_stats.py), computed in parallel,
 * written to <run.dir>/stats.cfg for a dataset preset to @include. */
#include <stdio.h>
#include <string.h>

#include "../parallel/comm.h"
#include "dataset_deck.h"
#include "dataset_stats.h"
#include "log.h"
#include "stage.h"

static const deck_key stats_own_keys[] = {
    {.path = "stats.split", .type = KEY_STRING, .fallback = "\"train\"", .help = "split to summarise"},
    {.path = "stats.output",
     .type = KEY_STRING,
     .fallback = "\"stats.cfg\"",
     .help = "file name in run.dir of the libconfig snippet"},
    {.path = NULL},
};
static const deck_key *const stats_keys[] = {dataset_keys, stats_own_keys, NULL};

static void run_stats(const run_ctx *ctx) {
  const deck *d = ctx->deck;
  dataset_setup setup;
  dataset_setup_from_deck(&setup, d, deck_string(d, "stats.split"), 1, 1, 0);
  dataset *ds = dataset_open(&setup.spec);
  dataset_setup_check(&setup, d, ds);
  setup.pre.normalize = false; /* statistics of the transformed fields, before normalisation */
  lola_log("stats: %d files, %ld states of %d fields over %d ranks", dataset_files(ds), dataset_len(ds),
           dataset_channels(ds), comm_size());
  field_stats st;
  dataset_field_stats(ds, &setup.pre, &st);
  lola_log("  %-14s %-10s %12s %12s %12s %12s", "field", "transform", "mean", "std", "min", "max");
  for (int c = 0; c < st.channels; c++)
    lola_log("  %-14s %-10s %12.6g %12.6g %12.6g %12.6g", dataset_channel_name(ds, c),
             transform_name(setup.pre.transform[c]), st.mean[c], st.std[c], st.min[c], st.max[c]);
  char path[4096], what[512];
  snprintf(path, sizeof path, "%s/%s", ctx->run_dir, deck_string(d, "stats.output"));
  snprintf(what, sizeof what, "%s, split %s", deck_string(d, "dataset.name"), deck_string(d, "stats.split"));
  field_stats_write_cfg(&st, ds, what, path);
  lola_log("stats: wrote %s", path);
  dataset_close(ds);
  dataset_setup_free(&setup);
}

const stage stage_stats = {"stats", "per-field mean and std after the transforms over a split", stats_keys,
                           run_stats, .device_ready = false};
