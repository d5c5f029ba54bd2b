#!/usr/bin/env bash
# `make check-hosts` (not part of `make test`): the goldens under every set of CPU kernels this
# machine can run, so that a tolerance that only holds on the kernels of the machine that made
# a golden shows up here and not on a developer's host (issue 19).
#
#   1. TrainingTests and the AudioDSP goldens under each OpenBLAS core type (OPENBLAS_CORETYPE:
#      Haswell, SkylakeX, Zen, Sandybridge, Cooperlake, Prescott, those whose instructions this CPU
#      has) x ATen CPU capability (ATEN_CPU_CAPABILITY: default, avx2, avx512 where the CPU has
#      avx512f). The debug test build in .build is used (built first, as `make test` does).
#   2. `prep ingest` + `prep features` on the ICBHI sample (../shared/icbhi/sample) with a prep
#      built with RESPCACHE_DSP_CPU=generic and one with haswell (scratch paths .build-dsp-generic
#      and .build-dsp-haswell, git-ignored): cycle audio, manifests and shards must be
#      byte-identical (index.json without created_at). Together with the AudioDSP goldens of step
#      1 (run on this machine's own choice of DSP build) this covers the other build too.
#
# One line per set: PASS or FAIL and the set; a summary naming the failing sets; exit 1 if any
# failed. Logs: .build-check-hosts/<set>.log. FILTER narrows step 1 (a swift test --filter),
# CORES and CAPABILITIES its sets.
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
LOGS=.build-check-hosts
FILTER=${FILTER:-'^TrainingTests\.|^AudioDSPTests\.(FbankGoldenTests|ResamplingGoldenTests|LengthFixingTests)/'}
mkdir -p "$LOGS"
# The tests run what the test bundle was built with, not a release build elsewhere.
unset RESPCACHE_TEST_BINARIES OPENBLAS_CORETYPE ATEN_CPU_CAPABILITY
failed=()
report() {  # report <PASS|FAIL> <set> [detail]
  echo "check-hosts: $1 $2${3:+ ($3)}"
  [ "$1" = PASS ] || failed+=("$2")
}

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }

# OpenBLAS core types this CPU can execute (forcing one the CPU lacks would die of SIGILL).
cores=()
has pni && cores+=(Prescott)   # SSE3 is "pni" in /proc/cpuinfo
has avx && cores+=(Sandybridge)
has avx2 fma && cores+=(Haswell Zen)
has avx512f avx512bw avx512vl avx512dq avx512cd && cores+=(SkylakeX)
has avx512f avx512bw avx512vl avx512_bf16 && cores+=(Cooperlake)
capabilities=(default)
has avx2 && capabilities+=(avx2)
has avx512f avx512bw avx512vl avx512dq && capabilities+=(avx512)
# CORES="Haswell Zen" / CAPABILITIES="avx2" narrow the sets (each must still be runnable here;
# CORES=none runs only the prep comparison).
if [ -n "${CORES:-}" ]; then read -r -a wanted <<<"$CORES"; cores=($(printf '%s\n' "${cores[@]}" | grep -Fxf <(printf '%s\n' "${wanted[@]}"))); fi
if [ -n "${CAPABILITIES:-}" ]; then read -r -a wanted <<<"$CAPABILITIES"; capabilities=($(printf '%s\n' "${capabilities[@]}" | grep -Fxf <(printf '%s\n' "${wanted[@]}"))); fi

# Which kernels a set really selects, read back from the same libraries (a core type this
# OpenBLAS does not know falls back silently to its own choice, which would test nothing new).
python=$(for p in $(type -ap python3); do "$p" -c 'import torch' 2>/dev/null && { echo "$p"; break; }; done)
[ -n "$python" ] || { echo "check-hosts: FAIL no python3 on PATH imports torch (make setup installs python3-torch)"; exit 1; }
selected() {
  "$python" - <<'EOF'
import ctypes, re, torch
blas = ctypes.CDLL("libblas.so.3")
name = getattr(blas, "openblas_get_corename", None)
core = "?"
if name is not None:
    name.restype = ctypes.c_char_p
    core = name().decode()
capability = re.search(r"CPU capability usage: ([^\n]+)", torch.__config__.show())
capability = capability.group(1).strip() if capability else "?"
print(core, "default" if capability == "NO AVX" else capability)   # ATen's name for its default kernels
EOF
}

echo "check-hosts: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; OpenBLAS core types: ${cores[*]}; ATen capabilities: ${capabilities[*]}"

echo "check-hosts: building the tests (debug, .build)"
if ! "$SWIFT" build -c debug --build-tests >"$LOGS/build-tests.log" 2>&1; then
  grep "error:" "$LOGS/build-tests.log" | head -20
  report FAIL "debug test build" "log: $LOGS/build-tests.log"
else
  for core in "${cores[@]}"; do
    for capability in "${capabilities[@]}"; do
      set_name="OPENBLAS_CORETYPE=$core ATEN_CPU_CAPABILITY=$capability"
      log="$LOGS/$core-$capability.log"
      read -r got_core got_capability < <(OPENBLAS_CORETYPE=$core ATEN_CPU_CAPABILITY=$capability selected)
      if [ "${got_core,,}" != "${core,,}" ] || [ "${got_capability,,}" != "${capability,,}" ]; then
        report FAIL "$set_name" "the libraries selected $got_core / $got_capability instead"
        continue
      fi
      start=$SECONDS
      OPENBLAS_CORETYPE=$core ATEN_CPU_CAPABILITY=$capability \
        "$SWIFT" test --skip-build --disable-swift-testing --filter "$FILTER" >"$log" 2>&1
      status=$?
      summary=$(grep -E "^\s*Executed [0-9]+ tests" "$log" | tail -1 | sed 's/^[[:space:]]*//')
      worst=$(grep -o "after step 2: max |weight diff| [^;]*" "$log" | head -1)
      if [ $status -eq 0 ] && [ -n "$summary" ]; then
        report PASS "$set_name" "$summary; $worst; $((SECONDS - start)) s"
      else
        grep -E "error: |failed \(" "$log" | grep -v "^Test Suite" | head -5 | sed 's/^/    /'
        report FAIL "$set_name" "${summary:-no test summary}; log: $log"
      fi
    done
  done
fi

# prep features with the two DSP builds: byte-identical caches.
repo=$PWD
sample=../shared/icbhi/sample
declare -A cache_of=()
for dsp in generic haswell; do
  scratch=.build-dsp-$dsp
  if [ "$dsp" = haswell ] && ! has avx2 fma bmi1 bmi2 movbe abm; then
    report FAIL "prep features, RESPCACHE_DSP_CPU=$dsp" "this CPU cannot run a haswell build"
    continue
  fi
  echo "check-hosts: building prep with RESPCACHE_DSP_CPU=$dsp ($scratch)"
  if ! RESPCACHE_DSP_CPU=$dsp "$SWIFT" build -c release --product prep --scratch-path "$scratch" >"$LOGS/build-prep-$dsp.log" 2>&1; then
    report FAIL "prep features, RESPCACHE_DSP_CPU=$dsp" "build failed, log: $LOGS/build-prep-$dsp.log"
    continue
  fi
  prep=$PWD/$scratch/release/prep
  work=$LOGS/prep-$dsp
  rm -rf "$work" "$LOGS/prep" && mkdir -p "$LOGS/prep"
  # Both builds run in the same directory with relative paths: ingest.json and index.json
  # record the cache's paths, which must not differ between the two.
  if "$prep" --version | grep -qi "$dsp" \
     && (cd "$LOGS/prep" && "$prep" ingest "$repo/$sample" --cache cache --manifests manifests --metadata "$repo/manifests/icbhi" >ingest.log 2>&1 \
         && "$prep" features --cache cache --manifests manifests >features.log 2>&1 \
         && "$prep" verify --cache cache >verify.log 2>&1); then
    mv "$LOGS/prep" "$work"
    cache_of[$dsp]=$work
    echo "check-hosts: prep ($("$prep" --version | head -1)): $(grep '^features:' "$work/features.log")"
  else
    mv "$LOGS/prep" "$work" 2>/dev/null
    report FAIL "prep features, RESPCACHE_DSP_CPU=$dsp" "$("$prep" --version 2>&1 | head -1); logs: $work"
  fi
done
if [ -n "${cache_of[generic]:-}" ] && [ -n "${cache_of[haswell]:-}" ]; then
  a=${cache_of[generic]} b=${cache_of[haswell]}
  different=()
  files=0
  while IFS= read -r relative; do
    files=$((files + 1))
    if [[ "$relative" == */index.json ]]; then
      cmp -s <(grep -v '"created_at"' "$a/$relative") <(grep -v '"created_at"' "$b/$relative" 2>/dev/null) || different+=("$relative")
    else
      cmp -s "$a/$relative" "$b/$relative" || different+=("$relative")
    fi
  done < <(cd "$a" && find cache manifests -type f ! -name .lock | sort)
  extra=$(diff <(cd "$a" && find cache manifests -type f ! -name .lock | sort) <(cd "$b" && find cache manifests -type f ! -name .lock | sort) | grep -c '^[<>]')
  shards=$(cd "$a" && find cache -name '*.h5' -path '*fbank*' | wc -l)
  if [ ${#different[@]} -eq 0 ] && [ "$extra" -eq 0 ] && [ "$shards" -gt 0 ]; then
    report PASS "prep features, RESPCACHE_DSP_CPU=generic vs haswell" "$files files byte-identical, $shards shards among them"
  else
    report FAIL "prep features, RESPCACHE_DSP_CPU=generic vs haswell" "different: ${different[*]:-none}; files only in one: $extra; shards: $shards"
  fi
fi

if [ ${#failed[@]} -eq 0 ]; then
  echo "check-hosts: PASS, every set"
else
  echo "check-hosts: FAIL, ${#failed[@]} set(s):"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
