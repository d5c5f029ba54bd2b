#!/usr/bin/env bash
# `predict` against the paper code's model forward in Python on the same windows, checkpoint and
# batch, libtorch on one thread each: windows per second. Ours is the whole of `predict` after the model is
# loaded (decode, resample, fbank on a second thread, forward); theirs the forward passes alone.
#   scripts/bench_predict.sh <bin-dir> [minutes]      (prints one line: ours theirs; details on stderr)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release}
MINUTES=${2:-10}
WORK=${WORK:-/tmp/respcache-bench}/predict
CKPT=../shared/golden/checkpoints/official_patchmix_cl_best.pth
mkdir -p "$WORK"
WAV="$WORK/rec-${MINUTES}min.wav"
if [ ! -f "$WAV" ]; then
  /usr/bin/python3 - "$WAV" "$MINUTES" <<'PY'
import sys, wave, numpy as np
rng = np.random.default_rng(0)
w = wave.open(sys.argv[1], 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(44100)
for _ in range(int(sys.argv[2])):
    t = np.arange(44100 * 60) / 44100
    x = 0.1 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(t.size)
    w.writeframes((x * 32767).astype('<i2').tobytes())
w.close()
PY
fi
"$BIN/predict" --checkpoint "$CKPT" --heads 4 --threads 1 --batch-size 8 --output "$WORK/predict.csv" "$WAV" > "$WORK/predict.log" 2>&1
grep "spans/s" "$WORK/predict.log" >&2
ours=$(sed -n 's/.*(\([0-9.]*\) spans\/s.*/\1/p' "$WORK/predict.log")
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/bench_predict.py "$WAV" "$CKPT" --heads 4 --batch-size 8 --threads 1 \
  --compare "$WORK/predict.csv" | tee "$WORK/python.json" >&2
theirs=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["windows_per_s"])' "$WORK/python.json")
echo "$ours $theirs"
