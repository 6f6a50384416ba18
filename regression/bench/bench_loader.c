/* Batch-loading throughput of the Well reader, against a plain sequential read
 * of the same bytes, and how well reading the next batch hides behind compute.
 *
 *   make CUDA=0 build/bench/bench_loader && build/bench/bench_loader [DIR] [NX] [TRAJ] [STEPS]
 *
 * Writes 2 Euler-like files (energy, density, pressure, momentum: 5 channels of
 * NX x NX float32) with io/well_write, then reports:
 *   sequential   read(2) of the files front to back, 4 MiB at a time
 *   loader       one shuffled epoch of single-state windows, batch 16, through
 *                dataset_window (hyperslab reads) — raw, then with log1p +
 *                normalisation + flip/roll augmentation
 *   overlap      K batches with a busy "compute" as long as one batch load,
 *                with and without the prefetch thread; overlap = time saved /
 *                time that could be saved.
 * Figures are warm page-cache reads (the files were just written) on one rank. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../io/atomic_file.h"
#include "../../io/well_write.h"
#include "../../parallel/comm.h"
#include "../../src/dataset_loader.h"
#include "../../src/progress.h"

enum { BATCH = 16 };

static void write_file(const char *path, int nx, long ntraj, int nsteps, int file) {
  float *x = malloc(sizeof(float) * (size_t)nx), *time = malloc(sizeof(float) * (size_t)nsteps);
  for (int i = 0; i < nx; i++) x[i] = ((float)i + 0.5f) / (float)nx;
  for (int t = 0; t < nsteps; t++) time[t] = 0.01f * (float)t;
  well_layout lay = {.dataset_name = "bench_euler",
                     .nx = nx,
                     .ny = nx,
                     .x = x,
                     .y = x,
                     .n_steps = nsteps,
                     .time = time,
                     .n_trajectories = ntraj,
                     .bc = {"PERIODIC", "PERIODIC"},
                     .nparams = 1,
                     .param_names = {"gamma"},
                     .param_values = {1.4},
                     .nt0 = 3,
                     .nt1 = 1,
                     .t0_names = {"energy", "density", "pressure"},
                     .t1_names = {"momentum"}};
  well_writer w;
  well_writer_create(&w, path, &lay, MPI_COMM_WORLD);
  float *state = malloc(sizeof(float) * (size_t)nx * (size_t)nx * 2);
  for (long b = 0; b < ntraj; b++)
    for (int t = 0; t < nsteps; t++)
      for (int f = 0; f < 4; f++) {
        int nc = f == 3 ? 2 : 1;
        for (long i = 0; i < (long)nx * nx * nc; i++)
          state[i] = 1.0f + 0.5f * sinf(0.001f * (float)(i + 7 * t + 13 * b + 101 * f + 1009 * file));
        well_writer_put(&w, f, b, t, state);
      }
  well_writer_commit(&w);
  free(state), free(x), free(time);
}

static double sequential_read(char **paths, int n, double *bytes) {
  size_t chunk = 4u << 20;
  char *buf = malloc(chunk);
  double t0 = wall_time();
  *bytes = 0;
  for (int i = 0; i < n; i++) {
    int fd = open(paths[i], O_RDONLY);
    for (ssize_t r; (r = read(fd, buf, chunk)) > 0;) *bytes += (double)r;
    close(fd);
  }
  double dt = wall_time() - t0;
  free(buf);
  return dt;
}

static void busy(double seconds) {
  double end = wall_time() + seconds;
  volatile double acc = 0;
  while (wall_time() < end)
    for (int i = 0; i < 1000; i++) acc += sqrt((double)i);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  const char *dir = argc > 1 ? argv[1] : "/tmp/lola-bench-loader";
  int nx = argc > 2 ? atoi(argv[2]) : 128;
  long ntraj = argc > 3 ? atol(argv[3]) : 8;
  int nsteps = argc > 4 ? atoi(argv[4]) : 32;
  char sub[4096], paths[2][4200];
  snprintf(sub, sizeof sub, "%s/bench_euler/data/train", dir);
  make_dirs(sub);
  for (int f = 0; f < 2; f++) {
    snprintf(paths[f], sizeof paths[f], "%s/file_%d.hdf5", sub, f);
    write_file(paths[f], nx, ntraj, nsteps, f);
  }
  char *plist[2] = {paths[0], paths[1]};
  const char *physics[] = {"bench_euler"};
  dataset_spec spec = {
      .root = dir, .physics = physics, .nphysics = 1, .split = "train", .steps = 1, .stride = 1};
  double file_bytes, seq = sequential_read(plist, 2, &file_bytes);
  seq = fmin(seq, sequential_read(plist, 2, &file_bytes)); /* best of two */
  printf("data: 2 files, %ld trajectories x %d steps of %dx%d x 5 channels, %.1f MB on disk\n", 2 * ntraj,
         nsteps, nx, nx, file_bytes / 1e6);
  printf("sequential read(2):             %8.1f MB/s\n", file_bytes / 1e6 / seq);

  preprocess raw = {.channels = 5};
  preprocess full = {.channels = 5,
                     .normalize = true,
                     .transform = {TRANSFORM_LOG1P, TRANSFORM_LOG1P, TRANSFORM_LOG1P},
                     .mean = {1.2, 0.6, 0.58, 0, 0},
                     .std = {0.51, 0.27, 0.29, 0.53, 0.52}};
  augment_config aug = {.flip = true, .roll = true, .permute = true, .seed = 1};
  for (int mode = 0; mode < 2; mode++) {
    batch_loader l;
    loader_init(&l, &spec, mode ? &full : &raw, mode ? &aug : NULL, BATCH, 3, true, false);
    long steps = dist_sampler_batches(&l.sampler);
    double bytes = (double)steps * BATCH * (double)l.state_floats * sizeof(float);
    float *x, *y;
    double t0 = wall_time();
    for (long s = 0; s < steps; s++) loader_next(&l, s, &x, &y);
    double dt = wall_time() - t0;
    printf("loader, shuffled batches of %d%s %8.1f MB/s  (%.2fx sequential, %.2f ms/batch)\n", BATCH,
           mode ? ", preprocessed + augmented:" : ", raw:                     ", bytes / 1e6 / dt,
           bytes / dt / (file_bytes / seq), 1e3 * dt / (double)steps);
    loader_free(&l);
  }

  /* Overlap: compute as long as a load; without prefetch a step costs load +
   * compute, with prefetch ideally max(load, compute). "busy" compute spins on
   * this core (a CPU step: the helper needs a second core), "idle" compute
   * sleeps (a GPU step: the host waits on the device). */
  double t_load = 0;
  for (int kind = 0; kind < 2; kind++) {
    double t_sync = 0, t_pre = 0;
    long K = 0;
    for (int pf = 0; pf < 2; pf++) {
      batch_loader l;
      loader_init(&l, &spec, &full, &aug, BATCH, 3, true, pf == 1);
      K = dist_sampler_batches(&l.sampler);
      float *x, *y;
      if (t_load == 0) { /* measure one load */
        double t0 = wall_time();
        for (long s = 0; s < K; s++) loader_next(&l, s, &x, &y);
        t_load = (wall_time() - t0) / (double)K;
      }
      double t0 = wall_time();
      for (long s = 0; s < K; s++) {
        loader_next(&l, K + s, &x, &y);
        if (kind == 0)
          busy(t_load);
        else {
          struct timespec ts = {0, (long)(t_load * 1e9)};
          nanosleep(&ts, NULL);
        }
      }
      loader_wait(&l);
      *(pf ? &t_pre : &t_sync) = wall_time() - t0;
      loader_free(&l);
    }
    double saved = t_sync - t_pre, possible = (double)K * t_load;
    printf(
        "overlap, %s compute: load %.2f ms, compute %.2f ms per batch; %ld batches take %.1f ms without "
        "prefetch, %.1f ms with: %.0f%% of the load hidden\n",
        kind ? "idle (GPU-like)" : "busy (CPU)", 1e3 * t_load, 1e3 * t_load, K, 1e3 * t_sync, 1e3 * t_pre,
        100.0 * saved / possible);
  }
  comm_finalize();
  return 0;
}
