#include "rollout.h"

#include <string.h>

#include "error.h"

static int crop_of(const rollout_plan *p) { return p->crop > 0 ? p->crop : p->window; }

void rollout_check(const rollout_plan *p) {
  int crop = crop_of(p);
  if (p->context < 1) lola_die_collective(LOLA_EXIT_DECK, "eval.context (%d) must be at least 1", p->context);
  if (p->overlap < 1) lola_die_collective(LOLA_EXIT_DECK, "eval.overlap (%d) must be at least 1", p->overlap);
  if (p->window <= p->context)
    lola_die_collective(LOLA_EXIT_DECK,
                        "eval.context (%d) must be shorter than the emulator's window (%d states)",
                        p->context, p->window);
  if (p->window <= p->overlap)
    lola_die_collective(LOLA_EXIT_DECK,
                        "eval.overlap (%d) must be shorter than the emulator's window (%d states)",
                        p->overlap, p->window);
  if (crop > p->window || crop <= p->context || crop <= p->overlap)
    lola_die_collective(
        LOLA_EXIT_DECK,
        "eval.crop (%d) must be at most the window (%d) and longer than context (%d) and overlap (%d)", crop,
        p->window, p->context, p->overlap);
  if (p->length < p->context)
    lola_die_collective(LOLA_EXIT_DECK, "the rollout (%lld states) is shorter than its context (%d)",
                        (long long)p->length, p->context);
}

int64_t rollout_windows(const rollout_plan *p) {
  int crop = crop_of(p);
  if (p->length <= crop) return 1;
  int64_t per = crop - p->overlap; /* new states per later window */
  return 1 + (p->length - crop + per - 1) / per;
}

int64_t rollout_workspace_floats(const rollout_plan *p, int batch, int64_t state) {
  return (int64_t)batch * state * (p->window + (p->context > p->overlap ? p->context : p->overlap));
}

void rollout_run(const rollout_plan *p, const emulator *em, const float *context, float *out, int batch,
                 int64_t state, float *work) {
  int crop = crop_of(p);
  float *win = work, *obs = work + (int64_t)batch * p->window * state;
  int observed = p->context;
  for (int b = 0; b < batch; b++)
    memcpy(obs + (int64_t)b * observed * state, context + (int64_t)b * p->context * state,
           sizeof(float) * (size_t)(observed * state));
  int64_t have = 0;
  while (have < p->length) {
    int64_t start = have ? have - p->overlap : 0;
    em->emulate(em->user, obs, observed, win, start);
    for (int b = 0; b < batch; b++) { /* observations are reproduced exactly */
      float *w = win + (int64_t)b * p->window * state;
      memcpy(w, obs + (int64_t)b * observed * state, sizeof(float) * (size_t)(observed * state));
    }
    int skip = have ? p->overlap : 0;
    int64_t keep = crop - skip;
    if (keep > p->length - have) keep = p->length - have;
    for (int b = 0; b < batch; b++)
      memcpy(out + ((int64_t)b * p->length + have) * state, win + ((int64_t)b * p->window + skip) * state,
             sizeof(float) * (size_t)(keep * state));
    have += keep;
    observed = p->overlap;
    for (int b = 0; b < batch; b++)
      memcpy(obs + (int64_t)b * observed * state, win + ((int64_t)b * p->window + crop - p->overlap) * state,
             sizeof(float) * (size_t)(observed * state));
  }
}
