/* Sums of a few host values over ranks (losses, counts). Gradients are
 * averaged by parallel/grad_sync.h, overlapped with the backward. */
#ifndef LOLA_ALLREDUCE_H
#define LOLA_ALLREDUCE_H

/* v[0..n) <- sum over ranks of v[0..n), in place. */
void allreduce_sum_doubles(double *v, int n);

#endif
