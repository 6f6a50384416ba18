/* K_CLONES compiles a hot function for AVX-512, AVX2 and baseline x86-64 and
 * picks one when the program loads (GCC/Clang function multiversioning), so
 * the build's portable -march still gets wide vectors where the CPU has them.
 * Private to kernels/cpu; a no-op elsewhere and under AddressSanitizer. */
#ifndef LOLA_K_TARGET_CLONES_H
#define LOLA_K_TARGET_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define K_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define K_CLONES
#endif

#endif
