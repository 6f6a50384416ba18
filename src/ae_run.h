/* The autoencoder run that the latent stages depend on: cache_latents encodes
 * with its weights, train_surrogate / train_diffusion learn the latents it
 * cached. A run is identified by the FNV-1a fingerprint of its checkpoint's
 * model.safetensors: a cache records it, and a cache made by another
 * autoencoder (or by a later retraining of this one) is refused. */
#ifndef LOLA_AE_RUN_H
#define LOLA_AE_RUN_H

#include <stdint.h>

#include "autoencoder.h"
#include "deck.h"

typedef struct {
  char run[4096];     /* the run.dir that holds train_ae/ */
  char weights[4200]; /* <run>/train_ae/<checkpoint>/model.safetensors */
  char cache[4200];   /* <run>/cache: latent caches made with it */
  uint64_t fingerprint;
} ae_run_ref;

/* Collective. `key` names the deck key that gave `run` (for messages); dies
 * with a deck error when the run has no such checkpoint. */
void ae_run_locate(const deck *d, const char *key, const char *run, const char *checkpoint, ae_run_ref *r);

/* Build the deck's autoencoder (ae.*) for `channels` fields over `spatial`
 * dims and load the run's weights strictly: an autoencoder trained on other
 * fields or with another architecture is refused (exit 3) before any work. */
void ae_run_load(const deck *d, const ae_run_ref *r, int64_t channels, int spatial, autoencoder *ae);

/* "%016llx" of a fingerprint (caller's buffer of 17+ chars). */
const char *ae_fingerprint_hex(uint64_t fp, char *buf);

#endif
