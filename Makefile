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
#   make install          Release build, installed into $(PREFIX) (DESTDIR honoured)
#   make examples-installed  install into build/prefix, then build and run examples/*.c and
#                         cmake/consumer against it with pkg-config and find_package(adma)
#   make format           clang-format -i over every C file; make format-check only reports
#   make clean            remove build/
#
# Variables: ADMA_WERROR=ON (warnings are errors; CI sets it), JOBS, CTEST_JOBS, PREFIX,
# CMAKE_FLAGS (passed to every configure), CTEST_FLAGS, BENCH_ARGS, PLOTS_DIR.

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

ARCH := $(shell uname -m)
VERSION := $(shell sed -n 's/^\#define ADMA_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\)$$/\2/p' \
		   include/adma.h | paste -sd.)
SOURCES_C = $(wildcard include/*.h src/*.[ch] src/*/*.[ch] tests/*.[ch] tests/*/*.[ch] \
		       tools/*.[ch] bench/*.[ch] examples/*.[ch] cmake/*.c cmake/consumer/*.c)
EXAMPLES = $(wildcard examples/*.c)

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

.PHONY: all build test bench plots check-asan check-tsan valgrind install examples-installed \
	format format-check clean help

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

install:
	$(call configure,$(BUILD)/release,Release,-DCMAKE_INSTALL_PREFIX=$(PREFIX))
	$(call compile,$(BUILD)/release)
	$(CMAKE) --install $(BUILD)/release --prefix $(PREFIX)

# Builds against the installed files only: the headers and libraries under build/prefix, found
# through pkg-config and through find_package(adma). A file the install forgot fails here.
examples-installed: P = $(CURDIR)/$(BUILD)/prefix
examples-installed: export PKG_CONFIG_PATH = $(P)/lib/pkgconfig:$(P)/share/pkgconfig
examples-installed: export LD_LIBRARY_PATH = $(P)/lib
examples-installed:
	rm -rf $(P) $(BUILD)/installed $(BUILD)/consumer
	$(call configure,$(BUILD)/pkg,Release,-DCMAKE_INSTALL_PREFIX=$(P) -DCMAKE_INSTALL_LIBDIR=lib \
		-DADMA_BUILD_TESTS=OFF -DADMA_BUILD_EXAMPLES=OFF)
	$(call compile,$(BUILD)/pkg)
	$(CMAKE) --install $(BUILD)/pkg --prefix $(P)
	test "$$(pkg-config --modversion adma)" = "$(VERSION)"
	@echo "pkg-config: adma $$(pkg-config --modversion adma):" \
	      "$$(pkg-config --cflags --libs adma)"
	mkdir -p $(BUILD)/installed
	@set -e; for src in $(EXAMPLES); do \
		exe=$(BUILD)/installed/$$(basename $$src .c); \
		echo "$(CC) -O2 -Wall -Wextra $$src -o $$exe \$$(pkg-config --cflags --libs adma)"; \
		$(CC) -O2 -Wall -Wextra $(if $(filter ON 1 TRUE,$(ADMA_WERROR)),-Werror) $$src \
			-o $$exe $$(pkg-config --cflags --libs adma); \
	done
	$(CMAKE) -S cmake/consumer -B $(BUILD)/consumer -DCMAKE_PREFIX_PATH=$(P) \
		-DCMAKE_BUILD_TYPE=Release $(if $(EXAMPLES),-DADMA_EXAMPLE=$(CURDIR)/$(firstword $(EXAMPLES)))
	$(CMAKE) --build $(BUILD)/consumer --parallel $(JOBS)
	@set -e; for exe in $(patsubst examples/%.c,$(BUILD)/installed/%,$(EXAMPLES)) \
			$(BUILD)/consumer/consumer_shared $(BUILD)/consumer/consumer_static \
			$(if $(EXAMPLES),$(BUILD)/consumer/consumer_example); do \
		echo "== $$exe"; \
		if [ $$exe = $(BUILD)/consumer/consumer_static ]; then \
			! ldd $$exe | grep -q libadma || { \
				echo "error: $$exe should not load libadma.so"; exit 1; }; \
		elif ! ldd $$exe | grep -q 'libadma\.so\.[0-9]* => $(P)/lib/'; then \
			echo "error: $$exe does not load libadma from $(P)/lib:"; ldd $$exe; exit 1; \
		fi; \
		rc=0; timeout 120 $$exe || rc=$$?; \
		[ $$rc = 0 ] || { echo "error: $$exe exited with $$rc"; exit 1; }; \
	done
	@echo "examples-installed: all programs built against $(P) and ran"

format:
	$(CLANG_FORMAT) -i $(SOURCES_C)

format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(SOURCES_C)

clean:
	rm -rf $(BUILD)

help:
	@sed -n '2,/^$$/s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))
