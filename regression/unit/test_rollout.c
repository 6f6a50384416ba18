/* Rollout bookkeeping against worked examples: window placement, overlap
 * stitching, crop, lengths, and the plan's checks. */
#include <string.h>

#include "../../src/rollout.h"
#include "harness.h"

enum { MAXW = 16 };

typedef struct {
  int calls;
  int64_t starts[MAXW];
  int observed[MAXW];
  int window;
  int bad_obs; /* observed states that are not the states already emulated */
} recorder;

/* State k of a window that starts at rollout index i holds i + k (one float per
 * state, member b adds 1000 b); so a correct stitching yields out[t] = t. */
static void fake_emulate(void *user, const float *obs, int observed, float *out, int64_t start) {
  recorder *r = user;
  r->starts[r->calls] = start;
  r->observed[r->calls] = observed;
  r->calls++;
  for (int b = 0; b < 2; b++) {
    for (int k = 0; k < observed; k++)
      if (obs[b * observed + k] != (float)(start + k + 1000 * b)) r->bad_obs++;
    for (int k = 0; k < r->window; k++) out[b * r->window + k] = (float)(start + k + 1000 * b);
  }
}

static void run(rollout_plan p, recorder *r, float *out) {
  memset(r, 0, sizeof *r);
  r->window = p.window;
  emulator em = {.emulate = fake_emulate, .user = r};
  float context[2 * 8], work[1024];
  for (int b = 0; b < 2; b++)
    for (int k = 0; k < p.context; k++) context[b * p.context + k] = (float)(k + 1000 * b);
  rollout_run(&p, &em, context, out, 2, 1, work);
}

TEST(rollout_stitches_windows_with_overlap_and_crop) {
  /* window 5, context 2, overlap 1, crop 4, 10 states: windows at 0, 3, 6;
   * the first keeps 4 states (0-3), the others 3 new ones each (4-6, 7-9). */
  rollout_plan p = {.window = 5, .context = 2, .overlap = 1, .crop = 4, .length = 10};
  recorder r;
  float out[2 * 10];
  run(p, &r, out);
  CHECK(r.calls == 3 && rollout_windows(&p) == 3);
  CHECK(r.starts[0] == 0 && r.starts[1] == 3 && r.starts[2] == 6);
  CHECK(r.observed[0] == 2 && r.observed[1] == 1 && r.observed[2] == 1);
  CHECK(r.bad_obs == 0);
  for (int t = 0; t < 10; t++) CHECK(out[t] == (float)t && out[10 + t] == (float)(t + 1000));
}

TEST(rollout_without_crop_and_a_short_last_window) {
  /* window 4, context 1, overlap 2: windows at 0, 2, 4, 6 give 4 + 2 + 2 + 1 = 9 states. */
  rollout_plan p = {.window = 4, .context = 1, .overlap = 2, .crop = 0, .length = 9};
  recorder r;
  float out[2 * 9];
  run(p, &r, out);
  CHECK(r.calls == 4 && rollout_windows(&p) == 4);
  CHECK(r.starts[3] == 6 && r.bad_obs == 0);
  for (int t = 0; t < 9; t++) CHECK(out[t] == (float)t);
  /* A rollout no longer than one window takes one call. */
  rollout_plan q = {.window = 4, .context = 1, .overlap = 1, .length = 3};
  float o2[2 * 3];
  run(q, &r, o2);
  CHECK(r.calls == 1 && o2[2] == 2.0f);
}

TEST(rollout_rejects_impossible_plans) {
  lola_error_trap trap;
  rollout_plan p = {.window = 4, .context = 4, .overlap = 1, .length = 10};
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, rollout_check(&p)));
  CHECK(strstr(trap.message, "eval.context (4) must be shorter than the emulator's window (4 states)") !=
        NULL);
  p.context = 1;
  p.overlap = 4;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, rollout_check(&p)));
  CHECK(strstr(trap.message, "eval.overlap (4)") != NULL);
  p.overlap = 1;
  p.crop = 1;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, rollout_check(&p)));
  p.crop = 3;
  rollout_check(&p); /* valid */
}
