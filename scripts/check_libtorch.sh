#!/usr/bin/env bash
# `make check-libtorch`: builds the trainer against a current libtorch (PyPI's torch wheel, by
# default 2.15.0, the CUDA build) instead of Debian's 1.13, and runs the training tests on CPU
# with it. Not part of `make test`: the first run downloads several GB (cached outside the
# repository, see scripts/libtorch_wheel.sh) and builds everything a second time.
#
#   scripts/check_libtorch.sh                     the trainer's tests against torch 2.15.0: the
#                                                 TrainingTests target and the EndToEndTests classes
#                                                 that run the `train` binary (built with the wheel)
#   TORCH_WHEEL_VERSION=2.4.1 FILTER=MixedPrecisionTests scripts/check_libtorch.sh
#
# The build goes to its own scratch path (.build-libtorch2, git-ignored), so the Debian build
# in .build is untouched. Ends with one line: PASS or FAIL, and the libtorch version used.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SCRATCH=${SCRATCH:-.build-libtorch2}
# The TrainingTests target and the `train` binary's end-to-end classes (not the prep pipeline's
# tests, nor EndToEndTests.SyntheticTrainingTests, the learning test on the release binaries).
TRAIN_BINARY_TESTS='TrainCommandTests|TrainOptionValidationTests|CheckpointCommandTests|CheckpointDurabilityTests|SweepCommandTests'
FILTER=${FILTER:-"^TrainingTests\.|^EndToEndTests\.($TRAIN_BINARY_TESTS)/"}
# Those classes must run this build's `train` (linked to the wheel), never another build's.
unset RESPCACHE_TEST_BINARIES
source scripts/libtorch_wheel.sh
echo "check-libtorch: libtorch $TORCH_LABEL, cxx11 ABI $LIBTORCH_CXX11_ABI, from $LIBTORCH_DIR"
mkdir -p "$SCRATCH"
fail() { echo "check-libtorch: FAIL on libtorch $TORCH_LABEL: $1"; exit 1; }

if ! "$SWIFT" build --scratch-path "$SCRATCH" --build-tests >"$SCRATCH/build.log" 2>&1; then
  grep -E "error:" "$SCRATCH/build.log" | head -20
  fail "the build failed (log: $SCRATCH/build.log)"
fi
warnings=$(grep -c "warning:" "$SCRATCH/build.log" || true)
[ "$warnings" -eq 0 ] || { grep "warning:" "$SCRATCH/build.log" | sort -u | head -20; fail "$warnings compiler warnings (log: $SCRATCH/build.log)"; }

# The binary must load the wheel's libraries, not Debian's, and report the wheel's version.
train=$SCRATCH/debug/train
linked=$(ldd "$train" | awk '/libtorch_cpu/ {print $3}')
case "$linked" in "$LIBTORCH_DIR"/*) ;; *) fail "$train loads libtorch_cpu from '$linked', not from the wheel" ;; esac
bench=$("$train" --shards random --model ast-tiny --batch-size 2 --benchmark-steps 1 --threads 2 --device cpu --amp)
reported=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["torch"])' "$bench")
echo "check-libtorch: train links $linked and reports libtorch $reported; one --amp step on CPU: $bench"

if ! "$SWIFT" test --scratch-path "$SCRATCH" --skip-build --disable-swift-testing --filter "$FILTER" >"$SCRATCH/test.log" 2>&1; then
  grep -E "error:|failed" "$SCRATCH/test.log" | head -30
  fail "$FILTER failed (log: $SCRATCH/test.log)"
fi
summary=$(grep -E "Executed [0-9]+ tests" "$SCRATCH/test.log" | tail -1 | sed 's/^[[:space:]]*//')
echo "check-libtorch: PASS: $FILTER on libtorch $reported (PyPI torch $TORCH_LABEL, cxx11 ABI $LIBTORCH_CXX11_ABI), CPU: $summary"
