#!/usr/bin/env bash
# The GPU check, in one go (well under 5 minutes on an H200): every CUDA kernel
# against its CPU twin (forward and backward, tolerances per kernel and
# precision), then the GPU figures and the same operations in PyTorch (bf16
# autocast, torch.compile) for the ratios.
#   here:        bash regression/gpu/prepare.sh      (builds build/gpu-bundle)
#   GPU machine: bash regression/gpu/check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
bundle=build/gpu-bundle
if [ ! -x "$bundle/check_kernels" ]; then
  echo "check: no prebuilt bundle; building here (needs the Debian packages of make deps)"
  bash regression/gpu/prepare.sh || exit 1
fi
# CUDA libraries: the toolkit's, else the ones PyTorch's wheels carry.
libs=$PWD/$bundle/lib
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib; do [ -d "$d" ] && libs=$libs:$d; done
pylibs=$(python3 -c 'import glob, os, nvidia; r = os.path.dirname(nvidia.__path__[0] + "/x"); print(":".join(sorted({os.path.dirname(p) for p in glob.glob(r + "/**/lib*.so*", recursive=True)})))' 2>/dev/null)
[ -n "$pylibs" ] && libs=$libs:$pylibs
status=0
LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$bundle/check_kernels" --bench || status=1
echo
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  python3 regression/gpu/torch_bench.py || status=1
else
  echo "torch_bench: skipped (no PyTorch with CUDA here)"
fi
exit $status
