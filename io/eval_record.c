#include "eval_record.h"

#include <hdf5.h>
#include <stdlib.h>

#include "../src/error.h"
#include "atomic_file.h"
#include "h5util.h"

static void write_dataset(hid_t file, const char *tmp, const char *name, int rank, const hsize_t *dims,
                          const float *data) {
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t set = H5Dcreate2(file, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (set < 0 || H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    h5_fail(file, tmp, "cannot write dataset '%s'", name);
  H5Dclose(set);
  H5Sclose(space);
}

void eval_record_write(const char *path, const eval_record_layout *lay, const float *truth,
                       const float *members) {
  char *tmp = atomic_temp_name(path);
  h5_lock();
  hid_t f = h5_create(tmp, MPI_COMM_NULL);
  hsize_t dims[6];
  int r = 0;
  dims[r++] = (hsize_t)lay->members;
  dims[r++] = (hsize_t)lay->C;
  dims[r++] = (hsize_t)lay->L;
  for (int k = 0; k < lay->ndims; k++) dims[r++] = (hsize_t)lay->shape[k];
  write_dataset(f, tmp, "truth", r - 1, dims + 1, truth);
  write_dataset(f, tmp, "members", r, dims, members);
  h5_attr_write_string(f, "method", lay->method);
  h5_attr_write_long(f, "index", lay->index);
  h5_attr_write_long(f, "start", lay->start);
  h5_attr_write_long(f, "stride", lay->stride);
  h5_attr_write_long(f, "context", lay->context);
  if (lay->fields) h5_attr_write_strings(f, "fields", lay->fields, lay->C);
  h5_close_file(f);
  h5_unlock();
  atomic_rename(tmp, path);
  free(tmp);
}
