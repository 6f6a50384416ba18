/* h5util: attributes in h5py's conventions written and read back, other
 * encodings accepted on read, and errors that name file, object and attribute. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/h5util.h"
#include "harness.h"

TEST(h5util_attributes_round_trip) {
  char path[1024];
  snprintf(path, sizeof path, "%s/attrs.h5", harness_tmpdir());
  hid_t f = h5_create(path, MPI_COMM_NULL);
  hid_t g = H5Gcreate2(f, "grp", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  h5_attr_write_bool(g, "yes", true);
  h5_attr_write_bool(g, "no", false);
  bool dv[3] = {true, false, true};
  h5_attr_write_bools(g, "dv", dv, 3);
  h5_attr_write_long(g, "n", -42);
  h5_attr_write_double(g, "x", 0.125);
  h5_attr_write_string(g, "s", "héllo");
  const char *list[] = {"a", "bb", "ccc"};
  h5_attr_write_strings(g, "list", list, 3);
  h5_attr_write_strings(g, "empty", NULL, 0);
  /* Other encodings: an int attribute as a boolean, a fixed-length string. */
  int32_t one = 1;
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(g, "int_flag", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT32, &one);
  H5Aclose(a);
  hid_t ft = H5Tcopy(H5T_C_S1);
  H5Tset_size(ft, 8);
  a = H5Acreate2(g, "fixed", ft, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, ft, "cartesi\0");
  H5Aclose(a);
  H5Tclose(ft);
  H5Sclose(sp);
  H5Gclose(g);
  h5_close_file(f);

  f = h5_open_read(path, MPI_COMM_WORLD);
  g = h5_open_group(f, "grp");
  CHECK(h5_attr_bool(g, "yes") && !h5_attr_bool(g, "no") && h5_attr_bool(g, "int_flag"));
  CHECK(h5_attr_bool_or(g, "absent", true) && !h5_attr_bool_or(g, "absent", false));
  bool got[8];
  CHECK(h5_attr_bools(g, "dv", got, 8) == 3 && got[0] && !got[1] && got[2]);
  CHECK(h5_attr_long(g, "n") == -42);
  CHECK(h5_attr_double(g, "x") == 0.125);
  char *s = h5_attr_string(g, "s");
  CHECK(strcmp(s, "héllo") == 0);
  free(s);
  s = h5_attr_string(g, "fixed");
  CHECK(strcmp(s, "cartesi") == 0);
  free(s);
  char **names;
  int n = h5_attr_strings(g, "list", &names);
  CHECK(n == 3 && strcmp(names[2], "ccc") == 0);
  h5_free_strings(names, n);
  CHECK(h5_attr_strings(g, "empty", &names) == 0);
  h5_free_strings(names, 0);
  CHECK(h5_exists(f, "grp") && !h5_exists(f, "grp/nothing/deeper") && !h5_exists(f, "nope/x"));

  lola_error_trap trap;
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, h5_attr_long(g, "missing")));
  CHECK(strstr(trap.message, "attrs.h5: /grp: attribute @missing: missing") != NULL);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, h5_attr_long(g, "s")));
  CHECK(strstr(trap.message, "@s: expected a number") != NULL);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, h5_attr_long(g, "x")));
  CHECK(strstr(trap.message, "expected an integer") != NULL);
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, h5_open_dataset(g, "data")));
  CHECK(strstr(trap.message, "attrs.h5: /grp/data: missing dataset") != NULL);
  H5Gclose(g);
  h5_close_file(f);
  char missing[1100];
  snprintf(missing, sizeof missing, "%s/none.h5", harness_tmpdir());
  CHECK(EXPECT_DIE(trap, LOLA_EXIT_DATA, h5_open_read(missing, MPI_COMM_NULL)));
  CHECK(strstr(trap.message, "none.h5: cannot read the file") != NULL);
}
