/* The inspect summary of a fixture file, and the file search below a folder. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/h5util.h"
#include "../../src/well_inspect.h"
#include "harness.h"
#include "well_fixture.h"

TEST(well_inspect_summarises_a_file) {
  char *dir = well_fixture_dir("inspect_tree");
  well_fixture_tree(dir, 7, 5, 4);
  char **files;
  int n = well_inspect_collect(dir, &files);
  CHECK(n == 4);
  CHECK(n == 4 && strstr(files[0], "euler_open/data/train/a.hdf5") && strstr(files[2], "valid/c.h5") &&
        strstr(files[3], "euler_periodic/train/p.hdf5"));
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  long traj = well_inspect_file(files[3], out);
  fclose(out);
  CHECK(traj == 2);
  const char *want[] = {
      "dataset       euler_periodic (cartesian, 2D)",
      "trajectories  2, 7 steps each, dt 0.25 (t from 0.5)",
      "grid          x 5, y 4",
      "boundaries    x PERIODIC/PERIODIC, y WALL/WALL",
      "gamma = 1.7; Rayleigh (per trajectory) 4e+06..8e+06; drive (time-varying)",
      "density          t0  (2, 7, 5, 4)           sample time x y",
      "bathymetry       t0  (5)                    x",
      "momentum         t1  (2, 7, 5, 4, 2)        sample time x y  -> momentum_x momentum_y"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    if (!CHECK(strstr(text, want[i]) != NULL)) fprintf(stderr, "  missing: %s\n--\n%s", want[i], text);
  free(text);
  h5_free_strings(files, n);
  lola_error_trap trap;
  char nothing[2048];
  snprintf(nothing, sizeof nothing, "%s/euler_open/data/none", dir);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, well_inspect_collect(nothing, &files)));
  free(dir);
}
