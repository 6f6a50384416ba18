/* Decks: overrides typed as declared, lists, defaults, includes, and every class
 * of validation error with the file and line in its message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/atomic_file.h"
#include "../../parallel/comm.h"
#include "../../src/deck.h"
#include "harness.h"

static const deck_key common[] = {
    {.path = "stages", .type = KEY_STRING_LIST, .required = true, .choices = "train|eval"},
    {.path = NULL},
};
static const deck_key train[] = {
    {.path = "train.lr", .type = KEY_FLOAT, .fallback = "1e-3", .has_min = true, .min = 0},
    {.path = "train.batch",
     .type = KEY_INT,
     .required = true,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 4096},
    {.path = "train.name", .type = KEY_STRING, .fallback = "\"vit\"", .choices = "vit|unet"},
    {.path = "train.amp", .type = KEY_BOOL, .fallback = "false"},
    {.path = "train.levels", .type = KEY_INT_LIST, .fallback = "[1, 2, 3]"},
    {.path = "train.weights", .type = KEY_FLOAT_LIST, .fallback = "[1.0]"},
    {.path = "train.fields", .type = KEY_STRING_LIST, .fallback = "[\"a\"]"},
    {.path = NULL},
};
static const deck_key eval[] = {
    {.path = "eval.samples", .type = KEY_INT, .required = true},
    {.path = NULL},
};
static const deck_schema schemas[] = {{"run", common}, {"train", train}, {"eval", eval}};

static const char *write_deck(const char *name, const char *text) {
  static char path[1024];
  snprintf(path, sizeof path, "%s/%s", harness_tmpdir(), name);
  atomic_write(path, text, strlen(text));
  return path;
}

static deck *load(const char *text, int n, char **ov) {
  return deck_load(write_deck("deck.cfg", text), n, ov, schemas, 3);
}

TEST(deck_defaults_fill_active_stage_only) {
  deck *d = load("stages = [\"train\"];\ntrain: { batch = 8; };\n", 0, NULL);
  CHECK(deck_int(d, "train.batch") == 8);
  CHECK_NEAR(deck_float(d, "train.lr"), 1e-3, 0);
  CHECK(strcmp(deck_string(d, "train.name"), "vit") == 0);
  CHECK(!deck_bool(d, "train.amp"));
  CHECK(deck_list_len(d, "train.levels") == 3 && deck_int_at(d, "train.levels", 2) == 3);
  CHECK(!deck_has(d, "eval.samples")); /* eval is not listed: its required key is not demanded */
  deck_free(d);
}

TEST(deck_overrides_are_typed_as_declared) {
  char *ov[] = {"train.lr=1",         "train.batch=16",         "train.name=unet",    "train.amp=true",
                "train.levels=[4,5]", "train.weights=[1, 0.5]", "train.fields=[u, v]"};
  deck *d = load("stages = [\"train\"];\ntrain: { batch = 8; lr = 0.1; };\n", 7, ov);
  CHECK_NEAR(deck_float(d, "train.lr"), 1.0, 0);
  char *text = deck_text(d);
  CHECK(strstr(text, "lr = 1.0") != NULL); /* stored as a float, not an int */
  free(text);
  CHECK(deck_int(d, "train.batch") == 16);
  CHECK(strcmp(deck_string(d, "train.name"), "unet") == 0);
  CHECK(deck_bool(d, "train.amp"));
  CHECK(deck_list_len(d, "train.levels") == 2 && deck_int_at(d, "train.levels", 1) == 5);
  CHECK_NEAR(deck_float_at(d, "train.weights", 1), 0.5, 0);
  CHECK(strcmp(deck_string_at(d, "train.fields", 1), "v") == 0);
  char where[256];
  CHECK(strcmp(deck_where(d, "train.batch", where, sizeof where), "command line") == 0);
  deck_free(d);
}

TEST(deck_where_names_file_and_line) {
  deck *d = load("stages = [\"train\"];\ntrain: {\n  batch = 8;\n};\n", 0, NULL);
  char where[1024], want[1024];
  snprintf(want, sizeof want, "%s/deck.cfg:3", harness_tmpdir());
  CHECK(strcmp(deck_where(d, "train.batch", where, sizeof where), want) == 0);
  deck_free(d);
}

static bool dies_with(const char *text, int n, char **ov, const char *expect) {
  lola_error_trap trap;
  bool died = EXPECT_DIE(trap, LOLA_EXIT_DECK, load(text, n, ov));
  if (!died) return false;
  if (!strstr(trap.message, expect)) {
    fprintf(stderr, "  message: %s\n  lacks: %s\n", trap.message, expect);
    return false;
  }
  return true;
}

TEST(deck_errors_name_file_line_and_key) {
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch = 8;\n btch = 3; };\n", 0, NULL,
                  "deck.cfg:3: unknown key 'train.btch' (did you mean 'train.batch'?)"));
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch = \"x\"; };\n", 0, NULL,
                  "deck.cfg:2: key 'train.batch' must be an integer"));
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch = 0; };\n", 0, NULL,
                  "deck.cfg:2: key 'train.batch': 0 is below the minimum 1"));
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch = 5000; };\n", 0, NULL,
                  "5000 is above the maximum 4096"));
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch = 2; name = \"cnn\"; };\n", 0, NULL,
                  "'cnn' is not one of vit|unet"));
  CHECK(dies_with("stages = [\"train\"];\n", 0, NULL, "missing required key 'train.batch'"));
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch = 2; levels = [1.5]; };\n", 0, NULL,
                  "key 'train.levels' must be a list of integers"));
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch = 2; lr = -1.0; };\n", 0, NULL,
                  "below the minimum 0"));
  CHECK(dies_with("stages = [\"train\"];\ntrain = 3;\n", 0, NULL, "unknown key 'train'"));
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch: { x = 1; }; };\n", 0, NULL,
                  "key 'train.batch' must be an integer, not a group"));
  CHECK(dies_with("stages = [\"train\"]\ntrain: { batch = 2 };\n};\n", 0, NULL, "deck.cfg:3: syntax error"));
  char *bad[] = {"train.batch=abc"};
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch = 2; };\n", 1, bad,
                  "command line: key 'train.batch' must be an integer"));
  char *unknown[] = {"train.lrr=1"};
  CHECK(dies_with("stages = [\"train\"];\ntrain: { batch = 2; };\n", 1, unknown,
                  "command line: unknown key 'train.lrr' (did you mean 'train.lr'?)"));
}

TEST(deck_reports_every_problem_at_once) {
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK,
                   load("stages = [\"train\"];\ntrain: { bach = 1; lr = \"x\"; };\n", 0, NULL)));
  CHECK(strstr(trap.message, "2 problems") != NULL);
  CHECK(strstr(trap.message, "train.bach") != NULL && strstr(trap.message, "train.lr") != NULL);
}

TEST(deck_include_resolves_against_the_decks_presets) {
  /* A folder of its own: a presets/ folder beside a deck changes where includes resolve. */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/deck_include/presets/optim", harness_tmpdir());
  make_dirs(dir);
  write_deck("deck_include/presets/optim/fast.cfg", "lr = 0.5;\nbatch = 64;\n");
  const char *text = "stages = [\"train\"];\ntrain: {\n  @include \"presets/optim/fast.cfg\"\n};\n";
  deck *d = deck_load(write_deck("deck_include/deck.cfg", text), 0, NULL, schemas, 3);
  CHECK_NEAR(deck_float(d, "train.lr"), 0.5, 0);
  CHECK(deck_int(d, "train.batch") == 64);
  char where[1024];
  CHECK(strstr(deck_where(d, "train.lr", where, sizeof where), "presets/optim/fast.cfg:1") != NULL);
  deck_free(d);
  /* An error inside an included preset names the preset and its line. */
  write_deck("deck_include/presets/optim/bad.cfg", "lr = 0.5;\nbatchh = 64;\n");
  lola_error_trap trap;
  const char *bad = "stages = [\"train\"];\ntrain: {\n  @include \"presets/optim/bad.cfg\"\n};\n";
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK,
                   deck_load(write_deck("deck_include/deck.cfg", bad), 0, NULL, schemas, 3)));
  CHECK(strstr(trap.message, "presets/optim/bad.cfg:2: unknown key 'train.batchh'") != NULL);
}

/* Rank 0 writes the deck into its own scratch folder; the path is only used there. */
static const char *comm_rank_is_zero_write(void) {
  const char *text = "stages = [\"train\"];\ntrain: { lr = 2e-4;\n batch = 4; };\n";
  if (comm_rank() == 0) return write_deck("deck.cfg", text);
  return "not-read-on-this-rank.cfg";
}

TEST_RANKS(deck_is_identical_on_every_rank, 3) {
  char *ov[] = {"train.batch=12"};
  /* Only rank 0 reads the file: the others get the resolved deck by broadcast. */
  const char *path = comm_rank_is_zero_write();
  deck *d = deck_load(path, 1, ov, schemas, 3);
  CHECK(deck_int(d, "train.batch") == 12);
  CHECK_NEAR(deck_float(d, "train.lr"), 2e-4, 0);
  char where[1024];
  CHECK(strstr(deck_where(d, "train.lr", where, sizeof where), "deck.cfg:2") != NULL);
  deck_free(d);
}
