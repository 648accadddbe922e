# Waybill -- the two commands a user needs are `make demo` and `make test`.
# Both install missing Debian packages (scripts/install-deps.sh), build with
# CMake, then run.  `make` alone builds build/waybill.

BUILD ?= build
TBUILD ?= build-test
JOBS ?= $(shell nproc)
PY := /usr/bin/python3

.PHONY: all deps demo test test-unit test-integration test-long bench clean check-layers

all: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWB_SANITIZE=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/install-deps.sh

demo: all
	$(BUILD)/waybill demo

# The test build uses ASan + UBSan; integration tests drive that binary.
test-build: deps
	@cmake -S . -B $(TBUILD) -DCMAKE_BUILD_TYPE=Debug -DWB_SANITIZE=ON >/dev/null
	@cmake --build $(TBUILD) -j $(JOBS)

# test_attacks.py runs the plain build/waybill under a memory cap
# (RLIMIT_AS does not work under ASan).
test: test-build all check-layers
	cd $(TBUILD) && ctest --output-on-failure -j $(JOBS)
	WAYBILL=$(CURDIR)/$(TBUILD)/waybill WAYBILL_PLAIN=$(CURDIR)/$(BUILD)/waybill $(PY) -m pytest -x -q tests/integration

test-long: test-build all
	cd $(TBUILD) && WB_LONG=1 ctest --output-on-failure -R 'sealfuzz|segindex|segfile'
	WAYBILL=$(CURDIR)/$(TBUILD)/waybill WAYBILL_PLAIN=$(CURDIR)/$(BUILD)/waybill WB_LONG=1 $(PY) -m pytest -x -q tests/integration

check-layers:
	@scripts/check-layers.sh
	@scripts/gen-errdocs.sh --check

bench: all
	bench/run.sh

clean:
	rm -rf $(BUILD) $(TBUILD)
