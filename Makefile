# The README's two commands. Both install missing Debian packages first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
EXPERIMENT ?= configs/experiments/default.yaml

.PHONY: run test build deps configure clean

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
