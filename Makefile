# The README's two commands. Both install missing Debian packages first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
EXPERIMENT ?= configs/experiments/default.yaml

.PHONY: run test build deps configure clean fuzz

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release > /dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@$(BUILD_DIR)/xpusim run $(EXPERIMENT)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

clean:
	@rm -rf $(BUILD_DIR)

# libFuzzer + ASan + UBSan over every input parser, FUZZ_SECONDS per target
# (needs clang; its own build folder). See tests/fuzz/README.md.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@bash scripts/install-deps.sh --fuzz
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXPUSIM_FUZZ=ON -DXPUSIM_BUILD_BENCH=OFF > /dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target xpusim_fuzzers
	@bash tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)
