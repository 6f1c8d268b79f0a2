# The two commands: `make run` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PY := /usr/bin/python3
export CCACHE_DIR ?= $(CURDIR)/.cache/ccache

.PHONY: run test deps build build-asan build-fuzz unit-test asan-test fuzz-test runtime-test e2e-test bench format clean

run: deps build
	scripts/run.sh

test: deps build unit-test asan-test fuzz-test runtime-test e2e-test
	@echo "make test: all passed"

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNIMBUS_SANITIZE=ON -DNIMBUS_BENCH=OFF

build-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) nimbus_unit_tests

$(FUZZ_BUILD)/build.ninja:
	CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNIMBUS_FUZZ=ON

build-fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

unit-test: build
	cd $(BUILD) && ctest --output-on-failure -j2

asan-test: build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(ASAN_BUILD)/nimbus_unit_tests

# Each fuzzer runs briefly on every `make test`; run longer by hand with -max_total_time.
fuzz-test: build-fuzz
	@for f in $(FUZZ_BUILD)/*_fuzz; do echo "fuzz: $$f"; $$f -max_total_time=15 -print_final_stats=0 >/dev/null 2>$$f.log || { tail -40 $$f.log; exit 1; }; done

runtime-test:
	$(PY) -m pytest -q tests/runtimes

e2e-test: build
	NIMBUS_BIN=$(CURDIR)/$(BUILD)/nimbus $(PY) -m pytest -q tests/e2e

bench: build
	@echo "see docs/BENCHMARKS.md for the commands and recorded numbers"

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
