/* Cost of the built-in physics solvers, the figures the emulators are compared with.
 *
 *   mpirun -np R build/bench/bench_solvers [states]
 *
 * Every rank runs a trajectory at once (as `generate` does), each with
 * OMP_NUM_THREADS threads; all run the same problem, so 1- and N-rank figures
 * measure the same work. Reported per grid: time steps per stored state,
 * cell-updates per second (cells x time steps / wall time, summed over ranks),
 * the same per CPU second (steadier on a shared machine) and wall seconds per
 * stored state per rank. Euler: a random multi-quadrant
 * problem (gamma 1.4) stored every 0.015; Rayleigh-Benard: Ra 1e6, Pr 1,
 * stored every 0.25 from rest (the first states, before the flow is turbulent,
 * take fewer steps than the later ones). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../parallel/comm.h"
#include "../../src/euler.h"
#include "../../src/euler_quadrants.h"
#include "../../src/generate_seed.h"
#include "../../src/progress.h"
#include "../../src/rayleigh_benard.h"

/* The quadrants trajectory `index` of `split` gets from `seed`, as `generate` draws them. */
static void keyed_quadrants(euler_quadrants *q, const euler_quadrant_ranges *r, double lx, double ly,
                            uint64_t seed, int split, long index) {
  rng_stream stream = trajectory_stream(seed, split, index);
  euler_random_quadrants(q, r, lx, ly, &stream);
}

typedef struct {
  double seconds; /* wall, slowest rank */
  double cpu;     /* CPU seconds (all threads), summed over ranks */
  long steps;     /* summed over ranks */
} timing;

/* CPU time of this process: on a shared machine it moves less than wall time. */
static double cpu_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static timing finish(double wall0, double cpu0, long steps) {
  double wall = wall_time() - wall0, cpu = cpu_time() - cpu0;
  timing t = {0, 0, 0};
  MPI_Allreduce(&wall, &t.seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(&cpu, &t.cpu, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(&steps, &t.steps, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  return t;
}

static timing euler_case(int n, int states) {
  euler_params par = {n, n, 1.0, 1.0, 1.4, 0.5, EULER_BC_OPEN};
  euler_solver s;
  euler_create(&s, &par);
  euler_quadrant_ranges ranges = {{0.1, 2.0}, {0.1, 2.0}, {-1.0, 1.0}, {0.25, 0.75}};
  euler_quadrants q;
  keyed_quadrants(&q, &ranges, 1.0, 1.0, 2025, 0, 0);
  euler_set_quadrants(&s, &q);
  euler_failure fail;
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = wall_time(), c0 = cpu_time();
  for (int k = 1; k <= states; k++)
    if (euler_advance(&s, 0.015 * k, &fail) != 0) {
      fprintf(stderr, "bench: euler %d^2 failed at t = %g\n", n, fail.t);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  timing t = finish(t0, c0, s.steps);
  euler_destroy(&s);
  return t;
}

static timing rb_case(int nx, int ny, int states) {
  rb_params par = rb_default_params(nx, ny);
  rng_stream stream = trajectory_stream(2025, 0, 0);
  par.seed = stream_seed64(&stream);
  rb_solver *s = rb_create(&par);
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = wall_time(), c0 = cpu_time();
  long steps0 = rb_step_count(s);
  for (int k = 1; k <= states; k++)
    if (!rb_advance_to(s, 0.25 * k)) {
      fprintf(stderr, "bench: rayleigh_benard %dx%d blew up at t = %g\n", nx, ny, rb_blowup_time(s));
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  timing t = finish(t0, c0, rb_step_count(s) - steps0);
  rb_destroy(s);
  return t;
}

static void report(const char *solver, int nx, int ny, int states, timing t) {
  if (comm_rank() != 0) return;
  int ranks = comm_size();
  double cells = (double)nx * ny;
  printf("%-16s %5d x %-4d %5d %6d %8.1f %14.3e %14.3e %14.4f\n", solver, nx, ny, ranks,
         omp_get_max_threads(), (double)t.steps / ranks / states, cells * (double)t.steps / t.seconds,
         cells * (double)t.steps / t.cpu, t.seconds / states);
  fflush(stdout);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  int states = argc > 1 ? atoi(argv[1]) : 20;
  if (comm_rank() == 0)
    printf("%-16s %12s %5s %6s %8s %14s %14s %14s\n", "solver", "grid", "ranks", "thrds", "steps/st",
           "cell-upd/s", "cell-upd/cpu-s", "s/state/rank");
  int euler_sizes[] = {64, 128, 256};
  for (int k = 0; k < 3; k++) {
    int n = euler_sizes[k];
    report("euler", n, n, states, euler_case(n, states));
  }
  int rb_sizes[][2] = {{128, 32}, {256, 64}};
  for (int k = 0; k < 2; k++)
    report("rayleigh_benard", rb_sizes[k][0], rb_sizes[k][1], states,
           rb_case(rb_sizes[k][0], rb_sizes[k][1], states));
  comm_finalize();
  return 0;
}
