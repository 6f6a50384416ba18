/* Training checkpoints, crash-safe: <stage dir>/<name>/ holds
 *   model.safetensors      parameters and buffers under the reference's state_dict
 *                          names (torch loads it with strict=True)
 *   optimizer.safetensors  AdamW moments (+ step and skip counts)
 *   counters.cfg           epoch, step, samples, best valid loss, elapsed time,
 *                          rank count and a fingerprint of the model's deck keys
 *   deck.cfg               the resolved deck of the run that wrote it
 * A checkpoint is written into a temporary folder and swapped into place with
 * renames, so a kill at any moment leaves the previous one or the new one.
 * Randomness is keyed by (seed, purpose, step, sample), so the step counter is
 * the whole RNG position. */
#ifndef LOLA_CHECKPOINT_H
#define LOLA_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernels/optim.h"
#include "tensor.h"

typedef struct {
  int64_t epoch;     /* epochs finished */
  int64_t step;      /* optimiser steps taken (skipped ones included) */
  int64_t samples;   /* training samples consumed */
  double best_valid; /* best validation loss so far (inf before the first) */
  double elapsed;    /* seconds of training so far, over all sessions */
  int ranks;         /* rank count of the run that wrote it */
  uint64_t model_fingerprint;
  adamw_state opt;
} train_counters;

/* Rank 0 only. Write checkpoint `name` ("last", "best") under `stage_dir`. */
void checkpoint_save(const char *stage_dir, const char *name, const param_registry *params,
                     const param_registry *buffers, const train_counters *c, const char *deck_text);

/* Any rank. Load it; false when there is none. Weights (and buffers, when
 * given) are loaded strictly. */
bool checkpoint_load(const char *stage_dir, const char *name, param_registry *params, param_registry *buffers,
                     train_counters *c);

/* Path of a checkpoint's weights file (caller's buffer). */
const char *checkpoint_weights(const char *stage_dir, const char *name, char *buf, int n);

/* FNV-1a of a text, for fingerprints of deck sections. */
uint64_t fingerprint_text(const char *text);

#endif
