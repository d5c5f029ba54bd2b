# One entry point for every job. `make test` and `make demo` each work on a fresh machine:
# both depend on `setup`, which installs the Debian packages that are missing (idempotent).
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
JOBS ?= $(shell nproc)
BIN = .build/$(CONFIG)
DEMO_DIR ?= cache/demo

APT_PACKAGES = pkg-config libsndfile1-dev libsamplerate0-dev libfftw3-dev libhdf5-dev hdf5-tools \
               python3-h5py python3-numpy xxhash python3-xxhash \
               libtorch-dev libopenblas0-pthread python3-torch libpng-dev python3-pip strace
PYTOOLS = .build/pytools
PYTOOLS_PACKAGES = kubernetes-validate==1.37.0

.PHONY: setup build test test-fast test-release-binaries demo bench bench-ingest bench-fbank bench-predict check-libtorch gpu-smoke check-slurm reproduce clean

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
	@# kubernetes-validate checks `train --emit k8s` manifests against Kubernetes' Job schema.
	@test -d $(PYTOOLS)/kubernetes_validate || { echo "setup: pip install $(PYTOOLS_PACKAGES) into $(PYTOOLS)"; \
	  /usr/bin/python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
	    --target $(PYTOOLS) $(PYTOOLS_PACKAGES); }

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

bench-train: build
	bash scripts/bench_train.sh

bench-predict: build
	bash scripts/bench_predict.sh $(BIN)

# Not tests (kept out of `make test`): the trainer against a current libtorch from PyPI's torch
# wheel (several GB cached in ~/.cache/libtorch-check), and the GPU smoke run (needs a CUDA device).
check-libtorch: setup
	bash scripts/check_libtorch.sh

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
	rm -rf .build .build-libtorch2 .build-libtorch2-release cache/*
