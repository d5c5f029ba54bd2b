# One entry point for every job. `make test` and `make demo` each work on a fresh machine:
# both depend on `setup`, which installs the Debian packages that are missing (idempotent).
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
JOBS ?= $(shell nproc)
BIN = .build/$(CONFIG)
DEMO_DIR ?= cache/demo

APT_PACKAGES = pkg-config libsndfile1-dev libsamplerate0-dev libfftw3-dev libhdf5-dev hdf5-tools \
               python3-h5py python3-numpy \
               libtorch-dev libopenblas0-pthread python3-torch libpng-dev

.PHONY: setup build test demo bench bench-ingest bench-fbank check-libtorch gpu-smoke clean

setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "setup: all system packages present"; fi

build: setup
	$(SWIFT) build -c $(CONFIG)

test: setup
	$(SWIFT) build -c debug --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

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

# Not tests (kept out of `make test`): the trainer against a current libtorch from PyPI's torch
# wheel (several GB cached in ~/.cache/libtorch-check), and the GPU smoke run (needs a CUDA device).
check-libtorch: setup
	bash scripts/check_libtorch.sh

gpu-smoke: setup
	bash scripts/gpu_smoke.sh

clean:
	rm -rf .build .build-libtorch2 .build-libtorch2-release cache/*
