# One entry point for every job. `make test` and `make demo` each work on a fresh machine:
# both depend on `setup`, which installs the Debian packages that are missing (idempotent).
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
JOBS ?= $(shell nproc)
BIN = .build/$(CONFIG)
DEMO_DIR ?= cache/demo

# Tools the tests run, found on PATH (one policy: setup installs them, a test that misses one
# fails naming it): h5dump (hdf5-tools), xxhsum (xxhash), strace, pgrep (procps), mount, unshare
# and setpriv (mount, util-linux), python3 with h5py, numpy and torch.
APT_PACKAGES = pkg-config libsndfile1-dev libsamplerate0-dev libfftw3-dev libhdf5-dev hdf5-tools \
               python3-h5py python3-numpy xxhash python3-xxhash \
               libtorch-dev libopenblas0-pthread python3-torch libpng-dev python3-pip strace procps mount \
               $(PAPER_APT_PACKAGES)
# What the Patch-Mix CL paper code (../shared/third_party/patch-mix_contrastive_learning) imports, from
# Debian where Debian has it: the tests run it beside python/icbhi_shards' drop-in (issue #23).
PAPER_APT_PACKAGES = python3-torchaudio python3-torchvision python3-pandas python3-scipy python3-opencv \
               python3-pil python3-tk python3-tqdm python3-matplotlib python3-numba python3-soundfile \
               python3-audioread python3-sklearn python3-pooch python3-joblib python3-decorator \
               python3-lazy-loader python3-msgpack python3-bs4 python3-filelock
PYTOOLS = .build/pytools
PYTOOLS_PACKAGES = kubernetes-validate==1.37.0
# ... and what Debian lacks, from PyPI without their dependencies (those are Debian's above; pip
# must not pull a PyPI torch over Debian's 1.13): timm 0.4.5 (the paper's pin), librosa, nlpaug
# (needs gdown at import), cmapy, wget.
PAPER_PYTOOLS_PACKAGES = timm==0.4.5 librosa==0.10.1 soxr==0.3.7 nlpaug==1.1.11 gdown==4.7.1 cmapy==0.6.6 wget==3.2

.PHONY: setup build test test-fast test-release-binaries demo bench bench-ingest bench-paper bench-sprsound bench-fbank bench-predict check-libtorch check-hosts gpu-smoke check-slurm reproduce clean

# Installs the Debian packages of $(1) that are missing (idempotent).
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "setup: all system packages present"; fi
endef

setup:
	$(call apt_install,$(APT_PACKAGES))
	@# Python tools the tests use, from PyPI, kept inside .build (never the system's site-packages):
	@# kubernetes-validate checks `train --emit k8s` manifests against Kubernetes' Job schema; the
	@# paper code's PyPI-only imports let the tests run it beside the drop-in ICBHIDataset.
	@test -d $(PYTOOLS)/kubernetes_validate || { echo "setup: pip install $(PYTOOLS_PACKAGES) into $(PYTOOLS)"; \
	  /usr/bin/python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
	    --target $(PYTOOLS) $(PYTOOLS_PACKAGES); }
	@test -d $(PYTOOLS)/timm -a -d $(PYTOOLS)/librosa -a -d $(PYTOOLS)/nlpaug -a -d $(PYTOOLS)/gdown -a -f $(PYTOOLS)/cmapy.py || { \
	  echo "setup: pip install --no-deps $(PAPER_PYTOOLS_PACKAGES) into $(PYTOOLS)"; \
	  /usr/bin/python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
	    --target $(PYTOOLS) $(PAPER_PYTOOLS_PACKAGES); }

build: setup
	$(SWIFT) build -c $(CONFIG)

# `make test`: every test target, end to end included. End-to-end tests run the release `prep`,
# `train` and `predict` (built first; RESPCACHE_TEST_BINARIES points the tests at them), the binaries users run.
test: setup test-release-binaries
	$(SWIFT) build -c debug --build-tests
	RESPCACHE_TEST_BINARIES=$(CURDIR)/.build/release $(SWIFT) test --skip-build --disable-swift-testing

test-release-binaries:
	$(SWIFT) build -c release --product prep
	$(SWIFT) build -c release --product train
	$(SWIFT) build -c release --product predict

# `make test-fast`: the unit and stage tests, which call the libraries directly (PrepKit and
# Training included), not the EndToEndTests target, the one that runs the real `prep` and `train`
# binaries as processes; the fuzz targets get FAST_FUZZ_SECONDS in total instead of 60.
# One test: swift test --skip-build --filter '^PrepKitTests\.StageTests/testIngest'
FAST_FUZZ_SECONDS ?= 6
FAST_SKIP = --skip '^EndToEndTests\.'
test-fast: setup
	$(SWIFT) build -c debug --build-tests
	FUZZ_SECONDS=$(FAST_FUZZ_SECONDS) $(SWIFT) test --skip-build --disable-swift-testing $(FAST_SKIP)

demo: build
	bash scripts/demo.sh $(BIN) $(DEMO_DIR)

# Benchmarks (not tests): our time next to the reference's, measured in the same run.
bench: build
	bash scripts/bench.sh $(BIN)

bench-fbank: build
	$(BIN)/bench fbank

bench-resample: build
	$(BIN)/bench resample

bench-ingest: build
	bash scripts/bench.sh $(BIN) pipeline

# The paper code's ICBHIDataset against icbhi_shards.paper's drop-in (issue #23) only.
bench-paper: build
	bash scripts/bench.sh $(BIN) paper

bench-sprsound: build
	bash scripts/bench.sh $(BIN) sprsound

bench-train: build
	bash scripts/bench_train.sh

bench-predict: build
	bash scripts/bench_predict.sh $(BIN)

# Not tests (kept out of `make test`): the trainer against a current libtorch from PyPI's torch
# wheel (several GB cached in ~/.cache/libtorch-check), and the GPU smoke run (needs a CUDA device).
check-libtorch: setup
	bash scripts/check_libtorch.sh

# Not a test either: TrainingTests and the AudioDSP goldens under every OpenBLAS core type x ATen
# CPU capability this CPU can run, and `prep features` from a generic and a haswell DSP build
# compared byte for byte (builds in .build-dsp-*); one PASS/FAIL line per set.
check-hosts: setup
	bash scripts/check_hosts.sh

# The GPU run builds only `train`, against the CUDA wheel: none of Debian's libtorch, audio or
# Python packages, but python3-venv for the wheel's environment.
GPU_APT_PACKAGES = pkg-config libhdf5-dev python3-venv python3-pip
gpu-smoke:
	$(call apt_install,$(GPU_APT_PACKAGES))
	bash scripts/gpu_smoke.sh

# A real one-node Slurm (Debian's slurm-wlm + munge) runs an emitted job array; not part of `make test`.
check-slurm: build
	bash scripts/check_slurm.sh $(BIN)

# The paper's protocol (needs the licensed ICBHI audio and the AudioSet checkpoint):
# make reproduce ICBHI=/path/to/ICBHI_final_database AUDIOSET=/path/to/audioset_10_10_0.4593.pth [ARGS="--emit slurm"]
reproduce: build
	@test -n "$(ICBHI)" -a -n "$(AUDIOSET)" || { echo "usage: make reproduce ICBHI=<dir> AUDIOSET=<pth> [ARGS=...]"; exit 2; }
	BIN=$(BIN) bash scripts/reproduce_paper.sh "$(ICBHI)" "$(AUDIOSET)" $(ARGS)

clean:
	rm -rf .build .build-libtorch2 .build-libtorch2-release .build-dsp-generic .build-dsp-haswell .build-check-hosts cache/*
