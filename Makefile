# soma - build, test, install. `make help` lists the targets.
#
# Toggles:  BUILD=dir (output folder), SANITIZE=address,undefined (adds
# -fsanitize=... to every object), OPT=-O2 (optimisation flags).

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
OPT      ?= -O3
PYTHON   ?= /usr/bin/python3

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wdouble-promotion -Werror
# -ffp-contract=off: no silent FMA contraction, so the scalar code gives the
# same bits everywhere (see src/kernels/kernels.h).
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -ffp-contract=off -fPIC \
              $(WARN) -Iinclude -Isrc $(CFLAGS)
LDLIBS   := -ljansson -lz -lm -pthread
# BLAS=openblas sends matrix products to Debian's OpenBLAS (for comparison;
# results then depend on OpenBLAS's threads and order of summation).
ifeq ($(BLAS),openblas)
ALL_CFLAGS += -DSOMA_BLAS -I/usr/include/openblas -I/usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS   += -lopenblas
endif
# SIMD=0 builds only the portable kernels (same results, slower).
SIMD     ?= 1
ARCH     := $(shell uname -m)
ifeq ($(SIMD),0)
ALL_CFLAGS += -DSOMA_NO_SIMD
endif
ALL_CFLAGS += -pthread
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(wildcard src/*.c src/kernels/*.c src/io/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_SRC  := $(wildcard cli/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
EX_SRC   := $(wildcard examples/*.c)
EX_BIN   := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)

SOMA     := $(BUILD)/soma
STATIC   := $(BUILD)/libsoma.a
SHARED   := $(BUILD)/libsoma.so
# The version in include/soma.h. The shared library is installed as
# libsoma.so.$(VERSION) with the soname libsoma.so.$(SOVERSION), and exports
# only the functions include/soma.h declares: $(SOMA_MAP) lists them.
VERSION   := $(shell sed -n 's/^.define SOMA_VERSION_STRING "\(.*\)"/\1/p' include/soma.h)
SOVERSION := 0
SOMA_MAP  := $(BUILD)/soma.map

# Debian packages the build and the tests need; `make deps` installs the
# missing ones (dataset-fashion-mnist: the IDX files tests/cli_idx.sh
# trains on; python3-vega-datasets and python3-sklearn's CSV files: the real
# tables that tests/py_sklearn_compare.py and the tutorial train on, with
# scikit-learn and pandas as the reference).
DEPS_PKGS := gcc make pkg-config libjansson-dev zlib1g-dev python3 python3-numpy \
             python3-sklearn python3-pandas python3-vega-datasets \
             dataset-fashion-mnist man-db groff-base cmake bash binutils

.PHONY: all deps demo check test install uninstall clean help

all: $(STATIC) $(SHARED) $(SOMA) $(EX_BIN)

help:
	@echo "make            build $(STATIC), $(SHARED), $(SOMA) and the examples"
	@echo "make deps       install missing Debian packages ($(DEPS_PKGS))"
	@echo "make demo       deps + build + run the blog post's perceptron"
	@echo "make check      deps + build + every test"
	@echo "make install    PREFIX=$(PREFIX): header, libraries, soma.pc, CMake files,"
	@echo "                soma, its man page and bash completion"
	@echo "make fuzz       fuzz-deps + every fuzz target for FUZZ_SECONDS=$(FUZZ_SECONDS) s"
	@echo "make check-valgrind  the test programs under valgrind --leak-check=full"
	@echo "make bench      bench-deps + soma beside PyTorch and FANN (BENCHMARKS.md);"
	@echo "                BENCH_QUICK=1 for a short run"
	@echo "make bench-csv  loading a 1 GB CSV: soma beside pandas read_csv"

deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
	    echo "make deps: not a Debian system; install by hand: $(DEPS_PKGS)"; exit 0; fi; \
	missing=""; \
	for p in $(DEPS_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    echo "make deps: installing$$missing"; \
	    $$sudo apt-get update -qq && \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

demo: deps
	$(MAKE) all
	$(SOMA) demo

check: deps
	$(MAKE) all tests
	BUILD=$(BUILD) PYTHON=$(PYTHON) sh tests/run.sh

tests: $(TEST_BIN)

# The AVX2 kernels are compiled for AVX2+FMA and chosen at run time.
ifeq ($(ARCH),x86_64)
$(BUILD)/obj/src/kernels/%_avx2.o: ALL_CFLAGS += -mavx2 -mfma
$(BUILD)/obj/src/kernels/%_avx512.o: ALL_CFLAGS += -mavx512f -mavx2 -mfma
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# A function is public when include/soma.h declares it: a line that starts
# with its return type and has the name before the parenthesis.
$(SOMA_MAP): include/soma.h
	@mkdir -p $(dir $@)
	{ echo '{ global:'; \
	  sed -n 's/^[a-z][^(]*[ *]\(soma_[a-z0-9_]*\)(.*/    \1;/p' include/soma.h; \
	  echo '  local: *; };'; } >$@

$(SHARED): $(LIB_OBJ) $(SOMA_MAP)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libsoma.so.$(SOVERSION) \
	    -Wl,--version-script=$(SOMA_MAP) -o $@ $(LIB_OBJ) $(LDLIBS)

$(SOMA): $(CLI_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/harness.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(STATIC) $(LDFLAGS) $(LDLIBS)

# The examples that have data of their own find it in this tree wherever
# they are run from (SOMA_EXAMPLE_DATA; built by hand they look in
# tests/data under the current directory).
$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DSOMA_EXAMPLE_DATA='"$(CURDIR)/tests/data"' -o $@ $< \
	    $(STATIC) $(LDFLAGS) $(LDLIBS)

# ---- fuzzing and leak checks (docs/testing.md) -----------------------------
# One libFuzzer target per parser in tests/fuzz/, built by clang with ASan and
# UBSan against the library compiled again by clang into $(FUZZ_BUILD) (the
# same rules through a sub-make; the CLI's main() renamed for fuzz_cli).
# `make fuzz` runs each for FUZZ_SECONDS and fails on any finding.
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
# libclang-rt-dev: libFuzzer and the sanitizer runtimes matching Debian's clang
FUZZ_PKGS    := clang libclang-rt-dev
FUZZ_CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L -ffp-contract=off -pthread \
                $(WARN) -Iinclude -Isrc -Icli -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CLI_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(filter-out cli/main.c,$(CLI_SRC)))

.PHONY: fuzz fuzz-deps fuzz-build check-valgrind

fuzz-deps:
	@$(MAKE) --no-print-directory deps DEPS_PKGS="$(FUZZ_PKGS)"

fuzz: fuzz-deps
	$(MAKE) fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

# -Wno-double-promotion: clang, unlike gcc, flags `double d = INFINITY` (glibc's
# INFINITY and NAN are float constants); the gcc build keeps the warning.
fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) CFLAGS="-O1 -g -Wno-double-promotion" \
	    SANITIZE=fuzzer-no-link,address,undefined $(FUZZ_BUILD)/libsoma.a $(FUZZ_CLI_OBJ)
	$(MAKE) $(FUZZ_BIN)

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_BUILD)/libsoma.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_BUILD)/libsoma.a $(LDLIBS)

$(FUZZ_BUILD)/cli_main.o: cli/main.c cli/cli.h include/soma.h
	$(FUZZ_CC) $(FUZZ_CFLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) \
	    -Dmain=soma_cli_main -Wno-missing-prototypes -c $< -o $@

$(FUZZ_BUILD)/fuzz_cli: tests/fuzz/fuzz_cli.c tests/fuzz/fuzz_common.h $(FUZZ_BUILD)/cli_main.o \
                        $(FUZZ_CLI_OBJ) $(FUZZ_BUILD)/libsoma.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_BUILD)/cli_main.o $(FUZZ_CLI_OBJ) \
	    $(FUZZ_BUILD)/libsoma.a $(LDLIBS)

# The threaded code under ThreadSanitizer: the test programs that train
# and predict with several threads, built with -fsanitize=thread.
TSAN_TESTS := test_threads test_checkpoint test_kernels test_post
.PHONY: check-tsan
check-tsan:
	$(MAKE) BUILD=build-tsan SANITIZE=thread OPT=-O1 \
	    $(TSAN_TESTS:%=build-tsan/tests/%)
	@set -e; for t in $(TSAN_TESTS); do echo "== tsan $$t"; \
	    TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/$$t | tail -1; done

# ---- benchmark (BENCHMARKS.md) -------------------------------------------
# soma beside PyTorch (on OpenBLAS) and FANN on Fashion-MNIST, SGEMM beside
# OpenBLAS, predict, sweeps and peak RSS; bench/run.sh writes
# $(BUILD)/bench/results.md. BENCH_QUICK=1 for a short run; BENCH_PRIORITY=1
# keeps other sessions' background jobs off the cores (see bench/run.sh).
# `time` gives /usr/bin/time -v for the peak-RSS figure.
BENCH_PKGS := python3-torch libopenblas-dev libfann-dev dataset-fashion-mnist time
.PHONY: bench bench-deps bench-csv
bench-deps:
	@$(MAKE) --no-print-directory deps DEPS_PKGS="$(BENCH_PKGS)"

# Loading a generated 1 GB numeric CSV: soma train --epochs 0 beside pandas
# read_csv, time and peak RSS (bench/csv_load.sh; CSV_BENCH_MB=N for
# another size).
bench-csv:
	@$(MAKE) --no-print-directory deps DEPS_PKGS="python3-pandas time"
	$(MAKE) $(SOMA)
	BUILD=$(BUILD) PYTHON=$(PYTHON) sh bench/csv_load.sh

bench: bench-deps
	$(MAKE) $(STATIC)
	BUILD=$(BUILD) CC="$(CC)" PYTHON=$(PYTHON) sh bench/run.sh

# Every test program under valgrind (a second leak checker beside the
# sanitizer build's LeakSanitizer); the gcc build, no sanitizers.
check-valgrind: all tests
	@$(MAKE) --no-print-directory deps DEPS_PKGS=valgrind
	@set -e; for t in $(TEST_BIN); do echo "== valgrind $$t"; \
	    valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
	        --error-exitcode=1 $$t >/dev/null; done; echo "valgrind: no errors, no leaks"

# A program linked with -lsoma finds libsoma.so at run time: under /usr and
# /usr/local through the loader's cache (ldconfig, run by a root install),
# elsewhere ($HOME/.local, /opt/...) through an rpath that soma.pc adds.
comma := ,
PC_RPATH := $(if $(filter /usr /usr/local,$(PREFIX)),, -Wl$(comma)-rpath$(comma)$${libdir})

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/soma.h $(DESTDIR)$(PREFIX)/include/soma.h
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/libsoma.a
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libsoma.so.$(VERSION)
	ln -sf libsoma.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libsoma.so.$(SOVERSION)
	ln -sf libsoma.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libsoma.so
	install -m 755 $(SOMA) $(DESTDIR)$(PREFIX)/bin/soma
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/^#define SOMA_VERSION_STRING "\(.*\)"/\1/p' include/soma.h)|' \
	    -e 's|@RPATH@|$(PC_RPATH)|' soma.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/soma.pc
	@if [ -z "$(DESTDIR)" ] && [ -z "$(PC_RPATH)" ] && [ "$$(id -u)" = 0 ] && \
	    command -v ldconfig >/dev/null 2>&1; then ldconfig; fi
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/lib/cmake/soma \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 docs/soma.1 $(DESTDIR)$(PREFIX)/share/man/man1/soma.1
	install -m 644 completion/soma.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/soma
	for f in somaConfig somaConfigVersion; do \
	    sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SOVERSION@|$(SOVERSION)|g' \
	        -e 's|@VERSION_MAJOR@|$(word 1,$(subst ., ,$(VERSION)))|g' \
	        -e 's|@VERSION_MINOR@|$(word 2,$(subst ., ,$(VERSION)))|g' \
	        -e "s|@SIZEOF_VOID_P@|$$(echo __SIZEOF_POINTER__ | $(CC) -E -P - | tail -n 1)|g" \
	        -e 's|@LIBS@|$(subst $(eval) ,;,$(strip $(LDLIBS)))|g' -e 's|@LIBS_TEXT@|$(LDLIBS)|g' \
	        cmake/$$f.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/soma/$$f.cmake || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/soma.h $(DESTDIR)$(PREFIX)/lib/libsoma.a \
	    $(DESTDIR)$(PREFIX)/lib/libsoma.so $(DESTDIR)$(PREFIX)/lib/libsoma.so.$(SOVERSION) \
	    $(DESTDIR)$(PREFIX)/lib/libsoma.so.$(VERSION) \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/soma.pc $(DESTDIR)$(PREFIX)/bin/soma \
	    $(DESTDIR)$(PREFIX)/share/man/man1/soma.1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/soma \
	    $(DESTDIR)$(PREFIX)/lib/cmake/soma/somaConfig.cmake \
	    $(DESTDIR)$(PREFIX)/lib/cmake/soma/somaConfigVersion.cmake
	-rmdir $(DESTDIR)$(PREFIX)/lib/cmake/soma 2>/dev/null

clean:
	rm -rf $(BUILD) build-*

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d)
