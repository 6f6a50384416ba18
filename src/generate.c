#define _POSIX_C_SOURCE 200809L
#include "generate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../io/well_write.h"
#include "../parallel/comm.h"
#include "error.h"
#include "generate_seed.h"
#include "generate_solver.h"
#include "log.h"
#include "progress.h"

const char *const generate_split_names[GENERATE_SPLITS] = {"train", "valid", "test"};

/* Files created at once: trajectories are balanced over the ranks within such
 * a group, so every rank keeps working while few file handles stay open. */
enum { FILES_PER_GROUP = 64, PATH_LEN = 4096 };

const char *generate_dataset_name(const generate_config *cfg) {
  if (cfg->physics == GENERATE_RAYLEIGH_BENARD) return "rayleigh_benard";
  return cfg->periodic ? "euler_multi_quadrants_periodicBC" : "euler_multi_quadrants_openBC";
}

/* One output file: trajectories [first, first + count) of parameter set `set`. */
typedef struct {
  int set;
  long first, count;
  long global_first; /* index of its first trajectory within the split */
  char path[PATH_LEN];
} file_plan;

static void split_dir(const generate_config *cfg, int split, char *buf, size_t n) {
  snprintf(buf, n, "%s/%s/data/%s", cfg->root, generate_dataset_name(cfg), generate_split_names[split]);
}

/* A parameter value for a file name: %g without the exponent's '+' (1e6, 0.5, 1.4). */
static const char *number_name(double v, char *buf, size_t n) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%g", v);
  size_t k = 0;
  for (const char *c = tmp; *c && k + 1 < n; c++)
    if (*c != '+') buf[k++] = *c;
  buf[k] = '\0';
  return buf;
}

static int plan_split(const generate_config *cfg, int split, file_plan **out) {
  long n = cfg->trajectories[split];
  long per_set = (n + cfg->per_file - 1) / cfg->per_file;
  file_plan *files = lola_calloc((size_t)(per_set * cfg->nsets) + 1, sizeof *files, "file plan");
  char dir[PATH_LEN];
  split_dir(cfg, split, dir, sizeof dir);
  int count = 0;
  for (int set = 0; set < cfg->nsets; set++) {
    char params[128], a[32], b[32];
    if (cfg->physics == GENERATE_RAYLEIGH_BENARD)
      snprintf(params, sizeof params, "Rayleigh_%s_Prandtl_%s", number_name(cfg->sets[set][0], a, sizeof a),
               number_name(cfg->sets[set][1], b, sizeof b));
    else
      snprintf(params, sizeof params, "gamma_%s", number_name(cfg->sets[set][0], a, sizeof a));
    for (long f = 0; f < per_set; f++) {
      file_plan *p = &files[count++];
      p->set = set;
      p->first = f * cfg->per_file;
      p->count = n - p->first < cfg->per_file ? n - p->first : cfg->per_file;
      p->global_first = set * n + p->first;
      if (snprintf(p->path, sizeof p->path, "%s/%s_%s_%04ld.hdf5", dir, generate_dataset_name(cfg), params,
                   f) >= (int)sizeof p->path)
        lola_die_collective(LOLA_EXIT_DECK, "generate.root = \"%s\": path too long", cfg->root);
    }
  }
  *out = files;
  return count;
}

static int rank_of(MPI_Comm comm) {
  int r;
  MPI_Comm_rank(comm, &r);
  return r;
}

/* mkdir -p that reports instead of dying: 0, or errno with the failing path. */
static int try_make_dirs(const char *path, char *failed, size_t n) {
  char p[PATH_LEN];
  snprintf(p, sizeof p, "%s", path);
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    struct stat st;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      snprintf(failed, n, "%s", p);
      return errno;
    }
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
      snprintf(failed, n, "%s", p);
      return ENOTDIR;
    }
    if (c == '\0') break;
    *s = c;
  }
  /* A directory can exist and still refuse new files. */
  char probe[PATH_LEN + 32];
  snprintf(probe, sizeof probe, "%s/.lola-probe.%ld", path, (long)getpid());
  int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    snprintf(failed, n, "%s", path);
    return errno;
  }
  close(fd);
  unlink(probe);
  return 0;
}

/* Rank 0 creates the split folders; every rank dies together if it cannot. */
static void prepare_dirs(const generate_config *cfg, MPI_Comm comm) {
  char msg[PATH_LEN + 256] = {0};
  if (rank_of(comm) == 0) {
    for (int split = 0; split < GENERATE_SPLITS && !msg[0]; split++) {
      if (cfg->trajectories[split] == 0) continue;
      char dir[PATH_LEN], failed[PATH_LEN];
      split_dir(cfg, split, dir, sizeof dir);
      int err = try_make_dirs(dir, failed, sizeof failed);
      if (err)
        snprintf(msg, sizeof msg, "generate.root = \"%s\": cannot write %s: %s", cfg->root, failed,
                 strerror(err));
    }
  }
  MPI_Bcast(msg, sizeof msg, MPI_CHAR, 0, comm);
  if (msg[0]) lola_die_collective(LOLA_EXIT_DECK, "%s", msg);
}

/* Files in a split folder that this run did not write would be read along with
 * the new ones by any Well reader: say so. */
static void warn_stale(const generate_config *cfg, int split, const file_plan *files, int nfiles,
                       MPI_Comm comm) {
  if (rank_of(comm) != 0) return;
  char dir[PATH_LEN];
  split_dir(cfg, split, dir, sizeof dir);
  DIR *d = opendir(dir);
  if (!d) return;
  int stale = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len < 5 || (strcmp(e->d_name + len - 5, ".hdf5") != 0 && strcmp(e->d_name + len - 3, ".h5") != 0))
      continue;
    int ours = 0;
    for (int f = 0; f < nfiles && !ours; f++) {
      const char *base = strrchr(files[f].path, '/');
      ours = strcmp(base ? base + 1 : files[f].path, e->d_name) == 0;
    }
    stale += !ours;
  }
  closedir(d);
  if (stale)
    lola_warn("%s holds %d other HDF5 file%s that readers will load with the new ones", dir, stale,
              stale == 1 ? "" : "s");
}

typedef struct {
  const generate_config *cfg;
  MPI_Comm comm;
  int rank, size;
  generate_solver *solver;
  float *fields[2 * WELL_WRITE_MAX_FIELDS];
  int nfields;
  float *time;
  progress bar;
  long states_done, states_mine, states_all;
} generator;

/* Trajectory `global` of `split` into its slot of file `f` (writer `w`); -1 with a message on failure. */
static int run_trajectory(generator *g, int split, const file_plan *f, well_writer *w, long global, char *err,
                          size_t n) {
  const generate_config *cfg = g->cfg;
  long index = global - f->set * cfg->trajectories[split];
  rng_stream stream = trajectory_stream(cfg->seed, split, global);
  g->solver->start(g->solver, f->set, index, &stream);
  for (int step = 0; step < cfg->steps; step++) {
    char why[512];
    if (g->solver->advance(g->solver, step * cfg->dt, why, sizeof why) != 0) {
      snprintf(err, n, "generate: trajectory %ld of split %s (index %ld in %.1024s) %.512s", global,
               generate_split_names[split], global - f->global_first, f->path, why);
      return -1;
    }
    g->solver->snapshot(g->solver, g->fields);
    for (int k = 0; k < g->nfields; k++) well_writer_put(w, k, global - f->global_first, step, g->fields[k]);
    g->states_done++;
    /* Rank 0 sees its own share; the shares are balanced, so it scales to the whole. */
    long estimate = g->states_mine ? g->states_done * g->states_all / g->states_mine : g->states_all;
    char extra[96];
    snprintf(extra, sizeof extra, "trajectories %ld/%ld, split %s", estimate / cfg->steps,
             g->states_all / cfg->steps, generate_split_names[split]);
    progress_update(&g->bar, estimate, extra);
  }
  return 0;
}

/* The lowest failing rank's message reaches every rank, which all exit together. */
static void fail_together(const char *err, int failed, well_writer *w, int nw, generator *g) {
  int mine = failed ? g->rank : g->size, first = 0;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, g->comm);
  char msg[2048];
  snprintf(msg, sizeof msg, "%s", err);
  MPI_Bcast(msg, sizeof msg, MPI_CHAR, first, g->comm);
  for (int k = 0; k < nw; k++) well_writer_abandon(&w[k]);
  g->solver->destroy(g->solver);
  for (int k = 0; k < g->nfields; k++) free(g->fields[k]);
  free(g->time);
  lola_die_collective(LOLA_EXIT_RUNTIME, "%s", msg);
}

static void layout_for(generator *g, const file_plan *f, well_layout *l) {
  memset(l, 0, sizeof *l);
  g->solver->layout(g->solver, f->set, l);
  l->dataset_name = generate_dataset_name(g->cfg);
  l->n_steps = g->cfg->steps;
  l->time = g->time;
  l->n_trajectories = f->count;
}

static void run_group(generator *g, int split, const file_plan *files, int nfiles) {
  well_writer w[FILES_PER_GROUP];
  for (int k = 0; k < nfiles; k++) {
    well_layout l;
    layout_for(g, &files[k], &l);
    well_writer_create(&w[k], files[k].path, &l, g->comm);
  }
  long first = files[0].global_first;
  long total = files[nfiles - 1].global_first + files[nfiles - 1].count - first;
  long begin, end;
  comm_block(total, g->rank, g->size, &begin, &end);
  char err[2048] = {0};
  int failed = 0, f = 0;
  for (long t = first + begin; t < first + end && !failed; t++) {
    while (t >= files[f].global_first + files[f].count) f++;
    failed = run_trajectory(g, split, &files[f], &w[f], t, err, sizeof err) != 0;
  }
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, g->comm);
  if (any) fail_together(err, failed, w, nfiles, g);
  for (int k = 0; k < nfiles; k++) well_writer_commit(&w[k]);
}

static generate_solver *make_solver(const generate_config *cfg) {
  if (cfg->physics == GENERATE_RAYLEIGH_BENARD) return generate_rayleigh_benard_solver(cfg);
  return generate_euler_solver(cfg);
}

/* States rank 0 computes and states overall, for the progress estimate. */
static void count_states(generator *g) {
  g->states_mine = g->states_all = 0;
  for (int split = 0; split < GENERATE_SPLITS; split++) {
    file_plan *files;
    int nfiles = plan_split(g->cfg, split, &files);
    for (int g0 = 0; g0 < nfiles; g0 += FILES_PER_GROUP) {
      int g1 = g0 + FILES_PER_GROUP < nfiles ? g0 + FILES_PER_GROUP : nfiles;
      long total = files[g1 - 1].global_first + files[g1 - 1].count - files[g0].global_first;
      long b, e;
      comm_block(total, 0, g->size, &b, &e);
      g->states_mine += (e - b) * g->cfg->steps;
      g->states_all += total * g->cfg->steps;
    }
    free(files);
  }
}

void generate_run(const generate_config *cfg) {
  MPI_Comm comm = cfg->comm == MPI_COMM_NULL || cfg->comm == 0 ? MPI_COMM_WORLD : cfg->comm;
  prepare_dirs(cfg, comm);
  generator g = {.cfg = cfg, .comm = comm, .rank = rank_of(comm), .solver = make_solver(cfg)};
  MPI_Comm_size(comm, &g.size);
  well_layout l = {0};
  g.solver->layout(g.solver, 0, &l);
  g.nfields = l.nt0 + l.nt1;
  for (int k = 0; k < g.nfields; k++)
    g.fields[k] =
        lola_malloc(sizeof(float) * (size_t)l.nx * (size_t)l.ny * (k < l.nt0 ? 1 : 2), "field buffer");
  g.time = lola_malloc(sizeof(float) * (size_t)cfg->steps, "time grid");
  for (int k = 0; k < cfg->steps; k++) g.time[k] = (float)(k * cfg->dt);
  count_states(&g);

  lola_log(
      "generate: %s, %d x %d, %ld/%ld/%ld trajectories per parameter set (train/valid/test), %d set%s, "
      "%d states every %g, on %d rank%s",
      generate_dataset_name(cfg), cfg->nx, cfg->ny, cfg->trajectories[0], cfg->trajectories[1],
      cfg->trajectories[2], cfg->nsets, cfg->nsets == 1 ? "" : "s", cfg->steps, cfg->dt, g.size,
      g.size == 1 ? "" : "s");
  progress_begin(&g.bar, "generate", "state", g.states_all);
  long nfiles_all = 0;
  for (int split = 0; split < GENERATE_SPLITS; split++) {
    file_plan *files;
    int nfiles = plan_split(cfg, split, &files);
    for (int g0 = 0; g0 < nfiles; g0 += FILES_PER_GROUP) {
      int n = nfiles - g0 < FILES_PER_GROUP ? nfiles - g0 : FILES_PER_GROUP;
      run_group(&g, split, files + g0, n);
    }
    if (nfiles) warn_stale(cfg, split, files, nfiles, comm);
    nfiles_all += nfiles;
    free(files);
  }
  char extra[96];
  snprintf(extra, sizeof extra, "trajectories %ld, files %ld", g.states_all / cfg->steps, nfiles_all);
  progress_end(&g.bar, g.states_all, extra);
  lola_log("generate: wrote %ld file%s under %s/%s/data", nfiles_all, nfiles_all == 1 ? "" : "s", cfg->root,
           generate_dataset_name(cfg));

  g.solver->destroy(g.solver);
  for (int k = 0; k < g.nfields; k++) free(g.fields[k]);
  free(g.time);
}
