#!/usr/bin/env bash
# `make check-slurm`: proves `train --emit slurm` on a real Slurm. Starts a one-node cluster on
# this machine (scripts/slurm_local.sh: Debian's munge, slurmctld, slurmd, as root, state in a
# temp dir), submits the emitted job array of a 3-seed ast-tiny sweep on a small synthetic
# corpus, waits, tabulates it with `train report`, runs the same sweep locally, and checks that
# both tables hold the same numbers. The daemons are stopped by PID whatever happens.
#
#   scripts/check_slurm.sh [BIN]     (BIN: directory with prep and train, default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${1:-.build/release}" && pwd)
WORK=$(mktemp -d /tmp/check-slurm.XXXXXX)
STATE="$WORK/slurm"
cleanup() { scripts/slurm_local.sh stop "$STATE" || true; }
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
step "small synthetic corpus -> features"
"$BIN/prep" synth --out "$WORK/corpus" --recordings 24 --seed 3 >/dev/null
"$BIN/prep" ingest "$WORK/corpus" --resampler reference --cache "$WORK/cache" --manifests "$WORK/manifests" >/dev/null
"$BIN/prep" features --cache "$WORK/cache" --manifests "$WORK/manifests" --name slurm >/dev/null
SWEEP=(--shards "$WORK/cache/slurm" --model ast-tiny --epochs 1 --method ce --seed 1-3)

step "train --emit slurm"
"$BIN/train" "${SWEEP[@]}" --output "$WORK/on-slurm" --threads 1 --emit slurm
step "start a one-node Slurm cluster"
eval "$(scripts/slurm_local.sh start "$STATE")"
sinfo
step "submit the job array and wait"
started=$(date +%s)
job=$(scripts/slurm_local.sh run "$STATE" "$WORK/on-slurm/sweep.sbatch")
echo "job $job: all tasks completed in $(( $(date +%s) - started )) s"
"$BIN/train" report "$WORK/on-slurm"

step "the same sweep locally"
"$BIN/train" "${SWEEP[@]}" --output "$WORK/local" --threads 1 >/dev/null
"$BIN/train" report "$WORK/local" >/dev/null

step "compare"
/usr/bin/python3 - "$WORK/on-slurm/results.json" "$WORK/local/results.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
def numbers(t):
    return [(r["method"], r.get("testFold"), r["seeds"], r["best"], r["last"]) for r in t["rows"]]
if numbers(a) != numbers(b) or a["featureSetID"] != b["featureSetID"] or a["optionsHash"] != b["optionsHash"]:
    sys.exit("check-slurm: FAILED: the Slurm sweep's table differs from the local one")
print("check-slurm: PASSED: %d runs under slurmctld/slurmd; report equal to the local sweep's (scores %s)"
      % (sum(len(r["seeds"]) for r in a["rows"]), a["rows"][0]["best"]["score"]["values"]))
PY
