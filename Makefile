# batchmd — `make run` builds (Release) and runs the quickstart campaign;
# `make test` builds and runs the whole test suite. Both install missing
# Debian packages first (scripts/install-deps).
# `make test-sanitize`: the whole suite built with ASan + UBSan (build-asan);
# `make test-valgrind`: the examples under valgrind memcheck; `make fuzz`:
# each libFuzzer harness of tests/fuzz for FUZZ_SECONDS (clang, build-fuzz).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
SAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*_fuzz.c))

.PHONY: all deps build run test bench clean install test-sanitize test-valgrind fuzz

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/batchmd run examples/quickstart/campaign.yaml

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-sanitize: deps
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DBMD_SANITIZE=ON >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ctest --output-on-failure -j $(JOBS)

test-valgrind: build
	tests/sanitize/valgrind-examples $(BUILD)/batchmd

fuzz: deps
	@tests/fuzz/deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DBMD_FUZZ=ON \
		-DBUILD_TESTING=OFF -DBMD_WITH_HDF5=OFF -DBMD_WITH_KIM=OFF -DBMD_WITH_MPI=OFF -DBMD_WITH_CUDA=OFF \
		-DCMAKE_DISABLE_FIND_PACKAGE_OpenMP=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)
	tests/fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	BUILD=$(abspath $(BUILD)) bench/run-all

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

clean:
	rm -rf $(BUILD)
