#!/usr/bin/env bash
# Benchmark (not a test): ms per training step, batch 8, Swift `train` (libtorch via CTorch) next to
# the same model and objective in Python PyTorch (scripts/bench_train.py, Debian python3-torch =
# the same libtorch 1.13), interleaved round by round so both see the same machine load.
#
#   scripts/bench_train.sh [preset ...]      default: ast-tiny ast-base
#   ROUNDS=3 STEPS=5 THREADS=2 BATCH=8 scripts/bench_train.sh ast-small
#
# Reports min and median ms/step per implementation, the Swift/Python ratio of the minima,
# and the Swift loader's data wait per step (with SpecAugment on, as in training).
#
# METHODS (default "sgscl dat") also times `train --method M --ma-beta 0.5` next to one step of the
# SG-SCL repository's own main.train (scripts/bench_sgscl.py, same model size and batch shape),
# given a checkout of that repository in SGSCL_REPO (default .build/sgscl-repo; skipped with a
# note when absent) and timm 0.4.5 in .build/sgscl-python (installed from PyPI when missing).
# BIN=path/to/train skips the build.
# Needs libopenblas0-pthread (Debian's reference BLAS is ~25x slower for matmul).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-5}
THREADS=${THREADS:-$(nproc)}
BATCH=${BATCH:-8}
PY=/usr/bin/python3
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(ast-tiny ast-base)
dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "ok installed" ||
  echo "warning: libopenblas0-pthread is not installed: timings use the reference BLAS" >&2
if [ -z "${BIN:-}" ]; then
  swift build -c release --scratch-path .build-torch --product train >&2
  BIN=.build-torch/release/train
fi
METHODS=${METHODS-sgscl dat}
SGSCL_REPO=${SGSCL_REPO:-.build/sgscl-repo}
SGSCL_PY=.build/sgscl-python
if [ -n "$METHODS" ]; then
  if [ ! -f "$SGSCL_REPO/main.py" ]; then
    echo "skipping $METHODS: no SG-SCL checkout in $SGSCL_REPO (git clone https://github.com/kaen2891/stethoscope-guided_supervised_contrastive_learning $SGSCL_REPO)" >&2
    METHODS=""
  elif [ ! -d "$SGSCL_PY/timm" ]; then
    $PY -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$SGSCL_PY" timm==0.4.5 wget >&2
  fi
fi
export OPENBLAS_NUM_THREADS=1
out=$(mktemp)
avail_gb=$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
for preset in "${presets[@]}"; do
  steps=$STEPS
  # ast-base at batch 8 keeps about 24 GB of activations (two forward passes of 950 tokens x 12 blocks).
  if [ "$preset" = ast-base ] && [ "$avail_gb" -lt $((30 * BATCH / 8)) ]; then
    echo "skipping ast-base: needs about $((30 * BATCH / 8)) GB of free memory for batch $BATCH, ${avail_gb} GB available" >&2
    continue
  fi
  for r in $(seq "$ROUNDS"); do
    echo "round $r/$ROUNDS $preset" >&2
    $BIN --shards random --model "$preset" --batch-size "$BATCH" --benchmark-steps "$steps" --threads "$THREADS" |
      sed "s/^/swift $preset /" >>"$out"
    $BIN --shards random --model "$preset" --batch-size "$BATCH" --benchmark-steps "$steps" --threads "$THREADS" --no-spec-augment |
      sed "s/^/swift-noaug $preset /" >>"$out"
    $PY scripts/bench_train.py --model "$preset" --batch-size "$BATCH" --steps "$steps" --threads "$THREADS" |
      sed "s/^/python $preset /" >>"$out"
    for m in $METHODS; do
      $BIN --shards random --model "$preset" --method "$m" --ma-beta 0.5 --batch-size "$BATCH" --benchmark-steps "$steps" \
        --threads "$THREADS" | sed "s/^/swift-$m $preset /" >>"$out"
      PYTHONPATH=$SGSCL_PY $PY scripts/bench_sgscl.py --repo "$SGSCL_REPO" --method "$m" --model "$preset" --batch-size "$BATCH" \
        --steps "$steps" --threads "$THREADS" 2>/dev/null | sed "s/^/python-$m $preset /" >>"$out"
    done
  done
done
$PY - "$out" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    impl, preset, js = line.split(' ', 2)
    rows.setdefault((preset, impl), []).append(json.loads(js))
print(f"{'preset':10} {'impl':12} {'runs':>4} {'min ms/step':>12} {'median':>10} {'min CPU ms/step':>16} {'median':>10} {'data wait ms/step':>18}")
for (preset, impl), rs in sorted(rows.items()):
    ms = [r['msPerStep'] for r in rs]
    cpu = [r['cpuMsPerStep'] for r in rs]
    wait = statistics.median(r.get('dataWaitMsPerStep', 0) for r in rs)
    print(f"{preset:10} {impl:12} {len(rs):>4} {min(ms):>12.1f} {statistics.median(ms):>10.1f} {min(cpu):>16.1f} {statistics.median(cpu):>10.1f} {wait:>18.3f}")
pairs = [('swift', 'python'), ('swift-noaug', 'python')]
pairs += sorted({(i, 'python-' + i[len('swift-'):]) for _, i in rows if i.startswith('swift-') and i != 'swift-noaug'})
for preset in sorted({p for p, _ in rows}):
    for impl, ref in pairs:
        if (preset, impl) in rows and (preset, ref) in rows:
            py = min(r['msPerStep'] for r in rows[(preset, ref)])
            pyc = min(r['cpuMsPerStep'] for r in rows[(preset, ref)])
            sw = min(r['msPerStep'] for r in rows[(preset, impl)])
            swc = min(r['cpuMsPerStep'] for r in rows[(preset, impl)])
            print(f"{preset}: {impl}/{ref} = {sw / py:.3f} wall, {swc / pyc:.3f} CPU (min over rounds)")
PY
rm -f "$out"
