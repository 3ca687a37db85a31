# enquete — plain Makefile. `make help` lists the targets.
PREFIX   ?= /usr/local
CC       ?= cc
PKGS      = libcurl libetpan inih sqlite3 libcjson cairo fontconfig libxml-2.0 gnutls
TEST_PKGS = criterion

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) \
             -DENQUETE_DATADIR='"$(PREFIX)/share/enquete"'
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEP_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lm
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# Quiet by default; `make V=1` shows the commands.
Q = $(if $(V),,@)

# BUILD is build/ normally and build/asan/ for the sanitizer run.
BUILD   ?= build
LIB_SRC  = $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  = $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
TESTS    = $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))
TEST_BIN = $(TESTS:%=$(BUILD)/tests/%)
# `make check T=reply` runs tests/test_reply.c only.
ifdef T
TEST_BIN = $(BUILD)/tests/test_$(T)
endif

.PHONY: all deps-check check check-unit check-asan check-e2e conformance bench \
        demo install clean format lint help asan fuzz fuzz-build fuzz-smoke

all: deps-check $(BUILD)/enquete

deps-check:
	@pkg-config --exists $(PKGS) && test -e /usr/include/csv.h || \
	  { echo "enquete: missing build dependencies: run scripts/install-deps" >&2; exit 1; }

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(DEP_CFLAGS) -c -o $@ $<

$(BUILD)/libenquete.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/enquete: src/main.c $(BUILD)/libenquete.a
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(DEP_CFLAGS) -o $@ $< $(BUILD)/libenquete.a $(DEP_LIBS) $(LDFLAGS)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libenquete.a
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(DEP_CFLAGS) $(TEST_CFLAGS) -Isrc -Itests \
	  -DFIXTURES='"$(CURDIR)/tests/fixtures"' -o $@ $< $(BUILD)/libenquete.a \
	  $(DEP_LIBS) $(TEST_LIBS) $(LDFLAGS)

# Unit and integration tests, then the same tests under ASan+UBSan.
check: deps-check
	@$(MAKE) --no-print-directory check-unit
	@$(MAKE) --no-print-directory check-asan

check-unit: $(TEST_BIN) $(BUILD)/enquete
	@scripts/run-tests $(BUILD) $(TEST_BIN)

check-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan CFLAGS="-O1 -g $(SAN)" \
	  LDFLAGS="$(SAN)" check-unit

check-e2e: all $(BUILD)/tests/test_source
	@scripts/run-e2e

# build/asan/enquete (ASan+UBSan) for running by hand and in tests; the same
# build directory check-asan uses.
asan:
	@$(MAKE) --no-print-directory BUILD=build/asan CFLAGS="-O1 -g $(SAN)" \
	  LDFLAGS="$(SAN)" build/asan/enquete

# libFuzzer targets (fuzz/fuzz_*.c): the library compiled again with clang and
# fuzzer instrumentation into build/fuzz/. `make fuzz FUZZ_SECONDS=N` runs each
# target N seconds on its own corpus (build/fuzz/corpus/NAME), seeded from
# tests/fixtures and ../shared/corpora when present. Crashes land in
# build/fuzz/crashes/NAME/. FUZZ_BUILD=DIR builds and runs in DIR instead
# (two people fuzzing at once). fuzz/README.md says what each target feeds.
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=c11 -D_GNU_SOURCE -O1 -g $(FUZZ_SAN) \
               -DENQUETE_DATADIR='"$(PREFIX)/share/enquete"'
FUZZ_OBJ     = $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_TARGETS = $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BIN     = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)
CORPORA      = $(wildcard ../shared/corpora)

$(FUZZ_BUILD)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEP_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libenquete.a: $(FUZZ_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(wildcard fuzz/*.h) $(FUZZ_BUILD)/libenquete.a
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Wall -Wextra -Wno-unused-command-line-argument \
	  -fsanitize=fuzzer $(DEP_CFLAGS) -Isrc \
	  -DFIXTURES='"$(CURDIR)/tests/fixtures"' -o $@ $< $(FUZZ_BUILD)/libenquete.a $(DEP_LIBS)

fuzz-build: deps-check $(FUZZ_BIN)

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The CI smoke: every target 10 seconds.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

conformance: all
	@scripts/conformance

bench: all
	@scripts/run-bench

demo: all
	@scripts/demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/enquete \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/enquete $(DESTDIR)$(PREFIX)/bin/enquete
	cp -R templates campaigns $(DESTDIR)$(PREFIX)/share/enquete/
	install -m 0644 config.ini.example $(DESTDIR)$(PREFIX)/share/enquete/
	test ! -f docs/enquete.1 || install -m 0644 docs/enquete.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -d $(DESTDIR)$(PREFIX)/share/doc/enquete
	install -m 0644 docs/guide.md docs/admin.md docs/architecture.md docs/privacy.md \
	  docs/security.md $(DESTDIR)$(PREFIX)/share/doc/enquete/
	cp -R docs/systemd $(DESTDIR)$(PREFIX)/share/doc/enquete/

clean:
	rm -rf build demo

format:
	clang-format -i src/*.c src/*.h tests/*.c $(wildcard tests/*.h)

# Banned calls (../shared/STYLE.md) and a format check.
lint:
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol)[[:space:]]*\(' \
	  src/*.c src/*.h || { echo "lint: banned call above" >&2; exit 1; }
	@echo "lint: ok"

help:
	@echo "make            build build/enquete"
	@echo "make check      unit+integration tests, then again under ASan+UBSan (T=module for one)"
	@echo "make check-e2e  tests against real local servers"
	@echo "make asan       build/asan/enquete with ASan+UBSan"
	@echo "make fuzz       every libFuzzer target FUZZ_SECONDS (60) · make fuzz-smoke: 10 s each"
	@echo "make demo       simulated half year on maildir, in demo/"
	@echo "make bench      benchmarks"
	@echo "make conformance  scores against ../shared/corpora (skips if absent)"
	@echo "make install PREFIX=/usr/local · make clean · make format · make lint"
