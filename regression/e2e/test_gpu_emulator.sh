#!/usr/bin/env bash
# The CUDA backend run whole without a GPU: lola built for the CUDA emulator
# (make emu: every kernel of kernels/cuda compiled for the CPU, cuBLAS and NCCL
# stood in for, regression/gpu/emu) trains the four stages on 2 ranks, one
# emulated GPU each, gradients averaged through the NCCL calls. In fp32 (with
# the AdamW moments sharded) its weights are the CPU's to rounding; in bf16
# (the default precision) to the rounding of bf16 products. The eval stage of
# that run gives the CPU's scores on them too.
# Needs LOLA_EMU (build/emu/lola, which make check builds where the CUDA
# toolkit's headers are); without it there is nothing to run.
cd "$(dirname "$0")/../.."
source regression/e2e/lib.sh
source regression/e2e/train_lib.sh
E2E_NAME=gpu_emulator

if [ ! -x "${LOLA_EMU:-}" ]; then
  echo "gpu_emulator: no emulator build (LOLA_EMU unset: make emu builds build/emu/lola); nothing to run"
  finish
  exit
fi
export LOLA_EMU_DEVICES=2

train_data && ok "tiny Euler data" || fail "tiny Euler data"
expect "info: one emulated GPU per rank" 0 "rank   1 .*GPU 1: CUDA emulator" -- \
  $MPIRUN -np 2 "$LOLA_EMU" $TRAIN_DECK 'stages=["info"]' run.dir=$E2E_TMP/info
expect "pipeline on 2 ranks, CPU" 0 "train_diffusion: final validation loss" -- $(pipeline_cmd $E2E_TMP/cpu 2)
opts=""
for s in train_ae train_surrogate train_diffusion; do opts="$opts $s.train.shard_optimizer=true"; done
expect "pipeline on 2 emulated GPUs, fp32, sharded moments" 0 \
  "train_diffusion: AdamW moments sharded over 2 ranks" -- $(LOLA=$LOLA_EMU pipeline_cmd $E2E_TMP/fp32 2 run.precision=fp32 $opts)
expect "pipeline on 2 emulated GPUs, bf16" 0 "train_diffusion: final validation loss" -- \
  $(LOLA=$LOLA_EMU pipeline_cmd $E2E_TMP/bf16 2)
for s in train_ae train_surrogate train_diffusion; do
  same_weights "$s: emulated GPUs fp32 = CPU" $E2E_TMP/cpu/$s/last/model.safetensors \
    $E2E_TMP/fp32/$s/last/model.safetensors 1e-5
  same_weights "$s: emulated GPUs bf16 = CPU to bf16 rounding" $E2E_TMP/cpu/$s/last/model.safetensors \
    $E2E_TMP/bf16/$s/last/model.safetensors 1e-2
done
# Evaluation (rollouts of both emulators, distributed ensembles, scores) of the
# CPU-trained run, on the CPU and on 2 emulated GPUs in fp32: the same table.
expect "eval on 2 ranks, CPU" 0 "eval: scores in" -- \
  $MPIRUN -np 2 "$LOLA" regression/e2e/fixtures/eval/eval.cfg run.dir=$E2E_TMP/eval_cpu eval.run=$E2E_TMP/cpu
expect "eval on 2 emulated GPUs, fp32" 0 "eval: scores in" -- $MPIRUN -np 2 "$LOLA_EMU" \
  regression/e2e/fixtures/eval/eval.cfg run.dir=$E2E_TMP/eval_gpu eval.run=$E2E_TMP/cpu run.precision=fp32
if out=$($PY regression/e2e/stats_diff.py $E2E_TMP/eval_cpu/eval/stats.csv $E2E_TMP/eval_gpu/eval/stats.csv 1e-4 2>&1); then
  ok "eval: emulated GPUs fp32 = CPU ($out)"
else
  fail "eval: emulated GPUs fp32 = CPU" "$out"
fi
finish
