#include "ae_run.h"

#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "../parallel/comm.h"
#include "autoencoder_deck.h"
#include "checkpoint.h"
#include "error.h"
#include "log.h"
#include "model_io.h"

/* FNV-1a over the bytes of a file; false when it cannot be read. */
static bool file_fingerprint(const char *path, uint64_t *out) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  uint64_t h = 1469598103934665603ull;
  unsigned char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 1099511628211ull;
  bool ok = !ferror(f);
  fclose(f);
  *out = h;
  return ok;
}

void ae_run_locate(const deck *d, const char *key, const char *run, const char *checkpoint, ae_run_ref *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->run, sizeof r->run, "%s", run);
  char stage_dir[4150];
  snprintf(stage_dir, sizeof stage_dir, "%s/train_ae", run);
  checkpoint_weights(stage_dir, checkpoint, r->weights, (int)sizeof r->weights);
  snprintf(r->cache, sizeof r->cache, "%s/cache", run);
  int found = 0;
  if (comm_rank() == 0) found = file_fingerprint(r->weights, &r->fingerprint);
  MPI_Bcast(&found, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Bcast(&r->fingerprint, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (!found)
    deck_fail(d, key, "'%s' is not a trained autoencoder run: %s is missing (run train_ae first)", run,
              r->weights);
}

void ae_run_load(const deck *d, const ae_run_ref *r, int64_t channels, int spatial, autoencoder *ae) {
  autoencoder_config cfg;
  autoencoder_config_from_deck(d, channels, spatial, &cfg, NULL);
  autoencoder_create(ae, &cfg);
  model_load(r->weights, &ae->params, &ae->buffers, true,
             "autoencoder of the deck's ae group and dataset fields");
}

const char *ae_fingerprint_hex(uint64_t fp, char *buf) {
  sprintf(buf, "%016llx", (unsigned long long)fp);
  return buf;
}
