/* The deck's dataset group: the presets load, keys map onto the reader, the
 * preprocessing and the augmentations, and per-field lists are checked against
 * the data's channels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/atomic_file.h"
#include "../../src/dataset_deck.h"
#include "harness.h"
#include "well_fixture.h"

static const deck_key stage_list[] = {
    {.path = "stages", .type = KEY_STRING_LIST, .required = true, .choices = "data"},
    {.path = NULL},
};
static const deck_schema schemas[] = {{"run", stage_list}, {"data", dataset_keys}};

static deck *load(const char *preset, int n, char **ov) {
  char path[1024], text[512];
  snprintf(path, sizeof path, "%s/dataset_deck.cfg", harness_tmpdir());
  snprintf(text, sizeof text,
           "stages = [\"data\"];\ndataset: {\n  @include \"presets/dataset/%s.cfg\"\n  path = \"x\";\n};\n",
           preset);
  atomic_write(path, text, strlen(text));
  return deck_load(path, n, ov, schemas, 2);
}

TEST(dataset_deck_presets_map_onto_the_reader) {
  deck *d = load("euler_all", 0, NULL);
  dataset_setup s;
  dataset_setup_from_deck(&s, d, "valid", 4, 2, 9);
  CHECK(strcmp(s.spec.root, "x") == 0 && strcmp(s.spec.split, "valid") == 0);
  CHECK(s.spec.nphysics == 2 && strcmp(s.spec.physics[1], "euler_multi_quadrants_periodicBC") == 0);
  CHECK(s.spec.nfields == 5 && strcmp(s.spec.fields[3], "momentum_x") == 0);
  CHECK(s.spec.steps == 4 && s.spec.stride == 2);
  CHECK(s.aug.flip && s.aug.permute && s.aug.roll && s.aug.seed == 9);
  CHECK(s.spec.nlog_scalars == 0); /* no log_scalars in euler's augment list */
  dataset_setup_free(&s);
  deck_free(d);

  d = load("rayleigh_benard", 0, NULL);
  dataset_setup_from_deck(&s, d, "train", 1, 1, 0);
  CHECK(s.aug.flip && !s.aug.permute && s.aug.roll);
  CHECK(s.spec.nlog_scalars == 3 && strcmp(s.spec.log_scalars[0], "rayleigh") == 0);
  CHECK(s.spec.nfields == 4 && strcmp(s.spec.fields[0], "buoyancy") == 0);
  dataset_setup_free(&s);
  deck_free(d);
}

TEST(dataset_deck_checks_lists_against_channels) {
  char *dir = well_fixture_dir("deck_tree");
  well_fixture_tree(dir, 3, 4, 4);
  char root[1200];
  snprintf(root, sizeof root, "dataset.path=%s", dir);
  char *ov[] = {root, "dataset.physics=[euler_open]", "dataset.fields=[energy, density, forcing, momentum_x]",
                "dataset.stats.mean=[1, 2, 3, 4]", "dataset.stats.std=[0.5, 0.25, 1, 2]"};
  deck *d = load("euler_open", 5, ov);
  dataset_setup s;
  dataset_setup_from_deck(&s, d, "train", 1, 1, 0);
  dataset *ds = dataset_open(&s.spec);
  dataset_setup_check(&s, d, ds);
  preprocess *p = &s.pre;
  CHECK(p->channels == 4 && p->normalize);
  CHECK(p->transform[0] == TRANSFORM_LOG1P && p->transform[2] == TRANSFORM_LOG1P &&
        p->transform[3] == TRANSFORM_NONE);
  CHECK(p->mean[3] == 4 && p->std[1] == 0.25);
  dataset_close(ds);
  dataset_setup_free(&s);
  deck_free(d);

  /* The preset's five statistics for four channels: a deck error naming the key. */
  d = load("euler_open", 3, ov);
  dataset_setup_from_deck(&s, d, "train", 1, 1, 0);
  ds = dataset_open(&s.spec);
  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DECK, dataset_setup_check(&s, d, ds)));
  CHECK(strstr(trap.message, "dataset.stats.mean") != NULL && strstr(trap.message, "5 entries for 4 fields"));
  dataset_close(ds);
  dataset_setup_free(&s);
  deck_free(d);
  free(dir);
}
