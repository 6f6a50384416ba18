/* A model's weights as one safetensors file under the reference's state_dict
 * names: its parameters and its buffers (SineEncoding freqs, ...), kept in two
 * registries so the optimiser never touches buffers. Loading is by name, so
 * a file written by torch (safetensors.torch.save_file(model.state_dict()))
 * loads here and ours loads there with strict=True. */
#ifndef LOLA_MODEL_IO_H
#define LOLA_MODEL_IO_H

#include <stdbool.h>

#include "tensor.h"

/* Write every parameter then every buffer, F32, with metadata pairs {k, v, ..., NULL} or NULL. */
void model_save(const char *path, const param_registry *params, const param_registry *buffers,
                const char *const *metadata);
/* Read by name; a shape mismatch is always fatal (LOLA_EXIT_DATA, naming the
 * file and tensor). strict: a missing tensor, or a file tensor that is neither
 * a parameter nor a buffer, is fatal too (torch's strict load_state_dict);
 * otherwise each is a warning. `what` names the model in messages. Returns the
 * number of tensors loaded. */
int model_load(const char *path, param_registry *params, param_registry *buffers, bool strict,
               const char *what);

#endif
