/* Threads per rank. OMP_NUM_THREADS wins when set; otherwise a rank uses the CPUs
 * its launcher bound it to, or, when unbound, an even share of the node's CPUs,
 * so that N ranks on one node never oversubscribe it by default. */
#ifndef LOLA_THREADS_H
#define LOLA_THREADS_H

/* Call after comm_init. Sets OpenMP's and OpenBLAS's thread counts; returns it. */
int threads_init(void);

#endif
