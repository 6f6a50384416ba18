#include "augment.h"

#include <string.h>

#include "../io/well_read.h"
#include "../kernels/rng.h"
#include "error.h"

/* kernels/rng.h has no purpose for augmentations yet: their streams use
 * RNG_DATA_ORDER with this bit set in the sample index, which the sampler's
 * stream (sample 0) never has, so the two never share numbers. */
static const uint64_t AUGMENT_STREAM = (uint64_t)1 << 40;

void augment_layout_from_dataset(augment_layout *lay, const dataset *ds, const augment_config *cfg) {
  memset(lay, 0, sizeof *lay);
  lay->ndims = dataset_ndims(ds);
  for (int d = 0; d < 3; d++) lay->shape[d] = dataset_shape(ds, d);
  lay->steps = dataset_steps(ds);
  lay->channels = dataset_channels(ds);
  lay->label_scalars = dataset_label_scalars(ds);
  if (lay->channels > AUGMENT_MAX_CHANNELS)
    lola_die(LOLA_EXIT_DECK, "augment: %d channels, at most %d supported", lay->channels,
             AUGMENT_MAX_CHANNELS);
  for (int c = 0; c < lay->channels; c++)
    dataset_channel_kind(ds, c, &lay->order[c], &lay->field[c], &lay->comp[c]);
  if (!cfg->permute) return;
  for (int d = 1; d < lay->ndims; d++)
    if (lay->shape[d] != lay->shape[0])
      lola_die(LOLA_EXIT_DECK,
               "dataset.augment: random_axis_permute needs equal sizes along the axes (%ld and %ld)",
               lay->shape[0], lay->shape[d]);
  for (int c = 0; c < lay->channels; c++) {
    int want = 1, have = 0;
    for (int k = 0; k < lay->order[c]; k++) want *= lay->ndims;
    for (int b = 0; b < lay->channels; b++) have += lay->field[b] == lay->field[c];
    if (have != want)
      lola_die(LOLA_EXIT_DECK,
               "dataset.augment: random_axis_permute needs every component of the field of channel '%s' in "
               "dataset.fields",
               dataset_channel_name(ds, c));
  }
}

static bool periodic(const augment_layout *lay, const float *label, int axis) {
  const float *bc = label + lay->label_scalars + 2 * axis;
  return bc[0] == WELL_BC_PERIODIC && bc[1] == WELL_BC_PERIODIC;
}

augment_draw augment_choose(const augment_config *cfg, const augment_layout *lay, long step, long sample,
                            const float *label) {
  augment_draw a;
  memset(&a, 0, sizeof a);
  for (int d = 0; d < 3; d++) a.perm[d] = d;
  rng_key key = {.seed = cfg->seed, .purpose = RNG_DATA_ORDER, .step = (uint32_t)step};
  rng_stream st = rng_stream_at(key, AUGMENT_STREAM | (uint64_t)sample);
  if (cfg->flip) /* RandomAxisFlip(p = 0.5) */
    for (int d = 0; d < lay->ndims; d++) a.flip[d] = rng_next_uniform(&st) < 0.5;
  if (cfg->permute) /* RandomAxisPermute(p = 1): a uniform permutation */
    for (int d = lay->ndims - 1; d > 0; d--) {
      int j = (int)(rng_next_uniform(&st) * (d + 1));
      int t = a.perm[d];
      a.perm[d] = a.perm[j];
      a.perm[j] = t;
    }
  if (cfg->roll) /* RandomAxisRoll(p = 1), periodic axes only (after the permutation) */
    for (int d = 0; d < lay->ndims; d++)
      if (periodic(lay, label, a.perm[d])) a.shift[d] = (long)(rng_next_uniform(&st) * (double)lay->shape[d]);
  return a;
}

/* out[l][k0][k1][k2][c] = sign[c] * in[l][...][src_chan[c]], where the input
 * coordinate along axis src_axis[a] is map[a][k_a]. */
typedef struct {
  int src_axis[3];
  long *map[3];
  int src_chan[AUGMENT_MAX_CHANNELS];
  float sign[AUGMENT_MAX_CHANNELS];
} gather_plan;

static void gather(const augment_layout *lay, const gather_plan *g, const float *in, float *out) {
  const long C = lay->channels, n0 = lay->shape[0], n1 = lay->ndims > 1 ? lay->shape[1] : 1,
             n2 = lay->ndims > 2 ? lay->shape[2] : 1;
  long stride_in[3] = {n1 * n2 * C, n2 * C, C}; /* input strides per original axis */
  long zero = 0;
  const long *m0 = g->map[0], *m1 = lay->ndims > 1 ? g->map[1] : &zero,
             *m2 = lay->ndims > 2 ? g->map[2] : &zero;
  long s0 = stride_in[g->src_axis[0]], s1 = lay->ndims > 1 ? stride_in[g->src_axis[1]] : 0,
       s2 = lay->ndims > 2 ? stride_in[g->src_axis[2]] : 0;
  long per_state = n0 * n1 * n2 * C;
  for (long l = 0; l < lay->steps; l++) {
    const float *src = in + l * per_state;
    float *dst = out + l * per_state;
    for (long i = 0; i < n0; i++)
      for (long j = 0; j < n1; j++)
        for (long k = 0; k < n2; k++) {
          const float *p =
              src + m0[i] * s0 + m1[lay->ndims > 1 ? j : 0] * s1 + m2[lay->ndims > 2 ? k : 0] * s2;
          float *q = dst + ((i * n1 + j) * n2 + k) * C;
          for (long c = 0; c < C; c++) q[c] = g->sign[c] * p[g->src_chan[c]];
        }
  }
}

static void identity_plan(const augment_layout *lay, gather_plan *g, long *maps) {
  long offset = 0; /* the axes' maps side by side in `maps` */
  for (int a = 0; a < 3; a++) {
    g->src_axis[a] = a;
    g->map[a] = maps + offset;
    offset += lay->shape[a];
  }
  for (int a = 0; a < lay->ndims; a++)
    for (long k = 0; k < lay->shape[a]; k++) g->map[a][k] = k;
  for (int c = 0; c < lay->channels; c++) g->src_chan[c] = c, g->sign[c] = 1.0f;
}

/* Channel of the same field whose component indices are `idx` (order entries). */
static int component_channel(const augment_layout *lay, int c, const int *idx) {
  int comp = 0;
  for (int k = 0; k < lay->order[c]; k++) comp = comp * lay->ndims + idx[k];
  for (int b = 0; b < lay->channels; b++)
    if (lay->field[b] == lay->field[c] && lay->comp[b] == comp) return b;
  return c;
}

static void split_comp(const augment_layout *lay, int c, int *idx) {
  int comp = lay->comp[c];
  for (int k = lay->order[c] - 1; k >= 0; k--) idx[k] = comp % lay->ndims, comp /= lay->ndims;
}

/* Flip, then permute, then roll, composed into one gather: output axis a reads
 * original axis perm[a] at coordinate c = (k - shift[a]) mod n, mirrored when
 * that axis is flipped; a component's sign follows the flips of the original
 * axes its indices name. */
void augment_apply(const augment_layout *lay, const augment_draw *draw, bool permute, float *state,
                   float *label, float *scratch) {
  long maps[3 * 4096];
  if (lay->shape[0] + lay->shape[1] + lay->shape[2] > 3 * 4096)
    lola_die(LOLA_EXIT_RUNTIME, "augment: grid too large for the index maps");
  int perm[3] = {0, 1, 2};
  bool identity = true;
  for (int a = 0; a < lay->ndims; a++) {
    if (permute) perm[a] = draw->perm[a];
    identity &= perm[a] == a && !draw->flip[a] && draw->shift[a] == 0;
  }
  if (identity) return;

  gather_plan g;
  identity_plan(lay, &g, maps);
  for (int a = 0; a < lay->ndims; a++) {
    const int src = perm[a];
    const long n = lay->shape[a];
    g.src_axis[a] = src;
    for (long k = 0; k < n; k++) {
      long c = ((k - draw->shift[a]) % n + n) % n;
      g.map[a][k] = draw->flip[src] ? n - 1 - c : c;
    }
  }
  for (int c = 0; c < lay->channels; c++) {
    int idx[3], from[3], flips = 0;
    split_comp(lay, c, idx);
    for (int k = 0; k < lay->order[c]; k++) from[k] = perm[idx[k]], flips += draw->flip[from[k]];
    g.src_chan[c] = component_channel(lay, c, from);
    g.sign[c] = flips % 2 ? -1.0f : 1.0f;
  }
  size_t floats = (size_t)lay->steps * (size_t)lay->channels;
  for (int d = 0; d < lay->ndims; d++) floats *= (size_t)lay->shape[d];
  memcpy(scratch, state, floats * sizeof(float));
  gather(lay, &g, scratch, state);

  if (label) { /* boundary rows: flip swaps sides, then rows follow the permutation */
    float *bc = label + lay->label_scalars, old[6];
    memcpy(old, bc, sizeof(float) * 2 * (size_t)lay->ndims);
    for (int a = 0; a < lay->ndims; a++) {
      const int src = perm[a];
      bc[2 * a] = old[2 * src + (draw->flip[src] ? 1 : 0)];
      bc[2 * a + 1] = old[2 * src + (draw->flip[src] ? 0 : 1)];
    }
  }
}

void augment_window(const augment_config *cfg, const augment_layout *lay, long step, long sample,
                    float *state, float *label, float *scratch) {
  if (!cfg->flip && !cfg->permute && !cfg->roll) return;
  augment_draw draw = augment_choose(cfg, lay, step, sample, label);
  augment_apply(lay, &draw, cfg->permute, state, label, scratch);
}
