/* Latent caches written collectively (io/latent_cache.h) read back through the
 * latent reader and the training sample source: every row where it belongs,
 * the (L, C, P) -> (C, L, P) rearrangement, the recorded autoencoder, and no
 * temporary file left behind. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../io/latent_cache.h"
#include "../../parallel/comm.h"
#include "../../src/train_data.h"
#include "harness.h"

enum { N = 5, L = 4, C = 3, H = 2, W = 3, D = 2 };

static float value(long row, int l, int c, int p) { return (float)(row * 1000 + l * 100 + c * 10 + p); }

static void roundtrip(void) {
  char path[600];
  if (comm_rank() == 0) snprintf(path, sizeof path, "%s/cache/phys/train/a.hdf5", harness_tmpdir());
  MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
  latent_cache_layout lay = {.rows = N,
                             .length = L,
                             .channels = C,
                             .ndims = 2,
                             .shape = {H, W},
                             .label_dim = D,
                             .ae_run = "runs/x",
                             .fingerprint = "00000000deadbeef",
                             .source = "src.hdf5"};
  latent_writer w;
  latent_writer_open(&w, path, &lay);
  long begin, end;
  comm_block(N, comm_rank(), comm_size(), &begin, &end);
  float state[L * C * H * W], label[D];
  for (long r = begin; r < end; r++) {
    for (int l = 0; l < L; l++)
      for (int c = 0; c < C; c++)
        for (int p = 0; p < H * W; p++) state[(l * C + c) * H * W + p] = value(r, l, c, p);
    label[0] = (float)r, label[1] = -(float)r;
    latent_writer_row(&w, r, state, label);
  }
  latent_writer_close(&w);
  char partial[700];
  snprintf(partial, sizeof partial, "%s.partial", path);
  CHECK(access(path, F_OK) == 0 && access(partial, F_OK) != 0);
  char fp[64] = "";
  CHECK(latent_cache_fingerprint(path, fp, sizeof fp) && strcmp(fp, "00000000deadbeef") == 0);

  /* Windows of 2 states 2 apart: starts 0 and 1 of each trajectory. */
  const char *files[1] = {path};
  sample_source s;
  source_open_latents(&s, 1, files, 2, 2, true);
  CHECK(source_len(&s) == N * 2 && s.C == C && s.points == H * W && s.label_dim == D);
  float x[C * 2 * H * W], lab[D];
  bool all = true;
  for (long i = 0; i < source_len(&s); i++) {
    source_sample(&s, i, true, 0, 0, x, lab);
    long row = i / 2, start = i % 2;
    all &= lab[0] == (float)row && lab[1] == -(float)row;
    for (int c = 0; c < C; c++)
      for (int k = 0; k < 2; k++)
        for (int p = 0; p < H * W; p++)
          all &= x[(c * 2 + k) * H * W + p] == value(row, (int)(start + 2 * k), c, p);
  }
  CHECK(all);
  source_close(&s);
}

TEST(stage_train_cache_roundtrip) { roundtrip(); }
TEST_RANKS(stage_train_cache_roundtrip_2, 2) { roundtrip(); }
TEST_RANKS(stage_train_cache_roundtrip_3, 3) { roundtrip(); }
