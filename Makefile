# selfexp build. `make` builds ./selfexp; `make check` runs every test and
# ends with "N passed, N failed"; `make demo` runs the protocol against the
# built-in simulated model; `make bench` runs the benchmarks (bench/).
# SANITIZE=address,undefined builds with sanitizers into a separate build
# directory; DEVELOPER=1 adds -Werror.

CC ?= cc
PKGS := libcurl libcjson libpcre2-8 gsl sqlite3 libmicrohttpd libcrypto libzstd
SHARED ?= $(abspath ../shared)
SELFEXP_SHARED ?= $(SHARED)

ifdef FUZZ
# `make fuzz` re-enters make with FUZZ=1: the library again, instrumented for
# libFuzzer, into its own build directory (tests/fuzz/, docs/fuzzing.md).
CC := clang
BUILD := build/fuzz
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
else ifdef SANITIZE
BUILD ?= build/san
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build/default
SAN_FLAGS :=
endif

WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wwrite-strings
ifdef DEVELOPER
WARNINGS += -Werror
endif

OPT ?= -O2 -g
# V=1 shows the full compiler command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(WARNINGS) $(SAN_FLAGS) -MMD -MP \
	-Iinclude -include include/selfexp/banned.h -DSX_HOME='"$(CURDIR)"' \
	$(shell cat $(BUILD)/pkg.cflags 2>/dev/null) $(CFLAGS)
LDLIBS_ALL = $(shell cat $(BUILD)/pkg.libs 2>/dev/null) -lm -lpthread $(LDLIBS)

LIB_SRC := $(wildcard src/*.c src/run/*.c src/sim/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
# Seconds each target runs in `make fuzz-smoke`.
FUZZ_SECONDS ?= 20
LIB := $(BUILD)/libselfexp.a
BIN := $(BUILD)/selfexp

.PHONY: all deps check demo clean bench fuzz fuzz-bins fuzz-smoke check-valgrind install
all: $(BIN) $(if $(SANITIZE),,selfexp)

$(BUILD)/pkg.stamp: scripts/deps.sh
	@mkdir -p $(BUILD)
	@scripts/deps.sh
	@pkg-config --cflags $(PKGS) > $(BUILD)/pkg.cflags
	@pkg-config --libs $(PKGS) > $(BUILD)/pkg.libs
	@touch $@

deps: $(BUILD)/pkg.stamp

$(BUILD)/%.o: %.c $(BUILD)/pkg.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS_ALL)

selfexp: $(BIN)
	ln -sf $(BIN) $@

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB) $(BUILD)/pkg.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(LIB) $$(pkg-config --libs cmocka) $(LDLIBS_ALL)

check: $(BIN) $(UNIT_BIN)
	@SELFEXP_BIN=$(abspath $(BIN)) SELFEXP_SHARED=$(SELFEXP_SHARED) SELFEXP_HOME=$(CURDIR) \
		BUILD=$(BUILD) tests/run.sh $(UNIT_BIN)

# libFuzzer targets, built with clang into build/fuzz/ (docs/fuzzing.md).
fuzz:
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzz-bins

fuzz-bins: $(FUZZ_BIN)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(LIB) $(BUILD)/pkg.stamp
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer,address,undefined -Itests/fuzz -o $@ $< $(LIB) \
		$(LDLIBS_ALL)

# Replays tests/fuzz/regressions/, then runs every target for FUZZ_SECONDS
# on a copy of its corpus; fails when any target crashes.
fuzz-smoke: fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/smoke.sh $(FUZZ_BIN)

# The CLI tests with the selfexp binary run under valgrind memcheck: any
# memory error or definite leak makes the binary exit 99, failing the test.
check-valgrind: $(BIN)
	@rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind
	@SELFEXP_VALGRIND=1 SELFEXP_BIN=$(CURDIR)/tests/valgrind/selfexp SELFEXP_VALGRIND_BIN=$(abspath $(BIN)) \
		SELFEXP_VALGRIND_LOGS=$(abspath $(BUILD)/valgrind) SELFEXP_SHARED=$(SELFEXP_SHARED) \
		SELFEXP_HOME=$(CURDIR) BUILD=$(BUILD)/valgrind tests/run.sh; rc=$$?; \
	tests/valgrind/summary.sh $(BUILD)/valgrind || rc=1; exit $$rc

demo: all
	./selfexp demo --out out/demo

# Benchmarks against the simulated model, beside a Python (aiohttp) peer;
# figures go to BENCHMARKS.md (bench/run.sh; BENCH_ONLY="1 2" for a subset).
bench: all
	@scripts/deps.sh python3-aiohttp
	SELFEXP_SHARED=$(SELFEXP_SHARED) bench/run.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the prompts, the
# data it needs and the manual page selfexp(1), made from the --help texts.
# The installed binary finds PREFIX/share/selfexp beside PREFIX/bin by itself.
PREFIX ?= /usr/local
SHARE_DIR = $(DESTDIR)$(PREFIX)/share/selfexp
INSTALL_DATA := data/demo.tsv data/paper100.tsv data/prices.tsv data/sim-weights.txt
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE_DIR)/data $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/selfexp
	install -m 644 $(INSTALL_DATA) $(SHARE_DIR)/data/
	cd prompts && find . -type d -exec install -d $(abspath $(SHARE_DIR))/prompts/{} \; && \
		find . -type f -exec install -m 644 {} $(abspath $(SHARE_DIR))/prompts/{} \;
	SELFEXP_HOME=$(CURDIR) scripts/make-man $(BIN) > $(DESTDIR)$(PREFIX)/share/man/man1/selfexp.1

clean:
	rm -rf build selfexp

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(FUZZ_BIN:=.d)
