/* Writing latent caches in the reference's layout (lola/data.py
 * MiniWellDataset; read back by src/dataset_latent.h): one HDF5 file per
 * source file, datasets `state` (N, L, C, *latent shape) and `label` (N, D),
 * float32, written collectively with parallel HDF5 (each rank writes its own
 * rows with independent I/O). Root attributes record where it came from:
 *   autoencoder_run          run.dir of the autoencoder run
 *   autoencoder_fingerprint  FNV-1a of its weights file, hex (src/ae_run.h)
 *   source                   the source data file
 * The file is written under a temporary name and renamed into place when
 * complete, so a killed job never leaves a cache that looks finished. */
#ifndef LOLA_LATENT_CACHE_H
#define LOLA_LATENT_CACHE_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
  hid_t file, state, label;
  long rows;
  char *temp, path[4200];
} latent_writer;

typedef struct {
  long rows, length;   /* N, L */
  int channels, ndims; /* C and the latent spatial dims */
  long shape[3];       /* latent spatial extents */
  int label_dim;       /* D */
  const char *ae_run;  /* attribute values */
  const char *fingerprint;
  const char *source;
} latent_cache_layout;

/* Collective over the world: create the file (parent folders included). */
void latent_writer_open(latent_writer *w, const char *path, const latent_cache_layout *lay);
/* Independent: row `row` of state (L·C·prod(shape) floats) and label (D). */
void latent_writer_row(latent_writer *w, long row, const float *state, const float *label);
/* Collective: close and rename into place. */
void latent_writer_close(latent_writer *w);

/* This process alone (POSIX): the autoencoder fingerprint a cache file
 * records, in buf (17+ chars); false when the file or attribute is missing. */
bool latent_cache_fingerprint(const char *path, char *buf, int size);

#endif
