#!/usr/bin/env bash
# Operator calls per training step, before and after the foreach optimizer phase (docs/gpu.md):
# one `train --benchmark-steps` step on random data with the per-tensor optimizer phase
# (CTORCH_REFERENCE_OPTIMIZER=1, the code the foreach one replaced) and one with the foreach
# phase, each counting the libtorch operator calls of one more step (RecordFunction, outermost
# calls, as the profiler sees them). Prints one line per run: all calls and the optimizer phase's.
#
#   scripts/op_counts.sh                     MODEL=ast-base METHOD=patchmix_cl AMP=--amp BATCH=2
#   MODEL=ast-tiny AMP=--no-amp scripts/op_counts.sh
#   TRAIN=.build-libtorch2/debug/train scripts/op_counts.sh        another build (libtorch 2.x)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-ast-base}
METHOD=${METHOD:-patchmix_cl}
AMP=${AMP:---amp}
BATCH=${BATCH:-2}
DEVICE=${DEVICE:-cpu}
TRAIN=${TRAIN:-.build/debug/train}
[ -x "$TRAIN" ] || { echo "op_counts: no $TRAIN (swift build first, or TRAIN=...)"; exit 2; }
for phase in reference foreach; do
  reference=0; [ "$phase" = reference ] && reference=1
  json=$(CTORCH_REFERENCE_OPTIMIZER=$reference "$TRAIN" --shards random --model "$MODEL" --method "$METHOD" \
         --batch-size "$BATCH" --benchmark-steps 1 --threads "${THREADS:-2}" --device "$DEVICE" $AMP 2>/dev/null)
  python3 - "$phase" "$json" <<'PY'
import json, sys
phase, b = sys.argv[1], json.loads(sys.argv[2])
c = b["operatorCalls"]
print(f"{phase:9s} {b['preset']} {b['method']} {b['computeType']} {b['parameters']} parameters, libtorch {b['torch']}: "
      f"{c['total']} operator calls per step, {c['optimizer']} in the optimizer phase")
PY
done
