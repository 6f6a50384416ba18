#!/usr/bin/env bash
# Build the GPU checks here and bundle them with the CPU-side libraries they
# need, for GPU machines that have the CUDA driver and libraries but none of
# our Debian packages:  bash regression/gpu/prepare.sh  ->  build/gpu-bundle/
set -euo pipefail
cd "$(dirname "$0")/../.."
programs="check_kernels check_kernels_conv check_kernels_sampler check_attention_tc check_step"
make CUDA=1 BUILD=build/cuda -j"$(nproc)" $(for p in $programs; do echo build/cuda/gpu/$p; done)
out=build/gpu-bundle
rm -rf "$out"
mkdir -p "$out/lib"
for p in $programs; do
  cp build/cuda/gpu/$p "$out/"
  strip --strip-debug "$out/$p" # the bundle travels within a size limit
  # Everything that is neither glibc nor CUDA travels along.
  ldd build/cuda/gpu/$p | awk '/=>/ {print $3}' |
    grep -vE '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|cuda|libcublas|libnccl|libcudart' |
    while read -r lib; do cp -L "$lib" "$out/lib/"; done
done
# The commit the bundle was built from, printed by check.sh (a stale bundle shows).
{ git rev-parse --short HEAD 2>/dev/null || echo unknown; } >"$out/COMMIT"
git diff --quiet HEAD 2>/dev/null || echo "with uncommitted changes" >>"$out/COMMIT"
# Compressed: the bundle travels within a size limit (check.sh unpacks them).
for lib in "$out"/lib/*.so*; do xz -T0 -6 "$lib"; done
du -sh "$out"
