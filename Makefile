# The README's two commands. Both install missing Debian packages first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
EXPERIMENT ?= configs/experiments/default.yaml

# A short log: no "Entering directory" lines from the sub-makes CMake runs,
# no per-file rule messages (warnings and errors still show), and no SystemC
# banner from the test executables the build runs to list their tests.
MAKEFLAGS += --no-print-directory
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE = 1

.PHONY: run test build deps configure clean test-sanitize fuzz

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_RULE_MESSAGES=OFF > /dev/null

build: configure
	@echo "building in $(BUILD_DIR)/ ..."
	@cmake --build $(BUILD_DIR) -j $(JOBS) | { grep -v "Built target\|^Consolidate compiler generated" || true; }

# --force: `make run` refreshes reports/<name>/ each time (xpusim run alone
# never replaces a report; it writes <dir>-2, ...).
run: build
	@$(BUILD_DIR)/xpusim run $(EXPERIMENT) --force

# The whole ctest log goes to $(BUILD_DIR)/ctest.log; a green run prints its
# summary, a red one the whole log (with each failed test's output).
test: build
	@cd $(BUILD_DIR) && { ctest --output-on-failure -j $(JOBS) > ctest.log 2>&1; rc=$$?; \
	  if [ $$rc -eq 0 ]; then sed -n '/tests passed/,$$p' ctest.log; else cat ctest.log; fi; \
	  echo "full log: $(BUILD_DIR)/ctest.log"; exit $$rc; }

clean:
	@rm -rf $(BUILD_DIR)

# AddressSanitizer + UndefinedBehaviorSanitizer over the whole suite, in its
# own build folder; any finding fails the test that made it. Why each option
# and suppression: tests/sanitizers/README.md. Without the Python module: an
# ASan-built extension cannot load into an interpreter built without ASan.
SANITIZE_DIR ?= build-sanitize
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SANITIZE_ENV = ASAN_OPTIONS=include=$(CURDIR)/tests/sanitizers/asan.options \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86
test-sanitize: deps
	@cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_RULE_MESSAGES=OFF \
	  -DXPUSIM_BUILD_BENCH=OFF -DXPUSIM_BUILD_PYTHON=OFF -DXPUSIM_TEST_TIMEOUT=3000 "-DCMAKE_CXX_FLAGS=$(SANITIZE_FLAGS)" > /dev/null
	@echo "building in $(SANITIZE_DIR)/ (AddressSanitizer + UBSan) ..."
	@$(SANITIZE_ENV) cmake --build $(SANITIZE_DIR) -j $(JOBS) | { grep -v "Built target\|^Consolidate compiler generated" || true; }
	@cd $(SANITIZE_DIR) && { $(SANITIZE_ENV) ctest --output-on-failure -j $(JOBS) > ctest.log 2>&1; rc=$$?; \
	  sed -n '/tests passed/,$$p' ctest.log; echo "full log: $(SANITIZE_DIR)/ctest.log"; exit $$rc; }

# libFuzzer + ASan + UBSan over every input parser, FUZZ_SECONDS per target
# (needs clang; its own build folder). See tests/fuzz/README.md.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@bash scripts/install-deps.sh --fuzz
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXPUSIM_FUZZ=ON -DXPUSIM_BUILD_BENCH=OFF -DXPUSIM_BUILD_PYTHON=OFF > /dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target xpusim_fuzzers
	@bash tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)
