#!/usr/bin/env bash
# `make bench`: every benchmark, ours next to the reference measured in the same run, as one table.
#   scripts/bench.sh <bin-dir> [all|pipeline]     (CORPUS=dir reuses a synthesised corpus)
# Not a test: takes minutes, needs python3-torchaudio + libopenblas0-pthread (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release}
WHAT=${2:-all}
WORK=${WORK:-/tmp/respcache-bench}
CORPUS=${CORPUS:-$WORK/corpus}
REF=../shared/tools/ref_pipeline.py
PY=/usr/bin/python3
need=()
for p in python3-torchaudio libopenblas0-pthread time; do
  dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q "ok installed" || need+=($p)
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
export OPENBLAS_NUM_THREADS=1
mkdir -p "$WORK"
rows="$WORK/rows.tsv"; : > "$rows"
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$rows"; }   # name ours ref unit peak-MB

# /usr/bin/time -v: wall seconds and peak RSS of one command.
timed() { /usr/bin/time -v "$@" 2> "$WORK/time.log" > "$WORK/out.log" || { cat "$WORK/out.log" "$WORK/time.log" >&2; exit 1; }
  wall=$(awk -F': ' '/Elapsed/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$WORK/time.log")
  peak=$(awk -F': ' '/Maximum resident/ { printf "%d", $2 / 1024 }' "$WORK/time.log"); }

if [ "$WHAT" = all ]; then
  echo "== fbank, one 8 s cycle, one thread" >&2
  "$BIN/bench" fbank | tee "$WORK/fbank.log" >&2
  ours=$(awk '/ours \(KaldiFbank/ { for (i = 1; i <= NF; i++) if ($i == "median") print $(i+1) }' "$WORK/fbank.log")
  ref=$(awk '/torchaudio compliance/ { for (i = 1; i <= NF; i++) if ($i == "median") print $(i+1) }' "$WORK/fbank.log")
  row "fbank per 8 s cycle (1 thread)" "$ours" "${ref:-nan}" ms ""
  echo "== resamplers" >&2
  "$BIN/bench" resample | tee "$WORK/resample.log" >&2
fi

echo "== pipeline on the full-scale synthetic corpus (920 recordings, 5.4 h)" >&2
if [ ! -f "$CORPUS/README.txt" ]; then "$BIN/prep" synth --out "$CORPUS" --seed 1 >&2; fi
timed $PY "$REF" "$CORPUS" - ; ref_all=$wall; ref_peak=$peak
REF_STAGE=ingest timed $PY "$REF" "$CORPUS" - ; ref_ingest=$wall
for resampler in reference sinc-fastest sinc-medium sinc-best; do
  for jobs in $(nproc) 1; do
    [ "$resampler" != reference ] && [ "$jobs" = 1 ] && continue
    rm -rf "$WORK/cache" "$WORK/manifests"
    timed "$BIN/prep" ingest "$CORPUS" --resampler $resampler --jobs $jobs --cache "$WORK/cache" --manifests "$WORK/manifests"
    ingest=$wall; ingest_peak=$peak
    row "ingest, $resampler, --jobs $jobs" "$ingest" "$ref_ingest" s "$ingest_peak"
    if [ "$jobs" != 1 ]; then
      timed "$BIN/prep" features --jobs $jobs --cache "$WORK/cache" --manifests "$WORK/manifests"
      total=$(awk -v a="$ingest" -v b="$wall" 'BEGIN { print a + b }')
      row "ingest + features, $resampler, --jobs $jobs" "$total" "$ref_all" s "$(( peak > ingest_peak ? peak : ingest_peak ))"
    fi
  done
done
rm -rf "$WORK/cache" "$WORK/manifests"

if [ "$WHAT" = all ]; then
  echo "== training step, batch 8" >&2
  ROUNDS=2 STEPS=5 bash scripts/bench_train.sh ast-tiny | tee "$WORK/train.log" >&2 || true
fi

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "reference: $REF (torchaudio $($PY -c 'import torchaudio; print(torchaudio.__version__)'), one thread, OpenBLAS)"
printf '%-44s %12s %12s %8s %10s\n' benchmark ours reference ratio "peak MB"
awk -F'\t' '{ ratio = ($2 > 0 && $3 != "nan") ? sprintf("%.1fx", $3 / $2) : "-";
  printf "%-44s %9.3f %-2s %9.3f %-2s %8s %10s\n", $1, $2, $4, $3, $4, ratio, $5 }' "$rows"
[ -f "$WORK/train.log" ] && { echo; echo "training step (ms/step, from scripts/bench_train.sh):"; tail -n 8 "$WORK/train.log"; }
echo "ratio = reference time / our time (higher is better). Reproduce: make bench"
