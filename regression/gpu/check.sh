#!/usr/bin/env bash
# The GPU check, in one go (under 5 minutes on an H200): every CUDA kernel
# against its CPU twin (forward and backward, tolerances per kernel and
# precision), training steps of the demo denoiser on the GPU against the CPU,
# then the GPU figures (kernels, whole training steps) and the same work in
# PyTorch (bf16 autocast, torch.compile) for the ratios.
#   here:        bash regression/gpu/prepare.sh      (builds build/gpu-bundle)
#   GPU machine: bash regression/gpu/check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
bundle=build/gpu-bundle
if [ ! -x "$bundle/check_step" ]; then
  echo "check: no prebuilt bundle; building here (needs the Debian packages of make deps)"
  bash regression/gpu/prepare.sh || exit 1
fi
# The bundled libraries travel compressed: unpack them once.
unpacked=${TMPDIR:-/tmp}/lola-gpu-lib
mkdir -p "$unpacked"
python3 - "$bundle/lib" "$unpacked" <<'PY'
import lzma, pathlib, sys
for f in pathlib.Path(sys.argv[1]).glob("*.xz"):
    (pathlib.Path(sys.argv[2]) / f.stem).write_bytes(lzma.decompress(f.read_bytes()))
PY
# CUDA libraries: the toolkit's, else the ones PyTorch's wheels carry.
libs=$unpacked:$PWD/$bundle/lib
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib; do [ -d "$d" ] && libs=$libs:$d; done
pylibs=$(python3 -c 'import glob, os, nvidia; r = os.path.dirname(nvidia.__path__[0] + "/x"); print(":".join(sorted({os.path.dirname(p) for p in glob.glob(r + "/**/lib*.so*", recursive=True)})))' 2>/dev/null)
[ -n "$pylibs" ] && libs=$libs:$pylibs
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
status=0
# Each part has its own time limit, so one that hangs cannot take the others' time.
for part in check_kernels:50 check_kernels_conv:60 check_kernels_sampler:30 check_attention_tc:60 check_step:120; do
  p=${part%%:*}
  echo "== $p"
  timeout "${part##*:}" "$bundle/$p" --bench || { echo "$p: FAILED (exit $?)"; status=1; }
  echo
done
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  export PYTHONUNBUFFERED=1
  timeout 50 python3 regression/gpu/torch_bench.py || status=1
  timeout 200 python3 regression/gpu/torch_step.py || status=1
else
  echo "torch: skipped (no PyTorch with CUDA here)"
fi
exit $status
