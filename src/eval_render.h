/* Pictures of a recorded trajectory, as the reference's draw_movie shows
 * them (lola/plot.py): truth and ensemble members side by side over time,
 * viridis, one colour range per field shared by truth and members.
 *   <prefix>_<field>.png  a strip per field: row 0 the truth, then one row per
 *                         member; one column per state
 *   <prefix>.gif          the animation over time: one column per field, rows
 *                         truth then members
 * Fields are 2D (H, W); 3D fields are cut at the middle of their last axis.
 * Cells are magnified by an integer factor so that small grids stay visible. */
#ifndef LOLA_EVAL_RENDER_H
#define LOLA_EVAL_RENDER_H

#include <stdint.h>

/* truth (C, L, *shape) and members (M, C, L, *shape); names: C field names. */
void eval_render(const char *prefix, const float *truth, const float *members, int M, int C, long L,
                 int ndims, const int64_t *shape, const char *const *names, int delay_cs);

/* The integer magnification of an h × w cell (at least 1, cells of ~128 pixels). */
int eval_render_zoom(int64_t h, int64_t w);

#endif
