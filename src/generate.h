/* The work of the `generate` stage, independent of the deck: run a physics
 * solver for every trajectory of every split and write The Well's layout
 *   <root>/<dataset>/data/{train,valid,test}/<dataset>_<parameters>_<k>.hdf5
 * (see io/well_write.h). Trajectories are spread over the ranks of the world
 * communicator; each one is seeded by (seed, split, global trajectory index),
 * so the files are the same whatever the rank count. */
#ifndef LOLA_GENERATE_H
#define LOLA_GENERATE_H

#include <mpi.h>
#include <stdint.h>

#include "euler_quadrants.h"

typedef enum { GENERATE_EULER, GENERATE_RAYLEIGH_BENARD } generate_physics;

enum { GENERATE_SPLITS = 3, GENERATE_MAX_SETS = 64, GENERATE_MAX_SLOPES = 16 };

extern const char *const generate_split_names[GENERATE_SPLITS]; /* train, valid, test */

typedef struct {
  generate_physics physics;
  int periodic;     /* Euler: periodic (1) or open (0) boundaries */
  const char *root; /* output root */
  int nx, ny;
  long trajectories[GENERATE_SPLITS]; /* per split and per parameter set */
  long per_file;                      /* trajectories per file (at most) */
  int steps;                          /* stored states per trajectory, t = 0, dt, ... */
  double dt;                          /* time between stored states */
  uint64_t seed;
  double cfl;
  /* Parameter sets, one per group of files: Euler {gamma}; Rayleigh-Benard {Ra, Pr}. */
  int nsets;
  double sets[GENERATE_MAX_SETS][2];
  euler_quadrant_ranges euler_ranges;
  int nslopes; /* Rayleigh-Benard initial slopes δb0, cycled over trajectories */
  double slopes[GENERATE_MAX_SLOPES];
  MPI_Comm comm; /* ranks sharing the work; MPI_COMM_NULL (or 0) means the world */
} generate_config;

/* The dataset (and folder) name: euler_multi_quadrants_openBC / _periodicBC, rayleigh_benard. */
const char *generate_dataset_name(const generate_config *cfg);

/* Collective over cfg->comm. Dies (every rank, non-zero exit) when the root
 * cannot be written (naming generate.root) or a trajectory becomes unphysical
 * (naming the trajectory, its file and the time); no file is then left under
 * a final name for the files in progress. */
void generate_run(const generate_config *cfg);

#endif
