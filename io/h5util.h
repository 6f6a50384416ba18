/* Small helpers over the HDF5 C API, shared by the Well reader and writer.
 *
 * HDF5's own error stack is silenced; every failure becomes one lola_die
 * (LOLA_EXIT_DATA) message naming the file and the object path at fault, e.g.
 *   "data/train/a.hdf5: /t0_fields/density: expected 4 dimensions, found 3".
 *
 * Attributes follow h5py's conventions so files move both ways with Python:
 * booleans are the enum {FALSE = 0, TRUE = 1} over int8 (integers are accepted
 * when reading), strings are variable-length UTF-8 (fixed-length accepted), and
 * string lists are 1-D arrays of such strings. */
#ifndef LOLA_H5UTIL_H
#define LOLA_H5UTIL_H

#include <hdf5.h>
#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>

enum { H5U_MAX_RANK = 8 };

/* Errors raised by these helpers (and by h5_fail) end the job with
 * lola_die_collective while `on` (every rank reached the same failure reading
 * the same bytes: one message, exit 3 everywhere, no abort banner), and with
 * lola_die (MPI_Abort) otherwise. Returns the previous setting. */
bool h5_errors_collective(bool on);

/* Die with LOLA_EXIT_DATA: "<file>: <object path>: <message>". `obj` may be
 * a file, group, dataset or attribute id, or H5I_INVALID_HID (then `where` is used). */
void h5_fail(hid_t obj, const char *where, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* The HDF5 build is not thread-safe: code that may run beside a helper thread
 * (the prefetching loader) brackets its HDF5 calls with these. Recursive. */
void h5_lock(void);
void h5_unlock(void);

/* Open an existing file read-only. With `comm` != MPI_COMM_NULL it uses the
 * MPI-IO driver and is collective over `comm`; with MPI_COMM_NULL it is a plain
 * POSIX (sec2) open by this process only (safe from a helper thread while no
 * other thread calls HDF5). Dies naming `path` when it is missing, not HDF5 or
 * truncated. */
hid_t h5_open_read(const char *path, MPI_Comm comm);
/* Create (truncate) a file for writing; MPI-IO and collective as above. */
hid_t h5_create(const char *path, MPI_Comm comm);
void h5_close_file(hid_t file);

/* Transfer property lists for H5Dread/H5Dwrite: independent (each rank its own
 * selection) or collective (every rank of the file's communicator calls).
 * H5P_DEFAULT is returned for files opened without MPI. Owned by this module. */
hid_t h5_xfer_independent(void);
hid_t h5_xfer_collective(hid_t file);

/* Does `path` (relative to `loc`, may contain '/') name an existing link? */
bool h5_exists(hid_t loc, const char *path);
/* Open a group / dataset, dying "<file>: <loc path>/<path>: missing group" otherwise. */
hid_t h5_open_group(hid_t loc, const char *path);
hid_t h5_open_dataset(hid_t loc, const char *path);

/* File name and object path of `obj` into caller buffers (for messages). */
const char *h5_file_name(hid_t obj, char *buf, size_t n);
const char *h5_object_path(hid_t obj, char *buf, size_t n);

/* Rank and dimensions of a dataset (dims may be NULL); dies when rank > H5U_MAX_RANK. */
int h5_dataset_shape(hid_t dset, hsize_t *dims);
/* Dies unless the dataset holds 32- or 64-bit IEEE floats (the Well stores float32). */
void h5_require_float(hid_t dset);

/* Read a whole dataset into doubles (count must equal its number of elements). */
void h5_read_all_double(hid_t dset, double *out, size_t count);

/* Attribute readers on any object; each dies naming object and attribute when it
 * is missing or of the wrong kind, except the *_or variants that return `fallback`
 * when the attribute is absent. */
bool h5_attr_exists(hid_t obj, const char *name);
bool h5_attr_bool(hid_t obj, const char *name);
bool h5_attr_bool_or(hid_t obj, const char *name, bool fallback);
long h5_attr_long(hid_t obj, const char *name);
double h5_attr_double(hid_t obj, const char *name);
/* Scalar string (caller frees). A 1-element string array is accepted. */
char *h5_attr_string(hid_t obj, const char *name);
/* List of strings: returns the count, *out an array of malloc'd strings (free
 * with h5_free_strings). A scalar string is a list of one. */
int h5_attr_strings(hid_t obj, const char *name, char ***out);
void h5_free_strings(char **list, int count);
/* Array of booleans (e.g. dim_varying): returns the count (<= max). */
int h5_attr_bools(hid_t obj, const char *name, bool *out, int max);

/* Attribute writers in h5py's conventions (replace an existing attribute). */
void h5_attr_write_bool(hid_t obj, const char *name, bool value);
void h5_attr_write_bools(hid_t obj, const char *name, const bool *values, int count);
void h5_attr_write_long(hid_t obj, const char *name, long value);
void h5_attr_write_double(hid_t obj, const char *name, double value);
void h5_attr_write_string(hid_t obj, const char *name, const char *value);
void h5_attr_write_strings(hid_t obj, const char *name, const char *const *values, int count);

/* The h5py boolean type (enum over int8); owned by this module, do not close. */
hid_t h5_bool_type(void);
/* Variable-length UTF-8 string type; owned by this module, do not close. */
hid_t h5_vlen_string_type(void);

#endif
