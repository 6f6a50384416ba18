/* The `generate` stage from a deck: a small run, and every kind of bad input
 * ending in a deck error (exit 2) that names the key at fault. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../io/atomic_file.h"
#include "../../src/deck.h"
#include "../../src/run.h"
#include "../../src/stage.h"
#include "harness.h"

static const char *deck_file(const char *body) {
  static char path[1024];
  snprintf(path, sizeof path, "%s/generate.cfg", harness_tmpdir());
  char text[4096];
  snprintf(text, sizeof text, "stages = [\"generate\"];\nrun: { dir = \"%s/run\"; };\ngenerate: {\n%s\n};\n",
           harness_tmpdir(), body);
  atomic_write(path, text, strlen(text));
  return path;
}

static deck *load(const char *body) {
  const char *path = deck_file(body);
  int n = 0;
  const deck_schema *schemas = run_schemas(path, &n);
  return deck_load(path, 0, NULL, schemas, n);
}

static void run_stage(deck *d) {
  run_ctx ctx = {.deck = d, .run_dir = harness_tmpdir()};
  stage_find("generate")->run(&ctx);
}

/* Loading or running the deck dies with a deck error whose message names `key`. */
static bool fails_naming(const char *body, const char *key) {
  lola_error_trap trap;
  deck *volatile d = NULL;
  bool died = EXPECT_DIE(trap, LOLA_EXIT_DECK, {
    d = load(body);
    run_stage(d);
  });
  if (!died)
    fprintf(stderr, "  deck did not fail as expected: %s\n", body);
  else if (!strstr(trap.message, key))
    fprintf(stderr, "  message does not name %s: %s\n", key, trap.message);
  if (d && !died) deck_free(d);
  return died && strstr(trap.message, key) != NULL;
}

TEST(generate_stage_writes_files_from_a_deck) {
  char body[1024];
  snprintf(body, sizeof body,
           "physics = \"euler_multi_quadrants\"; bc = \"periodic\"; root = \"%s/stage-out\";\n"
           "resolution = [16, 8]; trajectories = [2, 1, 0]; trajectories_per_file = 1; steps = 3;\n"
           "euler: { gamma = [1.3]; };",
           harness_tmpdir());
  deck *d = load(body);
  run_stage(d);
  deck_free(d);
  char path[1200];
  snprintf(path, sizeof path,
           "%s/stage-out/euler_multi_quadrants_periodicBC/data/train/"
           "euler_multi_quadrants_periodicBC_gamma_1.3_0001.hdf5",
           harness_tmpdir());
  CHECK(access(path, R_OK) == 0);
  snprintf(path, sizeof path,
           "%s/stage-out/euler_multi_quadrants_periodicBC/data/valid/"
           "euler_multi_quadrants_periodicBC_gamma_1.3_0000.hdf5",
           harness_tmpdir());
  CHECK(access(path, R_OK) == 0);
}

TEST(generate_stage_rejects_bad_input_naming_the_key) {
  char ok[700], body[1024];
  snprintf(ok, sizeof ok, "root = \"%s/never-written\"; resolution = [16, 16];", harness_tmpdir());
  CHECK(
      fails_naming("physics = \"navier_stokes\"; root = \"x\"; resolution = [16, 16];", "generate.physics"));
  snprintf(body, sizeof body, "physics = \"euler_multi_quadrants\"; bc = \"closed\"; %s", ok);
  CHECK(fails_naming(body, "generate.bc"));
  CHECK(fails_naming("physics = \"euler_multi_quadrants\"; root = \"x\"; resolution = [0, 16];",
                     "generate.resolution"));
  CHECK(fails_naming("physics = \"euler_multi_quadrants\"; root = \"x\"; resolution = [-8, 16];",
                     "generate.resolution"));
  CHECK(fails_naming("physics = \"euler_multi_quadrants\"; root = \"x\"; resolution = [16];",
                     "generate.resolution"));
  CHECK(fails_naming("physics = \"rayleigh_benard\"; root = \"x\"; resolution = [33, 16];",
                     "generate.resolution"));
  snprintf(body, sizeof body, "physics = \"euler_multi_quadrants\"; euler: { gamma = [1.4, 1.0]; }; %s", ok);
  CHECK(fails_naming(body, "generate.euler.gamma"));
  snprintf(body, sizeof body, "physics = \"euler_multi_quadrants\"; euler: { density = [0.0, 1.0]; }; %s",
           ok);
  CHECK(fails_naming(body, "generate.euler.density"));
  snprintf(body, sizeof body, "physics = \"euler_multi_quadrants\"; euler: { pressure = [2.0, 1.0]; }; %s",
           ok);
  CHECK(fails_naming(body, "generate.euler.pressure"));
  snprintf(body, sizeof body, "physics = \"euler_multi_quadrants\"; dt = 0.0; %s", ok);
  CHECK(fails_naming(body, "generate.dt"));
  snprintf(body, sizeof body, "physics = \"euler_multi_quadrants\"; trajectories = [0, 0, 0]; %s", ok);
  CHECK(fails_naming(body, "generate.trajectories"));
  snprintf(body, sizeof body, "physics = \"rayleigh_benard\"; rayleigh_benard: { prandtl = [0.0]; }; %s", ok);
  CHECK(fails_naming(body, "generate.rayleigh_benard.prandtl"));
  snprintf(body, sizeof body,
           "physics = \"euler_multi_quadrants\"; root = \"%s/generate.cfg/sub\"; resolution = [16, 16];",
           harness_tmpdir());
  CHECK(fails_naming(body, "generate.root"));
}
