#!/usr/bin/env bash
# `make bench`: every benchmark, ours next to the reference measured in the same run, as one table.
#   scripts/bench.sh <bin-dir> [all|pipeline|features|paper|sprsound]     (CORPUS=dir reuses a synthesised corpus)
# `features`: only the `--resampler reference` pipeline rows (ingest, features float32/float16 vs dd).
# `paper`: only the paper code's ICBHIDataset against icbhi_shards.paper's drop-in (scripts/bench_paper.py).
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

# Median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ROUNDS=${ROUNDS:-3}

# The disk's pace: `dd ... conv=fsync` writing `$1` bytes where the cache lives, right after the
# run it is compared with (this VM hands freed memory back to its host, so page-cache writes are
# much slower on fresh pages than on recycled ones: both sides are measured the same way).
ddtime() { local mb=$(( ($1 + 1048575) / 1048576 ))
  /usr/bin/time -f %e -o "$WORK/dd.time" dd if=/dev/zero of="$WORK/dd.out" bs=1M count=$mb conv=fsync 2> /dev/null
  rm -f "$WORK/dd.out"; cat "$WORK/dd.time"; }

# `prep features` ($@ extra options) next to dd for the same bytes, ROUNDS times; sets
# features_s, dd_s (medians), features_bytes, features_peak. The feature set is removed after each round.
features_vs_dd() { local f=() d=()
  for round in $(seq "$ROUNDS"); do
    timed "$BIN/prep" features --cache "$WORK/cache" --manifests "$WORK/manifests" "$@"; f+=("$wall"); features_peak=$peak
    features_bytes=$(du -cb "$WORK"/cache/icbhi-*/*.h5 | tail -1 | cut -f1)
    rm -rf "$WORK"/cache/icbhi-*
    d+=("$(ddtime "$features_bytes")")
    echo "   features $* round $round: ${wall} s for $features_bytes bytes, dd ${d[-1]} s" >&2
  done
  features_s=$(median "${f[@]}"); dd_s=$(median "${d[@]}"); }

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

if [ "$WHAT" != sprsound ] && [ ! -f "$CORPUS/README.txt" ]; then "$BIN/prep" synth --out "$CORPUS" --seed 1 >&2; fi
if [ "$WHAT" != paper ] && [ "$WHAT" != sprsound ]; then
echo "== pipeline on the full-scale synthetic corpus (920 recordings, 5.4 h)" >&2
timed $PY "$REF" "$CORPUS" - ; ref_all=$wall; ref_peak=$peak
REF_STAGE=ingest timed $PY "$REF" "$CORPUS" - ; ref_ingest=$wall
resamplers="reference sinc-fastest sinc-medium sinc-best"
[ "$WHAT" = features ] && resamplers=reference
for resampler in $resamplers; do
  for jobs in $(nproc) 1; do
    [ "$resampler" != reference ] && [ "$jobs" = 1 ] && continue
    rm -rf "$WORK/cache" "$WORK/manifests"
    timed "$BIN/prep" ingest "$CORPUS" --resampler $resampler --jobs $jobs --cache "$WORK/cache" --manifests "$WORK/manifests"
    ingest=$wall; ingest_peak=$peak
    row "ingest, $resampler, --jobs $jobs" "$ingest" "$ref_ingest" s "$ingest_peak"
    if [ "$jobs" != 1 ] && [ "$resampler" = reference ]; then
      # The full-corpus pipeline against the reference and against the disk (median of ROUNDS).
      ingest_bytes=$(du -cb "$WORK/cache" "$WORK/manifests" | tail -1 | cut -f1)
      ingest_dd=$(ddtime "$ingest_bytes")
      features_vs_dd --jobs $jobs
      total=$(awk -v a="$ingest" -v b="$features_s" 'BEGIN { print a + b }')
      row "ingest + features, $resampler, --jobs $jobs" "$total" "$ref_all" s "$(( features_peak > ingest_peak ? features_peak : ingest_peak ))"
      gb=$(awk -v b="$features_bytes" 'BEGIN { printf "%.2f", b / 1e9 }')
      row "features float32 ($gb GB) vs dd conv=fsync" "$features_s" "$dd_s" s "$features_peak"
      row "ingest + features ($(awk -v b="$features_bytes" -v i="$ingest_bytes" 'BEGIN { printf "%.2f", (b + i) / 1e9 }') GB) vs dd" "$total" "$(awk -v a="$ingest_dd" -v b="$dd_s" 'BEGIN { print a + b }')" s ""
      features_vs_dd --jobs $jobs --dtype float16
      total16=$(awk -v a="$ingest" -v b="$features_s" 'BEGIN { print a + b }')
      row "ingest + features float16, $resampler" "$total16" "$ref_all" s "$features_peak"
      row "features float16 ($(awk -v b="$features_bytes" 'BEGIN { printf "%.2f", b / 1e9 }') GB) vs dd conv=fsync" "$features_s" "$dd_s" s "$features_peak"
    elif [ "$jobs" != 1 ]; then
      timed "$BIN/prep" features --jobs $jobs --cache "$WORK/cache" --manifests "$WORK/manifests"
      total=$(awk -v a="$ingest" -v b="$wall" 'BEGIN { print a + b }')
      row "ingest + features, $resampler, --jobs $jobs" "$total" "$ref_all" s "$(( peak > ingest_peak ? peak : ingest_peak ))"
    fi
  done
done
rm -rf "$WORK/cache" "$WORK/manifests"
fi

if [ "$WHAT" = all ] || [ "$WHAT" = sprsound ]; then
  # Issue #22: ingest + features of the full-scale synthetic SPRSound (2,683 recordings, events
  # and record items) against scripts/ref_sprsound.py (same steps, torchaudio, one thread).
  SPR=${SPR_CORPUS:-$WORK/sprsound}
  if [ ! -f "$SPR/README.txt" ]; then "$BIN/prep" synth --corpus sprsound --full-scale --annotations "${SPR_ANNOTATIONS:-../shared/sprsound/annotations}" --out "$SPR" --seed 1 >&2; fi
  echo "== SPRSound pipeline on the full-scale synthetic corpus" >&2
  timed $PY scripts/ref_sprsound.py "$SPR"; spr_ref=$wall; spr_ref_peak=$peak
  cat "$WORK/out.log" >&2
  rm -rf "$WORK/spr-cache" "$WORK/spr-manifests"
  timed "$BIN/prep" ingest "$SPR" --corpus sprsound --cache "$WORK/spr-cache" --manifests "$WORK/spr-manifests"; spr_ingest=$wall; spr_peak=$peak
  timed "$BIN/prep" features --cache "$WORK/spr-cache" --manifests "$WORK/spr-manifests"; spr_features=$wall
  row "SPRSound ingest + features, --jobs $(nproc) (ref: 1 thread)" "$(awk -v a="$spr_ingest" -v b="$spr_features" 'BEGIN { print a + b }')" "$spr_ref" s "$(( peak > spr_peak ? peak : spr_peak ))"
  rm -rf "$WORK/spr-cache" "$WORK/spr-manifests"
fi

if [ "$WHAT" = all ] || [ "$WHAT" = paper ]; then
  # Issue #23: building train + test with the paper code's ICBHIDataset (from the WAVs) against
  # icbhi_shards.paper's drop-in (from a feature set of the same corpus), peak RSS of each, and one
  # DataLoader epoch (num_workers 0 and 2) against the paper's in-memory lists.
  echo "== the paper code's ICBHIDataset vs the feature-set drop-in (full-scale corpus)" >&2
  PAPER=${PAPER:-../shared/third_party/patch-mix_contrastive_learning}
  [ -d .build/pytools/timm ] || { echo "bench: the paper code's Python packages are missing: run make setup" >&2; exit 1; }
  rm -rf "$WORK/paper-cache" "$WORK/paper-manifests"
  "$BIN/prep" ingest "$CORPUS" --cache "$WORK/paper-cache" --manifests "$WORK/paper-manifests" > /dev/null
  "$BIN/prep" features --cache "$WORK/paper-cache" --manifests "$WORK/paper-manifests" > /dev/null
  PYTHONPATH=python:.build/pytools $PY scripts/bench_paper.py "$PAPER" "$CORPUS" "$(ls -d "$WORK"/paper-cache/icbhi-*)" \
    "$WORK/paper" >> "$rows"
  rm -rf "$WORK/paper-cache" "$WORK/paper-manifests" "$WORK/paper"
fi

if [ "$WHAT" = all ]; then
  echo "== predict, 10 min at 44.1 kHz, paper checkpoint (ast-tiny shape), batch 8, one thread" >&2
  read -r ours theirs < <(bash scripts/bench_predict.sh "$BIN" 10)
  # As seconds per 100 windows, so that the table's ratio (reference / ours) reads as the others.
  row "predict: s per 100 windows vs Python forward" "$(awk -v w="$ours" 'BEGIN { print 100 / w }')" "$(awk -v w="$theirs" 'BEGIN { print 100 / w }')" s ""
fi

if [ "$WHAT" = all ]; then
  echo "== training step, batch 8" >&2
  ROUNDS=2 STEPS=5 bash scripts/bench_train.sh ast-tiny | tee "$WORK/train.log" >&2 || true
fi

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build: $("$BIN/prep" --version)"
if [ "$WHAT" = paper ]; then echo "reference: the paper code's ICBHIDataset (${PAPER:-}), torch $($PY -c 'import torch; print(torch.__version__)')"
elif [ "$WHAT" = sprsound ]; then echo "reference: scripts/ref_sprsound.py (torchaudio $($PY -c 'import torchaudio; print(torchaudio.__version__)'), one thread, OpenBLAS)"
else echo "reference: $REF (torchaudio $($PY -c 'import torchaudio; print(torchaudio.__version__)'), one thread, OpenBLAS)"; fi
printf '%-44s %12s %12s %8s %10s\n' benchmark ours reference ratio "peak MB"
awk -F'\t' '{ ratio = ($2 > 0 && $3 != "nan") ? sprintf("%.1fx", $3 / $2) : "-";
  printf "%-44s %9.3f %-2s %9.3f %-2s %8s %10s\n", $1, $2, $4, $3, $4, ratio, $5 }' "$rows"
[ -f "$WORK/train.log" ] && { echo; echo "training step (ms/step, from scripts/bench_train.sh):"; tail -n 8 "$WORK/train.log"; }
echo "ratio = reference time / our time (higher is better); for the 'vs dd' rows the reference is dd writing the"
echo "same bytes with conv=fsync right after our run (>= 0.67x: within 1.5x of the disk); for the 'paper ICBHIDataset'"
echo "rows it is the paper code's own dataset (MB rows: memory, not time). Reproduce: make bench"
