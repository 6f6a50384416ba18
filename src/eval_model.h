/* The trained models the eval stage scores, found in a run folder as the
 * training stages left them (src/checkpoint.h):
 *   autoencoder  <run>/train_ae/<target>/
 *   surrogate    <run>/train_surrogate/<target>/
 *   diffusion    <run>/train_diffusion/<target>/
 * Each checkpoint's deck.cfg gives the model's keys, its dataset group
 * (fields, transforms, statistics) and, for the emulators, the trajectory
 * window and stride and the autoencoder run whose latents they learned
 * (<stage>.ae_run; "" = pixels). The models are rebuilt from those keys, so an
 * eval deck can point at any finished run.
 *
 * States are "state-major": a trajectory is (L, C, points) with each state
 * contiguous, the layout of src/rollout.h and of the autoencoder's batches. */
#ifndef LOLA_EVAL_MODEL_H
#define LOLA_EVAL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "autoencoder.h"
#include "dataset.h"
#include "deck.h"
#include "denoiser.h"
#include "surrogate.h"

typedef enum { EVAL_AUTOENCODER, EVAL_SURROGATE, EVAL_DIFFUSION } eval_method;

/* "autoencoder", "surrogate", "diffusion"; -1 when unknown. */
int eval_method_from_name(const char *name);
const char *eval_method_name(eval_method m);
/* The training stage that writes the method's checkpoints ("train_ae", ...). */
const char *eval_method_stage(eval_method m);

typedef struct {
  eval_method method;
  bool built;                /* eval_model_build ran */
  char run[4096], target[8]; /* where the checkpoint was found */
  char weights[4300];        /* the checkpoint's model.safetensors */
  deck *mdeck;               /* the checkpoint's deck (dataset group, model keys) */
  deck *aedeck;              /* the autoencoder checkpoint's deck (latent models) */
  bool latent;               /* an autoencoder maps pixels to the emulated states */
  autoencoder ae;            /* when latent */
  int window, stride;        /* emulators: trajectory.length and .stride */
  int C, dims;               /* physical channels and spatial dims */
  long P;                    /* physical points per field */
  dcae_grid grid, zgrid;
  int Cz;  /* channels of the emulated state */
  long Pz; /* points per channel of the emulated state */
  int label_dim;
  surrogate sur;
  denoiser den;
  param_registry params, buffers;
  int chunk; /* states per autoencoder call */
  arena act, scratch;
  float *io; /* kernels' memory for a chunk of states going through the autoencoder */
} eval_model;

/* Collective. Whether <run>/<stage>/<target>/model.safetensors exists. */
bool eval_model_exists(const char *run, eval_method method, const char *target);

/* Collective. Load the checkpoint's deck (dies, exit 2, when unreadable). */
void eval_model_load_deck(eval_model *m, const char *run, eval_method method, const char *target);

/* Collective. Build the model(s) for the data of `ds` and load the weights
 * (an architecture that does not match the weights is refused, exit 3).
 * `chunk`: states per autoencoder encode/decode call. `stride` is used by the
 * autoencoder method (which has no trajectory window of its own). */
void eval_model_build(eval_model *m, const dataset *ds, int chunk, int stride);
void eval_model_free(eval_model *m);

/* Floats of one emulated state (Cz · Pz) and of one physical state (C · P). */
static inline int64_t eval_state_floats(const eval_model *m) { return (int64_t)m->Cz * m->Pz; }
static inline int64_t eval_pixel_floats(const eval_model *m) { return (int64_t)m->C * m->P; }

/* Preprocessed pixels x (L, C, P) to emulated states z (L, Cz, Pz): encoded
 * in chunks, or copied for pixel-space models. */
void eval_encode(eval_model *m, const float *x, long L, float *z);
/* Emulated states z (L, Cz, Pz) to preprocessed pixels x (L, C, P): decoded
 * without noise in chunks, or copied. */
void eval_decode(eval_model *m, const float *z, long L, float *x);

#endif
