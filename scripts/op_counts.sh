#!/usr/bin/env bash
# Operator calls per training step, before and after the foreach optimizer phase (docs/gpu.md),
# counted with libtorch's RecordFunction callbacks (what torch.profiler records; outermost calls).
# "Before" is the per-tensor optimizer phase the foreach one replaced, kept as a reference
# (ct_model_use_reference_optimizer / CTORCH_REFERENCE_OPTIMIZER=1).
#
#   scripts/op_counts.sh          ast-base's 161 parameter tensors with a short input (operator
#                                 counts do not depend on the input's length): one --amp and one
#                                 fp32 patchmix_cl step each way (OptimizerPhaseTests, OP_COUNTS=1;
#                                 after `swift build --build-tests`)
#   FULL=1 scripts/op_counts.sh   the same from `train --shards random --benchmark-steps 1` at the
#                                 full input size, its JSON's operatorCalls (slow on a CPU)
#       MODEL=ast-base METHOD=patchmix_cl AMP=--amp BATCH=2 DEVICE=cpu TRAIN=.build/debug/train
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${FULL:-0}" != 1 ]; then
  out=$(OP_COUNTS=1 ${SWIFT:-swift} test --skip-build --filter 'OptimizerPhaseTests/testAstBaseOperatorCallsPerStep' 2>&1) || {
    echo "$out" | tail -20; echo "op_counts: FAIL"; exit 1; }
  echo "$out" | grep '^ast-base, '
  exit 0
fi
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
