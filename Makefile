# SPDX-License-Identifier: MIT
# Front end to the CMake build. Every target has its own build directory under build/:
#
#   make / make build     Debug build in build/debug
#   make test             build/debug, then every test through CTest
#   make bench            Release build in build/release, then "adma bench" (default suite,
#                         under a minute; BENCH_ARGS=--full for everything, --quick, --json, ...)
#   make plots            Release build, "adma bench --json", then bench/plot.sh draws PNGs into
#                         $(PLOTS_DIR) (needs gnuplot; not part of CI)
#   make check-asan       ASan+UBSan build in build/asan, every test
#   make check-tsan       TSan build in build/tsan, every test
#   make valgrind         every test of build/debug under valgrind memcheck
#   make helgrind         every test under valgrind's helgrind, in build/helgrind: a debug build
#                         whose atomics carry helgrind's annotations (src/annotate.h)
#   make soak             build/debug, then the stress test for SOAK_SECONDS (default 600) and
#                         test_lifecycle with SOAK_OPS (default 2e9) ops on one engine
#   make fuzz             clang build in build/fuzz, then each libFuzzer target of tests/fuzz/ for
#                         FUZZ_SECONDS (default 60) on its corpus in build/fuzz/corpus/; prints
#                         "SKIP: ..." and succeeds when clang or the libFuzzer runtime is missing
#   make install          Release build, installed into $(PREFIX) (DESTDIR honoured)
#   make examples-installed  install into build/prefix, then build and run examples/*.c and
#                         cmake/consumer against it with pkg-config and find_package(adma)
#   make format           clang-format -i over every C file; make format-check only reports
#   make clean            remove build/
#
# Variables: ADMA_WERROR=ON (warnings are errors; CI sets it), JOBS, CTEST_JOBS, PREFIX,
# CMAKE_FLAGS (passed to every configure), CTEST_FLAGS, BENCH_ARGS, PLOTS_DIR, FUZZ_SECONDS,
# SOAK_SECONDS, SOAK_OPS,
# FUZZ_CC (clang), FUZZ_ARGS (more libFuzzer flags).

SHELL := /bin/bash
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
ADMA_WERROR ?= OFF
CMAKE ?= cmake
CTEST ?= ctest
CMAKE_FLAGS ?=
CTEST_FLAGS ?=
BENCH_ARGS ?=
PLOTS_DIR ?= bench/out
CC ?= cc
CLANG_FORMAT ?= clang-format
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600
SOAK_OPS ?= 2000000000
FUZZ_CC ?= clang
FUZZ_ARGS ?=

ARCH := $(shell uname -m)
VERSION := $(shell sed -n 's/^\#define ADMA_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\)$$/\2/p' \
		   include/adma.h | paste -sd.)
SOURCES_C = $(wildcard include/*.h src/*.[ch] src/*/*.[ch] tests/*.[ch] tests/*/*.[ch] \
		       tools/*.[ch] bench/*.[ch] examples/*.[ch] cmake/*.c cmake/consumer/*.c)
EXAMPLES = $(wildcard examples/*.c)
# The pkg-config modules an example builds with: its header comment's " * pkg-config: ..." line,
# or adma. $(call example_modules,file.c); example_modules_sh is the shell command that prints
# that line's modules (nothing when there is none).
example_modules_sh = sed -n 's/^ \* pkg-config: *//p' $(1) | head -n 1
example_modules = $(or $(shell $(call example_modules_sh,$(1))),adma)
# The example that cmake/consumer builds too: the first that needs adma alone.
CONSUMER_EXAMPLE = $(firstword $(foreach src,$(EXAMPLES),\
		   $(if $(filter-out adma,$(call example_modules,$(src))),,$(src))))

# $(call configure,dir,build type,extra cmake arguments)
configure = $(CMAKE) -S . -B $(1) -DCMAKE_BUILD_TYPE=$(2) -DADMA_WERROR=$(ADMA_WERROR) $(3) \
	    $(CMAKE_FLAGS)
# $(call compile,dir)
compile = $(CMAKE) --build $(1) --parallel $(JOBS)
ctest_run = $(CTEST) --test-dir $(1) --output-on-failure --no-tests=error -j$(CTEST_JOBS) \
	    $(CTEST_FLAGS)

# $(call sanitized_ctest,dir): runs CTest in a sanitizer build. The probe built there shows
# whether the runtime starts: on kernels with more mmap randomisation than the runtime knows
# (vm.mmap_rnd_bits), it dies with "unexpected memory mapping"; then everything runs under
# "setarch -R" (no address randomisation), which children inherit.
define sanitized_ctest
	@probe=$(1)/sanitizer-probe; launch=; \
	if $$probe >/dev/null 2>&1; then :; \
	elif setarch $(ARCH) -R $$probe >/dev/null 2>&1; then \
		launch="setarch $(ARCH) -R"; \
		echo "note: the sanitizer runtime needs address randomisation off here:" \
		     "running the tests under '$$launch'"; \
	else \
		echo "error: sanitizer runtime does not start (probe output follows)"; \
		$$probe; exit 1; \
	fi; \
	echo "$$launch $(call ctest_run,$(1))"; \
	$$launch $(call ctest_run,$(1))
endef

.PHONY: all build test bench plots check-asan check-tsan valgrind helgrind soak fuzz install \
	examples-installed format format-check clean help

all: build

build:
	$(call configure,$(BUILD)/debug,Debug)
	$(call compile,$(BUILD)/debug)

test: build
	$(call ctest_run,$(BUILD)/debug)

bench:
	$(call configure,$(BUILD)/release,Release,-DADMA_BUILD_TESTS=OFF -DADMA_BUILD_EXAMPLES=OFF)
	$(call compile,$(BUILD)/release)
	$(BUILD)/release/adma bench $(BENCH_ARGS)

plots:
	$(call configure,$(BUILD)/release,Release,-DADMA_BUILD_TESTS=OFF -DADMA_BUILD_EXAMPLES=OFF)
	$(call compile,$(BUILD)/release)
	ADMA=$(BUILD)/release/adma BENCH_ARGS="$(BENCH_ARGS)" bench/plot.sh - $(PLOTS_DIR)

check-asan: export ASAN_OPTIONS = detect_leaks=1:abort_on_error=1
check-asan: export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
check-asan:
	$(call configure,$(BUILD)/asan,Debug,-DADMA_SANITIZE=address -DADMA_TEST_TIMEOUT=300)
	$(call compile,$(BUILD)/asan)
	$(call sanitized_ctest,$(BUILD)/asan)

check-tsan: export TSAN_OPTIONS = halt_on_error=1:second_deadlock_stack=1
check-tsan:
	$(call configure,$(BUILD)/tsan,Debug,-DADMA_SANITIZE=thread -DADMA_TEST_TIMEOUT=300)
	$(call compile,$(BUILD)/tsan)
	$(call sanitized_ctest,$(BUILD)/tsan)

valgrind: build
	scripts/valgrind-tests.sh $(BUILD)/debug

helgrind:
	$(call configure,$(BUILD)/helgrind,Debug,-DADMA_ANNOTATE=helgrind)
	$(call compile,$(BUILD)/helgrind)
	scripts/valgrind-tests.sh --tool=helgrind $(BUILD)/helgrind

# ADMA_STRESS_SEED=... (printed by every run) replays one.
soak: build
	ADMA_STRESS_SECONDS=$(SOAK_SECONDS) $(BUILD)/debug/tests/test_stress
	ADMA_TEST_OPS=$(SOAK_OPS) $(BUILD)/debug/tests/test_lifecycle

# The probe links a trivial fuzzer first, so that a machine without clang or its libFuzzer
# runtime skips (exit 0, naming the Debian package) instead of failing the configure; then runs
# it, to learn whether the ASan runtime needs "setarch -R" here (see sanitized_ctest).
fuzz: FZ = $(BUILD)/fuzz
fuzz:
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1; then \
		echo "SKIP: make fuzz: $(FUZZ_CC) not found (Debian: apt-get install clang" \
		     "libclang-rt-14-dev, or scripts/deps.sh)"; exit 0; fi; \
	mkdir -p $(FZ); \
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return n && d[0] == 1; }' \
		>$(FZ)/probe.c; \
	if ! $(FUZZ_CC) -fsanitize=fuzzer,address $(FZ)/probe.c -o $(FZ)/probe >$(FZ)/probe.log 2>&1; then \
		v=$$($(FUZZ_CC) -dumpversion 2>/dev/null | cut -d. -f1); \
		echo "SKIP: make fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer: the libFuzzer runtime" \
		     "(libclang_rt.fuzzer) is missing (Debian: apt-get install libclang-rt-$$v-dev;" \
		     "$(FZ)/probe.log has the error)"; exit 0; fi; \
	launch=; \
	if $(FZ)/probe -runs=1 >>$(FZ)/probe.log 2>&1; then :; \
	elif setarch $(ARCH) -R $(FZ)/probe -runs=1 >>$(FZ)/probe.log 2>&1; then \
		launch="setarch $(ARCH) -R"; \
		echo "note: the sanitizer runtime needs address randomisation off here: '$$launch'"; \
	else echo "error: the fuzzer runtime does not start ($(FZ)/probe.log)"; exit 1; fi; \
	set -e; \
	echo "$(call configure,$(FZ),RelWithDebInfo,-DCMAKE_C_COMPILER=$(FUZZ_CC) -DADMA_BUILD_FUZZERS=ON -DADMA_BUILD_TESTS=OFF -DADMA_BUILD_TOOLS=OFF -DADMA_BUILD_EXAMPLES=OFF)"; \
	$(call configure,$(FZ),RelWithDebInfo,-DCMAKE_C_COMPILER=$(FUZZ_CC) -DADMA_BUILD_FUZZERS=ON \
		-DADMA_BUILD_TESTS=OFF -DADMA_BUILD_TOOLS=OFF -DADMA_BUILD_EXAMPLES=OFF); \
	$(call compile,$(FZ)); \
	fuzzers=$$(ls $(FZ)/fuzz/fuzz_* 2>/dev/null || true); \
	[ -n "$$fuzzers" ] || { echo "error: no fuzzer was built in $(FZ)/fuzz"; exit 1; }; \
	for f in $$fuzzers; do \
		name=$$(basename $$f); corpus=$(FZ)/corpus/$$name; log=$(FZ)/$$name.log; \
		mkdir -p $$corpus; \
		echo "== $$name: $(FUZZ_SECONDS) s, corpus $$corpus, log $$log"; \
		rc=0; ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
			$$launch $$f -max_total_time=$(FUZZ_SECONDS) -timeout=30 -print_final_stats=1 \
			-artifact_prefix=$(FZ)/$$name- $(FUZZ_ARGS) $$corpus >$$log 2>&1 || rc=$$?; \
		if [ $$rc -ne 0 ]; then tail -n 60 $$log; \
			echo "error: $$name failed (exit $$rc); the input is saved as $(FZ)/$$name-*"; \
			exit 1; fi; \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -n 1); \
		echo "$$name: $$runs executions in $(FUZZ_SECONDS) s, corpus of $$(ls $$corpus | wc -l) inputs"; \
		grep "^$$name: " $$log | tail -n 1 || true; \
	done

install:
	$(call configure,$(BUILD)/release,Release,-DCMAKE_INSTALL_PREFIX=$(PREFIX))
	$(call compile,$(BUILD)/release)
	$(CMAKE) --install $(BUILD)/release --prefix $(PREFIX)

# Builds against the installed files only: the headers and libraries under build/prefix, found
# through pkg-config and through find_package(adma). A file the install forgot fails here. Each
# example builds with the pkg-config modules it names (example_modules); one that needs another
# library that is not installed here is skipped, naming its Debian package, and so is one that
# exits 77 (it cannot run on this machine: io_uring refused by the kernel, say).
examples-installed: P = $(abspath $(BUILD))/prefix
examples-installed: export PKG_CONFIG_PATH = $(P)/lib/pkgconfig:$(P)/share/pkgconfig
examples-installed: export LD_LIBRARY_PATH = $(P)/lib
examples-installed:
	rm -rf $(P) $(BUILD)/installed $(BUILD)/consumer
	$(call configure,$(BUILD)/pkg,Release,-DCMAKE_INSTALL_PREFIX=$(P) -DCMAKE_INSTALL_LIBDIR=lib \
		-DADMA_BUILD_TESTS=OFF -DADMA_BUILD_EXAMPLES=OFF)
	$(call compile,$(BUILD)/pkg)
	$(CMAKE) --install $(BUILD)/pkg --prefix $(P)
	test "$$(pkg-config --modversion adma)" = "$(VERSION)"
	test "$$(pkg-config --modversion adma-esp)" = "$(VERSION)"
	@echo "pkg-config: adma $$(pkg-config --modversion adma):" \
	      "$$(pkg-config --cflags --libs adma)"
	mkdir -p $(BUILD)/installed
	@set -e; for src in $(EXAMPLES); do \
		exe=$(BUILD)/installed/$$(basename $$src .c); \
		mods=$$($(call example_modules_sh,$$src)); mods=$${mods:-adma}; \
		skip=; \
		for m in $$mods; do \
			pkg-config --exists $$m && continue; \
			case $$m in \
			adma*) echo "error: $$src: pkg-config module $$m is not installed in $(P)"; \
			       exit 1 ;; \
			libuv) deb=libuv1-dev ;; \
			liburing) deb=liburing-dev ;; \
			*) deb="the package with $$m.pc" ;; \
			esac; \
			echo "SKIP: $$src: needs pkg-config module $$m (Debian: $$deb)"; skip=1; \
		done; \
		[ -z "$$skip" ] || continue; \
		echo "$(CC) -O2 -Wall -Wextra $$src -o $$exe \$$(pkg-config --cflags --libs $$mods)"; \
		$(CC) -O2 -Wall -Wextra $(if $(filter ON 1 TRUE,$(ADMA_WERROR)),-Werror) $$src \
			-o $$exe $$(pkg-config --cflags --libs $$mods); \
	done
	$(CMAKE) -S cmake/consumer -B $(BUILD)/consumer -DCMAKE_PREFIX_PATH=$(P) \
		-DCMAKE_BUILD_TYPE=Release \
		$(if $(CONSUMER_EXAMPLE),-DADMA_EXAMPLE=$(CURDIR)/$(CONSUMER_EXAMPLE))
	$(CMAKE) --build $(BUILD)/consumer --parallel $(JOBS)
	@set -e; for exe in $(patsubst examples/%.c,$(BUILD)/installed/%,$(EXAMPLES)) \
			$(BUILD)/consumer/consumer_shared $(BUILD)/consumer/consumer_static \
			$(BUILD)/consumer/consumer_esp $(BUILD)/consumer/consumer_esp_static \
			$(if $(CONSUMER_EXAMPLE),$(BUILD)/consumer/consumer_example); do \
		[ -e $$exe ] || continue; \
		echo "== $$exe"; \
		if [ $$exe = $(BUILD)/consumer/consumer_static ] || \
		   [ $$exe = $(BUILD)/consumer/consumer_esp_static ]; then \
			! ldd $$exe | grep -q libadma || { \
				echo "error: $$exe should not load libadma.so"; exit 1; }; \
		elif ! ldd $$exe | grep -q 'libadma\.so\.[0-9]* => $(P)/lib/'; then \
			echo "error: $$exe does not load libadma from $(P)/lib:"; ldd $$exe; exit 1; \
		fi; \
		rc=0; timeout 120 $$exe || rc=$$?; \
		if [ $$rc = 77 ]; then echo "SKIP: $$exe: cannot run on this machine"; continue; fi; \
		[ $$rc = 0 ] || { echo "error: $$exe exited with $$rc"; exit 1; }; \
	done
	@echo "examples-installed: the programs built against $(P) ran (skips, if any, above)"

format:
	$(CLANG_FORMAT) -i $(SOURCES_C)

format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(SOURCES_C)

clean:
	rm -rf $(BUILD)

help:
	@sed -n '2,/^$$/s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))
