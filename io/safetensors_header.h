/* The JSON header of a safetensors file: parsing and validation (internal to
 * io/safetensors*.c). */
#ifndef LOLA_SAFETENSORS_HEADER_H
#define LOLA_SAFETENSORS_HEADER_H

#include "safetensors.h"

/* Parse the header json[0..len) of f->path into f->tensors and f->meta_*, and
 * check every tensor against a data section of `data_size` bytes. */
void st_parse_header(st_file *f, const char *json, size_t len, size_t data_size);

#endif
