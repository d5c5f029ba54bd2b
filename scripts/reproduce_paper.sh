#!/usr/bin/env bash
# The paper's protocol in one command: ingest and features with the paper's settings, then
# the paper's rows (AST fine-tuning = ce, Patch-Mix, Patch-Mix CL) x 5 seeds with ast-base and
# the AudioSet init, then the results table next to the paper's figures.
#
#   scripts/reproduce_paper.sh ICBHI_DIR AUDIOSET_PTH [train options...]
#   scripts/reproduce_paper.sh ICBHI_DIR AUDIOSET_PTH --emit slurm     # a job array instead
#   scripts/reproduce_paper.sh ICBHI_DIR AUDIOSET_PTH --parallel 4     # 4 runs at once here
#
# Environment (defaults are the paper's): BIN (.build/release), WORK (cache/paper), MODEL
# (ast-base; empty: the model's shape and heads come from the checkpoint alone), METHODS
# (ce,patchmix,patchmix_cl), SEEDS (1-5), EPOCHS (50). Rerunning the same
# command skips finished runs and resumes interrupted ones; with --emit, submit the written job,
# then run `train report $WORK/runs` when it is done.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: $0 ICBHI_DIR AUDIOSET_PTH [train options...]" >&2
  exit 2
fi
ICBHI=$1 AUDIOSET=$2
shift 2
BIN=${BIN:-.build/release}
WORK=${WORK:-cache/paper}
MODEL=${MODEL-ast-base}
METHODS=${METHODS:-ce,patchmix,patchmix_cl}
SEEDS=${SEEDS:-1-5}
EPOCHS=${EPOCHS:-50}
[ -d "$ICBHI" ] || { echo "$0: $ICBHI: no such directory (the ICBHI_final_database folder)" >&2; exit 2; }
[ -f "$AUDIOSET" ] || { echo "$0: $AUDIOSET: no such file (audioset_10_10_0.4593.pth)" >&2; exit 2; }
for tool in prep train; do
  [ -x "$BIN/$tool" ] || { echo "$0: $BIN/$tool is not built (make build)" >&2; exit 2; }
done

echo "== ingest: decode, torchaudio-exact resampling to 16 kHz, fade, slice (the paper's preprocessing)"
"$BIN/prep" ingest "$ICBHI" --resampler reference --cache "$WORK/cache" --manifests "$WORK/manifests"
echo "== features: 8 s repeat padding, 128-bin Kaldi fbank, AudioSet normalisation"
"$BIN/prep" features --cache "$WORK/cache" --manifests "$WORK/manifests" --name paper
"$BIN/prep" verify paper --cache "$WORK/cache"
echo "== train: $METHODS x seeds $SEEDS, ${MODEL:-the model of the checkpoint} from $AUDIOSET, $EPOCHS epochs"
"$BIN/train" --shards "$WORK/cache/paper" ${MODEL:+--model "$MODEL"} --init "$AUDIOSET" --method "$METHODS" \
  --seed "$SEEDS" --epochs "$EPOCHS" --output "$WORK/runs" "$@"
case " $* " in
  *" --emit "*|*" --emit="*) echo "== submit the job above; when it is done: $BIN/train report $WORK/runs" ;;
  *) echo "== results"; "$BIN/train" report "$WORK/runs" ;;
esac
