#!/usr/bin/env bash
# Build the GPU checks here and bundle them with the CPU-side libraries they
# need, for GPU machines that have the CUDA driver and libraries but none of
# our Debian packages:  bash regression/gpu/prepare.sh  ->  build/gpu-bundle/
set -euo pipefail
cd "$(dirname "$0")/../.."
make CUDA=1 BUILD=build/cuda -j"$(nproc)" build/cuda/gpu/check_kernels
out=build/gpu-bundle
rm -rf "$out"
mkdir -p "$out/lib"
cp build/cuda/gpu/check_kernels "$out/"
# Everything that is neither glibc nor CUDA travels along.
ldd build/cuda/gpu/check_kernels | awk '/=>/ {print $3}' |
  grep -vE '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|cuda|libcublas|libnccl|libcudart' |
  while read -r lib; do cp -L "$lib" "$out/lib/"; done
du -sh "$out"
