#define _GNU_SOURCE
#include "h5util.h"

#include <pthread.h>
#include <stdnoreturn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/error.h"

static bool collective_errors;
static hid_t bool_type = H5I_INVALID_HID, vstr_type = H5I_INVALID_HID;
static hid_t xfer_indep = H5I_INVALID_HID, xfer_coll = H5I_INVALID_HID;

/* HDF5 prints its error stack to stderr by default; we report errors ourselves. */
static void h5_init(void) {
  static bool done;
  if (done) return;
  done = true;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static pthread_mutex_t big_lock;
static pthread_once_t big_lock_once = PTHREAD_ONCE_INIT;

/* A dying process takes the lock for good before MPI_Finalize and exit shut
 * HDF5 down: a prefetch thread inside a read finishes it and starts no other. */
static void keep_helpers_out(void) { h5_lock(); }

static void make_big_lock(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&big_lock, &a);
  pthread_mutexattr_destroy(&a);
  lola_error_set_quiesce(keep_helpers_out);
}

static __thread int lock_depth; /* this thread's holds of the recursive lock */

void h5_lock(void) {
  pthread_once(&big_lock_once, make_big_lock);
  pthread_mutex_lock(&big_lock);
  lock_depth++;
}

void h5_unlock(void) {
  lock_depth--;
  pthread_mutex_unlock(&big_lock);
}

bool h5_errors_collective(bool on) {
  bool was = collective_errors;
  collective_errors = on;
  return was;
}

static noreturn void die_text(const char *text) {
  /* An error trap (tests) returns past our callers' h5_unlock: release here. */
  while (lock_depth > 0) h5_unlock();
  if (collective_errors) lola_die_collective(LOLA_EXIT_DATA, "%s", text);
  lola_die(LOLA_EXIT_DATA, "%s", text);
}

const char *h5_file_name(hid_t obj, char *buf, size_t n) {
  if (obj < 0 || H5Fget_name(obj, buf, n) < 0) snprintf(buf, n, "?");
  return buf;
}

const char *h5_object_path(hid_t obj, char *buf, size_t n) {
  if (obj < 0 || H5Iget_name(obj, buf, n) <= 0) snprintf(buf, n, "/");
  return buf;
}

void h5_fail(hid_t obj, const char *where, const char *fmt, ...) {
  char msg[1024], file[512], path[512], text[2200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (obj >= 0)
    snprintf(text, sizeof text, "%s: %s: %s", h5_file_name(obj, file, sizeof file),
             h5_object_path(obj, path, sizeof path), msg);
  else
    snprintf(text, sizeof text, "%s: %s", where ? where : "?", msg);
  die_text(text);
}

/* "<file>: <loc path>/<rel>" for objects that could not be opened. */
static noreturn void fail_child(hid_t loc, const char *rel, const char *what) {
  char file[512], path[512], text[1400];
  h5_object_path(loc, path, sizeof path);
  const char *sep = strcmp(path, "/") == 0 ? "" : "/";
  snprintf(text, sizeof text, "%s: %s%s%s: %s", h5_file_name(loc, file, sizeof file), path, sep, rel, what);
  die_text(text);
}

static hid_t file_access(MPI_Comm comm) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (comm != MPI_COMM_NULL) H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  return fapl;
}

hid_t h5_open_read(const char *path, MPI_Comm comm) {
  h5_init();
  if (access(path, R_OK) != 0)
    h5_fail(H5I_INVALID_HID, path, "cannot read the file (missing or no permission)");
  if (H5Fis_hdf5(path) <= 0) h5_fail(H5I_INVALID_HID, path, "not an HDF5 file");
  hid_t fapl = file_access(comm);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (f < 0) h5_fail(H5I_INVALID_HID, path, "cannot open as HDF5 (truncated or damaged file?)");
  return f;
}

hid_t h5_create(const char *path, MPI_Comm comm) {
  h5_init();
  hid_t fapl = file_access(comm);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0) h5_fail(H5I_INVALID_HID, path, "cannot create the HDF5 file");
  return f;
}

void h5_close_file(hid_t file) {
  if (file >= 0) H5Fclose(file);
}

hid_t h5_xfer_independent(void) {
  h5_init();
  if (xfer_indep < 0) {
    xfer_indep = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(xfer_indep, H5FD_MPIO_INDEPENDENT);
  }
  return xfer_indep;
}

hid_t h5_xfer_collective(hid_t file) {
  h5_init();
  hid_t fapl = H5Fget_access_plist(file);
  bool mpio = fapl >= 0 && H5Pget_driver(fapl) == H5FD_MPIO;
  if (fapl >= 0) H5Pclose(fapl);
  if (!mpio) return H5P_DEFAULT;
  if (xfer_coll < 0) {
    xfer_coll = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(xfer_coll, H5FD_MPIO_COLLECTIVE);
  }
  return xfer_coll;
}

/* H5Lexists on each prefix of the path: it fails, rather than saying "no", when
 * an intermediate group is missing. */
bool h5_exists(hid_t loc, const char *path) {
  h5_init();
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf; (p = strchr(p + 1, '/'));) {
    *p = 0;
    if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return false;
    *p = '/';
  }
  return H5Lexists(loc, buf, H5P_DEFAULT) > 0;
}

static H5O_type_t object_type(hid_t loc, const char *path) {
  H5O_info_t info;
  if (H5Oget_info_by_name(loc, path, &info, H5P_DEFAULT) < 0) return H5O_TYPE_UNKNOWN;
  return info.type;
}

hid_t h5_open_group(hid_t loc, const char *path) {
  h5_init();
  if (!h5_exists(loc, path)) fail_child(loc, path, "missing group");
  if (object_type(loc, path) != H5O_TYPE_GROUP) fail_child(loc, path, "expected a group");
  hid_t g = H5Gopen2(loc, path, H5P_DEFAULT);
  if (g < 0) fail_child(loc, path, "cannot open group");
  return g;
}

hid_t h5_open_dataset(hid_t loc, const char *path) {
  h5_init();
  if (!h5_exists(loc, path)) fail_child(loc, path, "missing dataset");
  if (object_type(loc, path) != H5O_TYPE_DATASET) fail_child(loc, path, "expected a dataset");
  hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
  if (d < 0) fail_child(loc, path, "cannot open dataset");
  return d;
}

int h5_dataset_shape(hid_t dset, hsize_t *dims) {
  hid_t space = H5Dget_space(dset);
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > H5U_MAX_RANK) {
    H5Sclose(space);
    h5_fail(dset, NULL, "unsupported dataspace (rank %d)", rank);
  }
  if (dims) H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  return rank;
}

void h5_require_float(hid_t dset) {
  hid_t t = H5Dget_type(dset);
  bool ok = H5Tget_class(t) == H5T_FLOAT && (H5Tget_size(t) == 4 || H5Tget_size(t) == 8);
  H5Tclose(t);
  if (!ok) h5_fail(dset, NULL, "expected float32 (or float64) values");
}

void h5_read_all_double(hid_t dset, double *out, size_t count) {
  hid_t space = H5Dget_space(dset);
  hssize_t n = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  if (n != (hssize_t)count) h5_fail(dset, NULL, "expected %zu values, found %lld", count, (long long)n);
  hid_t t = H5Dget_type(dset);
  H5T_class_t cls = H5Tget_class(t);
  H5Tclose(t);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) h5_fail(dset, NULL, "expected numeric values");
  if (count && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    h5_fail(dset, NULL, "read failed");
}

/* ---- attributes ---- */

bool h5_attr_exists(hid_t obj, const char *name) {
  h5_init();
  return H5Aexists(obj, name) > 0;
}

static noreturn void fail_attr(hid_t obj, const char *name, const char *what) {
  h5_fail(obj, NULL, "attribute @%s: %s", name, what);
}

static hid_t open_attr(hid_t obj, const char *name) {
  if (!h5_attr_exists(obj, name)) fail_attr(obj, name, "missing");
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) fail_attr(obj, name, "cannot open");
  return a;
}

static hssize_t attr_points(hid_t a) {
  hid_t space = H5Aget_space(a);
  hssize_t n = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  return n;
}

/* Read `count` numeric attribute values as doubles: integers, floats, and enums
 * (h5py booleans) whose underlying integers are taken as their values. */
static void read_attr_numbers(hid_t obj, const char *name, hid_t a, double *out, hssize_t count) {
  hid_t ft = H5Aget_type(a);
  H5T_class_t cls = H5Tget_class(ft);
  herr_t err = -1;
  if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
    err = H5Aread(a, H5T_NATIVE_DOUBLE, out);
  } else if (cls == H5T_ENUM) {
    hid_t base = H5Tget_super(ft);
    hid_t native = H5Tget_native_type(base, H5T_DIR_ASCEND);
    size_t size = H5Tget_size(native);
    H5T_sign_t sign = H5Tget_sign(native);
    unsigned char *raw = lola_malloc(size * (size_t)count, "attribute buffer");
    hid_t memt = H5Tenum_create(native);
    /* Copy the member names and values so the conversion is an identity. */
    int nmem = H5Tget_nmembers(ft);
    for (int i = 0; i < nmem; i++) {
      char *mname = H5Tget_member_name(ft, (unsigned)i);
      long long v = 0;
      H5Tget_member_value(ft, (unsigned)i, &v);
      H5Tenum_insert(memt, mname, &v);
      H5free_memory(mname);
    }
    err = H5Aread(a, memt, raw);
    for (hssize_t i = 0; i < count && err >= 0; i++) {
      const unsigned char *p = raw + (size_t)i * size;
      long long v = 0;
      if (size == 1)
        v = sign == H5T_SGN_NONE ? (long long)*(const uint8_t *)p : *(const int8_t *)p;
      else if (size == 2)
        v = sign == H5T_SGN_NONE ? (long long)*(const uint16_t *)p : *(const int16_t *)p;
      else if (size == 4)
        v = sign == H5T_SGN_NONE ? (long long)*(const uint32_t *)p : *(const int32_t *)p;
      else
        v = *(const int64_t *)p;
      out[i] = (double)v;
    }
    free(raw);
    H5Tclose(memt);
    H5Tclose(native);
    H5Tclose(base);
  } else {
    H5Tclose(ft);
    H5Aclose(a);
    fail_attr(obj, name, "expected a number or boolean");
  }
  H5Tclose(ft);
  if (err < 0) {
    H5Aclose(a);
    fail_attr(obj, name, "read failed");
  }
}

static double attr_number(hid_t obj, const char *name) {
  hid_t a = open_attr(obj, name);
  if (attr_points(a) != 1) {
    H5Aclose(a);
    fail_attr(obj, name, "expected a single value");
  }
  double v = 0;
  read_attr_numbers(obj, name, a, &v, 1);
  H5Aclose(a);
  return v;
}

bool h5_attr_bool(hid_t obj, const char *name) { return attr_number(obj, name) != 0; }

bool h5_attr_bool_or(hid_t obj, const char *name, bool fallback) {
  return h5_attr_exists(obj, name) ? h5_attr_bool(obj, name) : fallback;
}

long h5_attr_long(hid_t obj, const char *name) {
  double v = attr_number(obj, name);
  if (v != (double)(long)v) fail_attr(obj, name, "expected an integer");
  return (long)v;
}

double h5_attr_double(hid_t obj, const char *name) { return attr_number(obj, name); }

int h5_attr_bools(hid_t obj, const char *name, bool *out, int max) {
  hid_t a = open_attr(obj, name);
  hssize_t n = attr_points(a);
  if (n < 0 || n > max) {
    H5Aclose(a);
    fail_attr(obj, name, "too many values");
  }
  double v[H5U_MAX_RANK * 4];
  if (n > (hssize_t)(sizeof v / sizeof *v)) {
    H5Aclose(a);
    fail_attr(obj, name, "too many values");
  }
  read_attr_numbers(obj, name, a, v, n);
  H5Aclose(a);
  for (hssize_t i = 0; i < n; i++) out[i] = v[i] != 0;
  return (int)n;
}

int h5_attr_strings(hid_t obj, const char *name, char ***out) {
  hid_t a = open_attr(obj, name);
  hid_t ft = H5Aget_type(a);
  if (H5Tget_class(ft) != H5T_STRING) {
    H5Tclose(ft);
    H5Aclose(a);
    fail_attr(obj, name, "expected a string or a list of strings");
  }
  hssize_t n = attr_points(a);
  char **list = lola_calloc((size_t)(n > 0 ? n : 1), sizeof *list, "attribute strings");
  herr_t err;
  if (H5Tis_variable_str(ft) > 0) {
    hid_t memt = H5Tcopy(H5T_C_S1);
    H5Tset_size(memt, H5T_VARIABLE);
    H5Tset_cset(memt, H5Tget_cset(ft));
    char **raw = lola_calloc((size_t)(n > 0 ? n : 1), sizeof *raw, "attribute strings");
    err = H5Aread(a, memt, raw);
    for (hssize_t i = 0; i < n && err >= 0; i++) list[i] = strdup(raw[i] ? raw[i] : "");
    if (err >= 0) {
      hid_t space = H5Aget_space(a);
      H5Dvlen_reclaim(memt, space, H5P_DEFAULT, raw);
      H5Sclose(space);
    }
    free(raw);
    H5Tclose(memt);
  } else {
    size_t size = H5Tget_size(ft);
    char *raw = lola_calloc((size_t)(n > 0 ? n : 1), size, "attribute strings");
    err = H5Aread(a, ft, raw);
    for (hssize_t i = 0; i < n && err >= 0; i++) list[i] = strndup(raw + (size_t)i * size, size);
    free(raw);
  }
  H5Tclose(ft);
  H5Aclose(a);
  if (err < 0) {
    free(list);
    fail_attr(obj, name, "read failed");
  }
  *out = list;
  return (int)n;
}

void h5_free_strings(char **list, int count) {
  for (int i = 0; i < count; i++) free(list[i]);
  free(list);
}

char *h5_attr_string(hid_t obj, const char *name) {
  char **list;
  int n = h5_attr_strings(obj, name, &list);
  if (n != 1) {
    h5_free_strings(list, n);
    fail_attr(obj, name, "expected a single string");
  }
  char *s = list[0];
  free(list);
  return s;
}

/* ---- writers ---- */

hid_t h5_bool_type(void) {
  h5_init();
  if (bool_type < 0) {
    bool_type = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t f = 0, t = 1;
    H5Tenum_insert(bool_type, "FALSE", &f);
    H5Tenum_insert(bool_type, "TRUE", &t);
  }
  return bool_type;
}

hid_t h5_vlen_string_type(void) {
  h5_init();
  if (vstr_type < 0) {
    vstr_type = H5Tcopy(H5T_C_S1);
    H5Tset_size(vstr_type, H5T_VARIABLE);
    H5Tset_cset(vstr_type, H5T_CSET_UTF8);
  }
  return vstr_type;
}

/* count < 0 writes a scalar attribute. */
static void write_attr(hid_t obj, const char *name, hid_t type, int count, const void *data) {
  h5_init();
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  hsize_t dims = (hsize_t)(count > 0 ? count : 0);
  hid_t space = count < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, NULL);
  hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char *none = NULL; /* zero elements: HDF5 still wants a buffer */
  herr_t err = a < 0 ? -1 : H5Awrite(a, type, data ? data : (const void *)&none);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  if (err < 0) fail_attr(obj, name, "cannot write");
}

void h5_attr_write_bool(hid_t obj, const char *name, bool value) {
  int8_t v = value;
  write_attr(obj, name, h5_bool_type(), -1, &v);
}

void h5_attr_write_bools(hid_t obj, const char *name, const bool *values, int count) {
  int8_t v[64];
  if (count > 64) fail_attr(obj, name, "too many values");
  for (int i = 0; i < count; i++) v[i] = values[i];
  write_attr(obj, name, h5_bool_type(), count, v);
}

void h5_attr_write_long(hid_t obj, const char *name, long value) {
  int64_t v = value;
  write_attr(obj, name, H5T_NATIVE_INT64, -1, &v);
}

void h5_attr_write_double(hid_t obj, const char *name, double value) {
  write_attr(obj, name, H5T_NATIVE_DOUBLE, -1, &value);
}

void h5_attr_write_string(hid_t obj, const char *name, const char *value) {
  write_attr(obj, name, h5_vlen_string_type(), -1, &value);
}

void h5_attr_write_strings(hid_t obj, const char *name, const char *const *values, int count) {
  write_attr(obj, name, h5_vlen_string_type(), count, values);
}
