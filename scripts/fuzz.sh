#!/usr/bin/env bash
# Longer fuzzing runs of the untrusted-input parsers (annotation parser, stem parser, WAV
# decoding of mutated real recordings). CI runs 60 s in total inside `make test`.
#   scripts/fuzz.sh [SECONDS] [SEED]     e.g. scripts/fuzz.sh 600 7
# A crash leaves the input under test in $FUZZ_ARTIFACTS (default $TMPDIR/respcache-fuzz-<pid>,
# printed first; removed when the run ends without a crash):
# current-annotation.txt, current-stem.txt or current.wav; turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SECONDS="${1:-600}" FUZZ_SEED="${2:-$RANDOM}"
SCRATCH="${SCRATCH:-.build}"
echo "fuzzing for $FUZZ_SECONDS s, seed $FUZZ_SEED (scratch path $SCRATCH)"
swift build --scratch-path "$SCRATCH" --build-tests
swift test --scratch-path "$SCRATCH" --skip-build --disable-swift-testing --filter FuzzTests
