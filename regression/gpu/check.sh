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
# One deadline for everything (the machine's command limit is 600 s): each part
# gets its own limit, cut to what is left, and the PyTorch step takes the rest.
end=$((SECONDS + ${CHECK_SECONDS:-560}))
left() { local l=$((end - SECONDS)); [ "$1" -lt "$l" ] && l=$1; [ "$l" -lt 1 ] && l=1; echo "$l"; }
gpus=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null)
echo "${gpus:-nvidia-smi lists no GPU}"
# With a GPU listed, a program that finds no usable device fails (exit 3) instead of passing.
[ -n "$gpus" ] && export LOLA_GPU_REQUIRED=1
bundle=build/gpu-bundle
if [ ! -x "$bundle/check_step" ]; then
  echo "check: no prebuilt bundle; building here (needs the Debian packages of make deps)"
  bash regression/gpu/prepare.sh || exit 1
fi
echo "bundle built from $(cat "$bundle/COMMIT" 2>/dev/null || echo "an unknown commit")"
# The bundled libraries travel compressed: unpack them once.
unpacked=${TMPDIR:-/tmp}/lola-gpu-lib
mkdir -p "$unpacked"
python3 - "$bundle/lib" "$unpacked" <<'PY'
import lzma, pathlib, sys
for f in pathlib.Path(sys.argv[1]).glob("*.xz"):
    (pathlib.Path(sys.argv[2]) / f.stem).write_bytes(lzma.decompress(f.read_bytes()))
PY
# CUDA libraries: the toolkit's, else the ones PyTorch's wheels carry. Only the
# C programs get this path: PyTorch keeps its own libraries.
libs=$unpacked:$PWD/$bundle/lib
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib; do [ -d "$d" ] && libs=$libs:$d; done
pylibs=$(python3 -c 'import glob, os, nvidia; r = os.path.dirname(nvidia.__path__[0] + "/x"); print(":".join(sorted({os.path.dirname(p) for p in glob.glob(r + "/**/lib*.so*", recursive=True)})))' 2>/dev/null)
[ -n "$pylibs" ] && libs=$libs:$pylibs
libs=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
missing=$(env LD_LIBRARY_PATH="$libs" ldd "$bundle/check_step" 2>&1 | grep 'not found')
[ -n "$missing" ] && echo "check: libraries not found:" && echo "$missing"
status=0
summary=""
# run NAME LIMIT COMMAND...: one part under its limit; its result joins the summary.
run() {
  local name=$1 limit t0=$SECONDS rc
  limit=$(left "$2")
  shift 2
  echo "== $name (limit ${limit} s)"
  timeout -k 5 "$limit" "$@"
  rc=$?
  case $rc in
  0) summary="$summary $name:ok($((SECONDS - t0))s)" ;;
  124 | 137)
    echo "$name: timed out after $limit s"
    summary="$summary $name:TIMEOUT($((SECONDS - t0))s)" status=1
    ;;
  *)
    echo "$name: FAILED (exit $rc)"
    summary="$summary $name:FAILED(exit $rc)" status=1
    ;;
  esac
  echo
}
for part in check_kernels:50 check_kernels_conv:60 check_kernels_sampler:30 check_attention_tc:60 check_step:120; do
  p=${part%%:*}
  run "$p" "${part##*:}" env LD_LIBRARY_PATH="$libs" "$bundle/$p" --bench
done
if torch_err=$(python3 -c 'import torch; assert torch.cuda.is_available(), "torch sees no GPU"' 2>&1); then
  export PYTHONUNBUFFERED=1
  run torch_bench 50 python3 regression/gpu/torch_bench.py
  run torch_step 300 python3 regression/gpu/torch_step.py
else
  echo "torch: skipped: ${torch_err##*$'\n'}"
  summary="$summary torch:SKIPPED"
  [ -n "$gpus" ] && status=1
fi
echo "summary:$summary"
exit $status
