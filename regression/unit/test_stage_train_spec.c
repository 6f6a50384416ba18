/* The training stages' shared deck keys (src/train_common.h): the train_spec a
 * group describes, and the model fingerprint that guards resumes. */
#include <stdio.h>
#include <string.h>

#include "../../io/atomic_file.h"
#include "../../src/train_common.h"
#include "harness.h"

static const deck_key common[] = {
    {.path = "stages", .type = KEY_STRING_LIST, .required = true, .choices = "train_ae"},
    {.path = "run.resume", .type = KEY_BOOL, .fallback = "false"},
    {.path = NULL},
};
static const deck_key train[] = {TRAIN_COMMON_KEYS("train_ae"), {.path = NULL}};
static const deck_key model[] = {
    {.path = "m.name", .type = KEY_STRING, .fallback = "\"x\""},
    {.path = "m.width", .type = KEY_INT, .fallback = "8"},
    {.path = "m.rates", .type = KEY_FLOAT_LIST, .fallback = "[0.5]"},
    {.path = NULL},
};
static const deck_schema schemas[] = {{"run", common}, {"train_ae", train}, {"train_ae", model}};

static deck *load(const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/train_spec.cfg", harness_tmpdir());
  atomic_write(path, text, strlen(text));
  return deck_load(path, 0, NULL, schemas, 3);
}

TEST(stage_train_spec_from_deck) {
  deck *d = load(
      "stages = [\"train_ae\"];\nrun: { resume = true; };\n"
      "train_ae: { seed = 9; train: { epochs = 3; batch_size = 8; accumulation = 2; };\n"
      "  valid: { batch_size = 4; epoch_size = 16; };\n"
      "  optim: { learning_rate = 0.01; betas = [0.8, 0.95]; scheduler = \"linear\"; warmup = 1; };\n"
      "  fork: { freeze = [\"encoder\", \"decoder.ascent.0\"]; }; };\n");
  train_spec s;
  char dir[256];
  train_spec_from_deck(&s, d, "train_ae", "runs/x", dir, (int)sizeof dir);
  CHECK(strcmp(s.dir, "runs/x/train_ae") == 0 && strcmp(s.stage, "train_ae") == 0);
  CHECK(s.seed == 9 && s.epochs == 3 && s.batch_size == 8 && s.accumulation == 2);
  CHECK(s.epoch_size == 16384); /* the reference's default */
  CHECK(s.valid_batch_size == 4 && s.valid_size == 16 && s.resume);
  CHECK_NEAR(s.optim.lr, 0.01, 0);
  CHECK_NEAR(s.optim.beta1, 0.8, 1e-15);
  CHECK_NEAR(s.optim.beta2, 0.95, 1e-15);
  CHECK_NEAR(s.optim.grad_clip, 1.0, 0);
  CHECK(s.schedule == LR_LINEAR && s.warmup == 1);
  CHECK(s.nfrozen == 2 && strcmp(s.frozen_prefixes[1], "decoder.ascent.0") == 0);
  train_spec_free(&s);
  deck_free(d);
}

TEST(stage_train_spec_bad_betas_name_the_key) {
  deck *d = load("stages = [\"train_ae\"];\ntrain_ae: { optim: { betas = [0.9]; }; };\n");
  train_spec s;
  char dir[256];
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, train_spec_from_deck(&s, d, "train_ae", "r", dir, (int)sizeof dir)));
  CHECK(strstr(trap.message, "train_ae.optim.betas") != NULL);
  deck_free(d);
}

TEST(stage_train_spec_model_fingerprint) {
  deck *a = load("stages = [\"train_ae\"];\n");
  uint64_t base = deck_keys_fingerprint(a, model, "fields=5");
  CHECK(base == deck_keys_fingerprint(a, model, "fields=5"));
  CHECK(base != deck_keys_fingerprint(a, model, "fields=4")); /* the data shape is part of the model */
  deck_free(a);
  deck *same = load("stages = [\"train_ae\"];\nm: { width = 8; rates = [0.5]; name = \"other\"; };\n");
  CHECK(base ==
        deck_keys_fingerprint(same, model, "fields=5")); /* defaults spelt out; names are informative */
  deck_free(same);
  deck *wide = load("stages = [\"train_ae\"];\nm: { width = 9; };\n");
  CHECK(base != deck_keys_fingerprint(wide, model, "fields=5"));
  deck_free(wide);
  deck *rates = load("stages = [\"train_ae\"];\nm: { rates = [0.5, 0.5]; };\n");
  CHECK(base != deck_keys_fingerprint(rates, model, "fields=5"));
  deck_free(rates);
}
