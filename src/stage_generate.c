/* `generate`: run a built-in physics solver and write training data in The
 * Well's layout (see generate.h). This file reads and checks the deck; the
 * work is generate_run. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "generate.h"
#include "generate_deck.h"
#include "stage.h"

static const deck_key generate_own_keys[] = {
    {.path = "generate.physics",
     .type = KEY_STRING,
     .required = true,
     .choices = "euler_multi_quadrants|rayleigh_benard",
     .help = "the solver and The Well data set it makes"},
    {.path = "generate.bc",
     .type = KEY_STRING,
     .fallback = "\"open\"",
     .choices = "open|periodic",
     .help = "euler_multi_quadrants: boundaries (euler_multi_quadrants_openBC or _periodicBC)"},
    {.path = "generate.root",
     .type = KEY_STRING,
     .required = true,
     .help = "output root: files go to <root>/<data set>/data/{train,valid,test}/"},
    {.path = "generate.resolution",
     .type = KEY_INT_LIST,
     .required = true,
     .has_min = true,
     .min = 4,
     .has_max = true,
     .max = 16384,
     .help = "grid [nx, ny] (The Well: Euler [512, 512], Rayleigh-Benard [512, 128])"},
    {.path = "generate.trajectories",
     .type = KEY_INT_LIST,
     .fallback = "[8, 2, 2]",
     .has_min = true,
     .min = 0,
     .help = "trajectories per parameter set in [train, valid, test]"},
    {.path = "generate.trajectories_per_file",
     .type = KEY_INT,
     .fallback = "10",
     .has_min = true,
     .min = 1,
     .help = "at most this many trajectories per HDF5 file"},
    {.path = "generate.steps",
     .type = KEY_INT,
     .has_min = true,
     .min = 2,
     .has_max = true,
     .max = 100000,
     .help = "stored states per trajectory, t = 0 included (default: Euler 101, Rayleigh-Benard 200)"},
    {.path = "generate.dt",
     .type = KEY_FLOAT,
     .has_min = true,
     .min = 0,
     .help = "time between stored states (default: Euler 0.015, Rayleigh-Benard 0.25)"},
    {.path = "generate.seed",
     .type = KEY_INT,
     .fallback = "0",
     .has_min = true,
     .min = 0,
     .help = "trajectory k of a split is seeded by (seed, split, k), whatever the rank count"},
    {.path = "generate.cfl",
     .type = KEY_FLOAT,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1,
     .help = "Courant number (default: Euler 0.5, Rayleigh-Benard the solver's own)"},
    {.path = "generate.euler.gamma",
     .type = KEY_FLOAT_LIST,
     .fallback = "[1.4]",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 3,
     .help = "one parameter set per value (The Well: 1.13 1.22 1.3 1.33 1.365 1.4 1.404 1.453 1.597 1.76)"},
    {.path = "generate.euler.density",
     .type = KEY_FLOAT_LIST,
     .fallback = "[0.1, 2.0]",
     .has_min = true,
     .min = 0,
     .help = "[lo, hi] of the quadrants' densities"},
    {.path = "generate.euler.pressure",
     .type = KEY_FLOAT_LIST,
     .fallback = "[0.1, 2.0]",
     .has_min = true,
     .min = 0,
     .help = "[lo, hi] of the quadrants' pressures"},
    {.path = "generate.euler.velocity",
     .type = KEY_FLOAT_LIST,
     .fallback = "[-1.0, 1.0]",
     .has_min = true,
     .min = -100,
     .has_max = true,
     .max = 100,
     .help = "[lo, hi] of the quadrants' velocity components"},
    {.path = "generate.euler.split",
     .type = KEY_FLOAT_LIST,
     .fallback = "[0.25, 0.75]",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1,
     .help = "[lo, hi] of the split point's coordinates"},
    {.path = "generate.rayleigh_benard.rayleigh",
     .type = KEY_FLOAT_LIST,
     .fallback = "[1e6]",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1e10,
     .help = "Rayleigh numbers (The Well: 1e6 ... 1e10)"},
    {.path = "generate.rayleigh_benard.prandtl",
     .type = KEY_FLOAT_LIST,
     .fallback = "[1.0]",
     .has_min = true,
     .min = 1e-3,
     .has_max = true,
     .max = 1e3,
     .help = "Prandtl numbers (The Well: 0.1 ... 10); parameter sets are all (Ra, Pr) pairs"},
    {.path = "generate.rayleigh_benard.initial_slope",
     .type = KEY_FLOAT_LIST,
     .fallback = "[0.2, 0.4, 0.6, 0.8, 1.0]",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 10,
     .help = "initial buoyancy slopes δb0, cycled over the trajectories of a set (The Well's values)"},
    {.path = NULL},
};
static const deck_key *const generate_keys[] = {generate_own_keys, NULL};

/* A [lo, hi] pair from the deck, lo <= hi (and lo > 0 when `positive`). */
static void read_range(const deck *d, const char *key, double out[2], int positive) {
  if (deck_list_len(d, key) != 2) deck_fail(d, key, "must be a pair [lo, hi]");
  out[0] = deck_float_at(d, key, 0), out[1] = deck_float_at(d, key, 1);
  if (out[0] > out[1]) deck_fail(d, key, "lo = %g is above hi = %g", out[0], out[1]);
  if (positive && !(out[0] > 0)) deck_fail(d, key, "values must be positive (lo = %g)", out[0]);
}

static void read_euler(const deck *d, generate_config *c) {
  c->periodic = strcmp(deck_string(d, "generate.bc"), "periodic") == 0;
  const char *key = "generate.euler.gamma";
  c->nsets = deck_list_len(d, key);
  if (c->nsets < 1 || c->nsets > GENERATE_MAX_SETS)
    deck_fail(d, key, "give 1 to %d values", GENERATE_MAX_SETS);
  for (int k = 0; k < c->nsets; k++) {
    c->sets[k][0] = deck_float_at(d, key, k);
    if (!(c->sets[k][0] > 1.0)) deck_fail(d, key, "gamma = %g must be greater than 1", c->sets[k][0]);
  }
  read_range(d, "generate.euler.density", c->euler_ranges.density, 1);
  read_range(d, "generate.euler.pressure", c->euler_ranges.pressure, 1);
  read_range(d, "generate.euler.velocity", c->euler_ranges.velocity, 0);
  read_range(d, "generate.euler.split", c->euler_ranges.split, 0);
  c->steps = deck_has(d, "generate.steps") ? (int)deck_int(d, "generate.steps") : 101;
  c->dt = deck_has(d, "generate.dt") ? deck_float(d, "generate.dt") : 0.015;
  c->cfl = deck_has(d, "generate.cfl") ? deck_float(d, "generate.cfl") : 0.5;
  if (!(c->cfl > 0 && c->cfl < 1)) deck_fail(d, "generate.cfl", "%g must lie in (0, 1) for Euler", c->cfl);
}

static void read_rayleigh_benard(const deck *d, generate_config *c) {
  const char *ra = "generate.rayleigh_benard.rayleigh", *pr = "generate.rayleigh_benard.prandtl";
  int nra = deck_list_len(d, ra), npr = deck_list_len(d, pr);
  if (nra < 1) deck_fail(d, ra, "give at least one value");
  if (npr < 1) deck_fail(d, pr, "give at least one value");
  if (nra * npr > GENERATE_MAX_SETS)
    deck_fail(d, ra, "%d x %d parameter sets, at most %d", nra, npr, GENERATE_MAX_SETS);
  c->nsets = 0;
  for (int i = 0; i < nra; i++)
    for (int j = 0; j < npr; j++) {
      c->sets[c->nsets][0] = deck_float_at(d, ra, i);
      c->sets[c->nsets][1] = deck_float_at(d, pr, j);
      c->nsets++;
    }
  const char *sl = "generate.rayleigh_benard.initial_slope";
  c->nslopes = deck_list_len(d, sl);
  if (c->nslopes < 1 || c->nslopes > GENERATE_MAX_SLOPES)
    deck_fail(d, sl, "give 1 to %d values", GENERATE_MAX_SLOPES);
  for (int k = 0; k < c->nslopes; k++) c->slopes[k] = deck_float_at(d, sl, k);
  if (c->nx % 2 != 0) deck_fail(d, "generate.resolution", "nx = %d must be even (FFTs along x)", c->nx);
  c->steps = deck_has(d, "generate.steps") ? (int)deck_int(d, "generate.steps") : 200;
  c->dt = deck_has(d, "generate.dt") ? deck_float(d, "generate.dt") : 0.25;
  c->cfl = deck_has(d, "generate.cfl") ? deck_float(d, "generate.cfl") : 0.0; /* 0: the solver's default */
}

void generate_config_from_deck(const deck *d, generate_config *out) {
  generate_config c = {0};
  const char *physics = deck_string(d, "generate.physics");
  c.physics = strcmp(physics, "rayleigh_benard") == 0 ? GENERATE_RAYLEIGH_BENARD : GENERATE_EULER;
  c.root = deck_string(d, "generate.root");
  if (!c.root[0]) deck_fail(d, "generate.root", "must not be empty");
  if (deck_list_len(d, "generate.resolution") != 2) deck_fail(d, "generate.resolution", "must be [nx, ny]");
  c.nx = (int)deck_int_at(d, "generate.resolution", 0);
  c.ny = (int)deck_int_at(d, "generate.resolution", 1);
  if (deck_list_len(d, "generate.trajectories") != GENERATE_SPLITS)
    deck_fail(d, "generate.trajectories", "must be [train, valid, test]");
  long total = 0;
  for (int s = 0; s < GENERATE_SPLITS; s++)
    total += c.trajectories[s] = deck_int_at(d, "generate.trajectories", s);
  if (total == 0) deck_fail(d, "generate.trajectories", "all three splits are empty");
  c.per_file = deck_int(d, "generate.trajectories_per_file");
  c.seed = (uint64_t)deck_int(d, "generate.seed");
  if (c.physics == GENERATE_RAYLEIGH_BENARD)
    read_rayleigh_benard(d, &c);
  else
    read_euler(d, &c);
  if (!(c.dt > 0 && isfinite(c.dt))) deck_fail(d, "generate.dt", "%g must be positive", c.dt);
  *out = c;
}

static void run_generate(const run_ctx *ctx) {
  generate_config c;
  generate_config_from_deck(ctx->deck, &c);
  generate_run(&c);
}

const stage stage_generate = {"generate", "run a physics solver and write training data in The Well's layout",
                              generate_keys, run_generate, .device_ready = false};
