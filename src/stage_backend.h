/* Where a stage's kernels run: run.device ("auto": the rank's GPU when the
 * build has CUDA and one is visible, else the CPU; "cpu"; "cuda"; "emulated":
 * the CPU kernels behind device addresses the host may not touch, a check of
 * the GPU code path without a GPU) and run.precision (the GPU's matrix
 * products). Stages whose GPU path is not written run on the CPU whatever the
 * deck says, and say so. */
#ifndef LOLA_STAGE_BACKEND_H
#define LOLA_STAGE_BACKEND_H

#include "deck.h"
#include "stage.h"

/* Keys run.device and run.precision, {NULL}-terminated, for the run schema. */
extern const deck_key stage_backend_keys[];

/* Collective. Select the backend for `st`, the same on every rank; logs the
 * choice on rank 0. Dies (exit 2, every rank) when run.device = "cuda" and a
 * rank has no GPU; "auto" takes the GPUs only when every rank has one. */
void stage_backend_begin(const deck *d, const stage *st);
/* Back to the CPU between stages. */
void stage_backend_end(void);

#endif
