#!/usr/bin/env bash
# Acceptance run (not a test; minutes of CPU): an ICBHI-shaped SYNTHETIC corpus (`prep synth`,
# crackles and wheezes audible) -> `prep ingest` -> `prep features` -> `train` a small preset
# from scratch. Reports the untrained model's score (learning rate 0) and the trained one's.
#
#   scripts/train_synthetic.sh [work-dir]      RECORDINGS=400 EPOCHS=3 MODEL=ast-tiny
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/train-synthetic}
RECORDINGS=${RECORDINGS:-400}
EPOCHS=${EPOCHS:-3}
MODEL=${MODEL:-ast-tiny}
swift build -c release --product prep >&2
swift build -c release --product train >&2
BIN=.build/release
rm -rf "$WORK" && mkdir -p "$WORK"
$BIN/prep synth --out "$WORK/corpus" --recordings "$RECORDINGS" --sample-rate-override 16000
$BIN/prep ingest "$WORK/corpus" --cache "$WORK/cache" --manifests "$WORK/manifests"
$BIN/prep features --cache "$WORK/cache" --manifests "$WORK/manifests" --name paper
$BIN/train --shards "$WORK/cache/paper" --model "$MODEL" --epochs 1 --lr 0 --output "$WORK/untrained" | tee "$WORK/untrained.log"
$BIN/train --shards "$WORK/cache/paper" --model "$MODEL" --epochs "$EPOCHS" --output "$WORK/run" | tee "$WORK/train.log"
/usr/bin/python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
untrained = [json.loads(l) for l in open(w + '/untrained/log.jsonl')][-1]
runs = [json.loads(l) for l in open(w + '/run/log.jsonl')]
best = max((r for r in runs if r['sensitivity'] > 5), key=lambda r: r['score'], default=None)
print(f"untrained: score {untrained['score']:.2f} (Sp {untrained['specificity']:.2f}, Se {untrained['sensitivity']:.2f})")
for r in runs:
    print(f"epoch {r['epoch']}: score {r['score']:.2f} (Sp {r['specificity']:.2f}, Se {r['sensitivity']:.2f}), {r['trainSeconds']:.0f} s train, data wait {100 * r['dataWaitFraction']:.1f}%")
ok = best is not None and best['score'] >= 80 and untrained['score'] < 80
print('PASS' if ok else 'FAIL', '(goal: best score >= 80, untrained < 80)')
sys.exit(0 if ok else 1)
PY
