/* lola: latent-space physics emulation, one SPMD program driven by input decks.
 *
 *   lola DECK [key.path=value ...]        run the deck's stages in order
 *   lola check DECK [overrides]           validate the deck and exit
 *   lola show DECK [overrides]            print the fully resolved deck
 *   lola --help | --version                                              */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../parallel/comm.h"
#include "../parallel/device.h"
#include "../parallel/threads.h"
#include "deck.h"
#include "error.h"
#include "log.h"
#include "report.h"
#include "run.h"
#include "stage.h"
#include "stage_backend.h"
#include "well_inspect.h"

static void usage(FILE *out) {
  fprintf(out,
          "lola %s: latent-space physics emulation (autoencoders, latent emulators, diffusion)\n"
          "\n"
          "usage: lola DECK [key.path=value ...]   run the stages the deck lists, in order\n"
          "       lola check DECK [overrides]     validate the deck and exit\n"
          "       lola show DECK [overrides]      print the fully resolved deck\n"
          "       lola report RUN_DIR             the VRMSE table of a run's evaluations\n"
          "       lola keys                       every deck key (Markdown table)\n"
          "       lola inspect PATH               validate Well HDF5 files and summarise them\n"
          "       lola --help | --version\n"
          "\n"
          "Run it as a plain process, with mpirun -np N, or with srun. Overrides replace deck\n"
          "values, typed as the deck declares them: lola inputs/demo.cfg run.dir=/scratch/r1\n"
          "\n"
          "stages:\n",
          LOLA_VERSION);
  for (int i = 0; lola_stages[i]; i++)
    fprintf(out, "  %-16s %s\n", lola_stages[i]->name, lola_stages[i]->summary);
  fprintf(out, "\nexit codes: 0 success, 1 runtime error, 2 deck or usage error, 3 data error\n");
}

static const char *type_name(key_type t) {
  static const char *const names[] = {"int",      "float",      "bool",       "string",
                                      "int list", "float list", "string list"};
  return names[t];
}

/* The deck key reference of the README, generated from the stages' declarations. */
static void print_keys(FILE *out) {
  int n = 0;
  const deck_schema *schemas = run_schemas("deck.cfg", &n);
  fprintf(out, "| key | type | default | range or choices | meaning |\n| --- | --- | --- | --- | --- |\n");
  for (int i = 0; i < n; i++)
    for (const deck_key *k = schemas[i].keys; k && k->path; k++) {
      int seen = 0; /* key tables shared by several stages are listed once */
      for (int j = 0; j < i && !seen; j++)
        for (const deck_key *o = schemas[j].keys; o && o->path && !seen; o++) seen = o == k;
      if (seen) continue;
      char range[512] = "";
      if (k->choices) { /* a | inside a Markdown table cell must be escaped */
        size_t w = 0;
        for (const char *c = k->choices; *c && w < sizeof range - 3; c++) {
          if (*c == '|') range[w++] = '\\';
          range[w++] = *c;
        }
        range[w] = '\0';
      } else if (k->has_min || k->has_max)
        snprintf(range, sizeof range, "%g .. %g", k->has_min ? k->min : -INFINITY,
                 k->has_max ? k->max : INFINITY);
      fprintf(out, "| `%s` | %s | %s | %s | %s |\n", k->path, type_name(k->type),
              k->required   ? "required"
              : k->fallback ? k->fallback
                            : "-",
              range, k->help ? k->help : "");
    }
}

static deck *load(const char *path, int n, char **overrides) {
  int nschemas = 0;
  const deck_schema *schemas = run_schemas(path, &nschemas);
  return deck_load(path, n, overrides, schemas, nschemas);
}

static void run_stages(deck *d) {
  run_ctx ctx = {.deck = d, .run_dir = run_prepare(d)};
  int n = deck_list_len(d, "stages");
  lola_log("lola %s: %d stage%s on %d rank%s, run.dir = %s", LOLA_VERSION, n, n == 1 ? "" : "s", comm_size(),
           comm_size() == 1 ? "" : "s", ctx.run_dir);
  for (int i = 0; i < n; i++) {
    const stage *st = stage_find(deck_string_at(d, "stages", i));
    lola_log("== stage %d/%d: %s", i + 1, n, st->name);
    stage_backend_begin(d, st);
    st->run(&ctx);
    stage_backend_end();
  }
  run_finish(d);
  lola_log("done: results in %s", ctx.run_dir);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  threads_init();
  device_select();
  if (argc < 2) {
    if (comm_rank() == 0) usage(stderr);
    lola_die_collective(LOLA_EXIT_DECK, "no deck given");
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    if (comm_rank() == 0) usage(stdout);
  } else if (!strcmp(cmd, "--version")) {
    lola_log("lola %s", LOLA_VERSION);
  } else if (!strcmp(cmd, "check") || !strcmp(cmd, "show")) {
    if (argc < 3) lola_die_collective(LOLA_EXIT_DECK, "usage: lola %s DECK [key.path=value ...]", cmd);
    deck *d = load(argv[2], argc - 3, argv + 3);
    if (!strcmp(cmd, "show")) {
      char *text = deck_text(d);
      if (comm_rank() == 0) fputs(text, stdout);
      free(text);
    } else {
      lola_log("%s: deck is valid (%d stage%s)", argv[2], deck_list_len(d, "stages"),
               deck_list_len(d, "stages") == 1 ? "" : "s");
    }
    deck_free(d);
  } else if (!strcmp(cmd, "inspect")) {
    if (argc != 3) lola_die_collective(LOLA_EXIT_DECK, "usage: lola inspect PATH");
    size_t len = 0;
    char *text = well_inspect_report(argv[2], &len);
    if (comm_rank() == 0) fputs(text, stdout);
    free(text);
  } else if (!strcmp(cmd, "keys")) {
    if (comm_rank() == 0) print_keys(stdout);
  } else if (!strcmp(cmd, "report")) {
    if (argc != 3) lola_die_collective(LOLA_EXIT_DECK, "usage: lola report RUN_DIR");
    if (comm_rank() == 0) {
      char path[4096];
      snprintf(path, sizeof path, "%s/eval/stats.csv", argv[2]);
      report_vrmse(path, stdout);
    }
  } else if (cmd[0] == '-') {
    if (comm_rank() == 0) usage(stderr);
    lola_die_collective(LOLA_EXIT_DECK, "unknown option '%s'", cmd);
  } else {
    deck *d = load(cmd, argc - 2, argv + 2);
    run_stages(d);
    deck_free(d);
  }
  comm_finalize();
  return 0;
}
