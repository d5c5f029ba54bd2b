#!/usr/bin/env bash
# GPU smoke run (not a test): builds `train` against a CUDA libtorch (PyPI's torch wheel, see
# scripts/libtorch_wheel.sh) and runs 20 training steps of ast-base with --amp at batch 8 on
# random data, next to the same 20 steps in Python PyTorch with the paper's autocast +
# GradScaler (scripts/bench_train.py, same wheel), in one run: ms per step and the caching
# allocator's peak memory (max_memory_allocated / max_memory_reserved) for each.
#
#   scripts/gpu_smoke.sh                         STEPS=20 BATCH=8 MODEL=ast-base
#   DEVICE=cpu MODEL=ast-tiny STEPS=2 BATCH=2 CONFIG=debug SCRATCH=.build-libtorch2 scripts/gpu_smoke.sh
#                                                dry run of the script itself on CPU (bfloat16), no GPU claim
#
# Without an NVIDIA driver or GPU it stops at once with one line saying so and exits 2. With one,
# it picks the torch wheel whose CUDA build the driver supports (scripts/torch_wheel_for_driver.sh,
# TORCH_WHEEL_VERSION=... overrides) and installs what it needs (python3-venv, the wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-20}
BATCH=${BATCH:-8}
MODEL=${MODEL:-ast-base}
DEVICE=${DEVICE:-cuda}
CONFIG=${CONFIG:-release}
SWIFT=${SWIFT:-swift}
SCRATCH=${SCRATCH:-.build-libtorch2-$CONFIG}

# The driver first: nvidia-smi lists the GPUs and says which CUDA the driver supports, and
# that decides the wheel (scripts/torch_wheel_for_driver.sh; TORCH_WHEEL_VERSION overrides).
if [ "$DEVICE" = cpu ]; then
  echo "gpu_smoke: DEVICE=cpu: a dry run of this script on CPU, not a GPU measurement"
else
  if ! command -v "${NVIDIA_SMI:-nvidia-smi}" >/dev/null; then
    echo "gpu_smoke: no nvidia-smi on this machine (no NVIDIA driver installed, or not visible in this container): nothing built or run"
    exit 2
  fi
  gpus=$("${NVIDIA_SMI:-nvidia-smi}" -L 2>/dev/null | grep -c '^GPU ' || true)
  if [ "${gpus:-0}" -eq 0 ]; then
    echo "gpu_smoke: nvidia-smi lists no GPU: nothing built or run"
    exit 2
  fi
  "${NVIDIA_SMI:-nvidia-smi}" -L | head -1
  source scripts/torch_wheel_for_driver.sh || exit 1
fi
# The wheel goes into a virtual environment: python3-venv (Debian splits it off).
python3 -c 'import ensurepip, venv' 2>/dev/null || {
  echo "gpu_smoke: installing python3-venv" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >&2
}

source scripts/libtorch_wheel.sh
[ "$DEVICE" = cpu ] || [ -e "$LIBTORCH_DIR/lib/libtorch_cuda.so" ] ||
  { echo "gpu_smoke: libtorch $TORCH_LABEL at $LIBTORCH_DIR has no libtorch_cuda.so: not a CUDA build"; exit 1; }
if [ "$DEVICE" != cpu ] && ! "$TORCH_PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "gpu_smoke: torch $TORCH_LABEL sees no usable GPU: the wheel is a CUDA ${TORCH_WHEEL_CUDA:-?} build, the driver ${DRIVER_VERSION:-?} supports CUDA ${DRIVER_CUDA:-?}"
  exit 1
fi
"$TORCH_PYTHON" -c 'import numpy' 2>/dev/null || "$TORCH_PYTHON" -m pip install --quiet --disable-pip-version-check numpy
echo "gpu_smoke: libtorch $TORCH_LABEL; building train in $SCRATCH" >&2
"$SWIFT" build -c "$CONFIG" --scratch-path "$SCRATCH" --product train >&2
BIN=$SCRATCH/$CONFIG/train

out=$(mktemp)
trap 'rm -f "$out" "$out.swift" "$out.python"' EXIT
# Separate processes, one after the other, so that each allocator's peak is its own.
if ! "$BIN" --shards random --model "$MODEL" --batch-size "$BATCH" --benchmark-steps "$STEPS" --device "$DEVICE" --amp \
    --no-spec-augment >"$out.swift"; then
  echo "gpu_smoke: the Swift trainer failed on $DEVICE (see above)"; exit 1
fi
if ! "$TORCH_PYTHON" scripts/bench_train.py --model "$MODEL" --batch-size "$BATCH" --steps "$STEPS" --device "$DEVICE" --amp \
    >"$out.python"; then
  echo "gpu_smoke: the Python reference failed on $DEVICE (see above)"; exit 1
fi
"$TORCH_PYTHON" - "$out.swift" "$out.python" <<'PY'
import json, sys
rows = [("swift (CTorch)", json.load(open(sys.argv[1]))), ("python (PyTorch)", json.load(open(sys.argv[2])))]
def mib(v):
    return f"{v:.0f}" if v is not None else "n/a"
print(f"{'impl':18} {'preset':9} {'batch':>5} {'steps':>5} {'compute':>9} {'ms/step':>9} {'peak alloc MiB':>15} {'peak reserved MiB':>18} {'loss scale':>11}  torch")
for name, r in rows:
    print(f"{name:18} {r['preset']:9} {r['batchSize']:>5} {r['steps']:>5} {r.get('computeType', '?'):>9} {r['msPerStep']:>9.1f} "
          f"{mib(r.get('peakAllocatedMiB')):>15} {mib(r.get('peakReservedMiB')):>18} {str(r.get('lossScale')):>11}  {r['torch']}")
s, p = rows[0][1], rows[1][1]
print(f"swift/python: {s['msPerStep'] / p['msPerStep']:.3f} time per step"
      + (f", {s['peakAllocatedMiB'] / p['peakAllocatedMiB']:.3f} peak allocated memory" if s.get('peakAllocatedMiB') and p.get('peakAllocatedMiB') else ""))
PY
