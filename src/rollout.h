/* Autoregressive rollouts, as the reference's emulate_rollout (lola/emulation.py):
 * a window of `window` states is emulated from `context` observed states; each
 * later window is conditioned on the last `overlap` states emulated so far and
 * keeps `crop` of its states (all when crop = 0), until `length` states exist.
 *
 * Arrays are (batch, states, state_size) with each state contiguous; the first
 * window's output includes its context states. The observed states of every
 * window are copied into its output as given (observations are reproduced
 * exactly). */
#ifndef LOLA_ROLLOUT_H
#define LOLA_ROLLOUT_H

#include <stdint.h>

typedef struct {
  /* out (batch, window, state) from obs (batch, observed, state); `start` is the
   * window's first state index in the rollout. */
  void (*emulate)(void *user, const float *obs, int observed, float *out, int64_t start);
  void *user;
} emulator;

typedef struct {
  int window, context, overlap, crop; /* crop 0: the window */
  int64_t length;                     /* states in the rollout (context included) */
} rollout_plan;

/* Checks the reference's assertions; dies (deck error) naming the key at fault. */
void rollout_check(const rollout_plan *p);

/* Number of emulator calls the plan makes. */
int64_t rollout_windows(const rollout_plan *p);

/* Floats of scratch rollout_run needs. */
int64_t rollout_workspace_floats(const rollout_plan *p, int batch, int64_t state);

/* out (batch, length, state) from context (batch, context, state). */
void rollout_run(const rollout_plan *p, const emulator *em, const float *context, float *out, int batch,
                 int64_t state, float *work);

#endif
