# Lakehouse — one non-recursive GNU Makefile.
#
#   make            build/lakehouse (release build, -O2)
#   make run        bootstrap if needed, build, start `lakehouse serve`
#   make test       every test: unit (release + ASan/UBSan), integration, smoke
#   make asan       build/asan/ variant with -fsanitize=address,undefined
#   make fuzz       libFuzzer targets (clang)
#
# Sources are found by wildcard: one directory per service plus src/common/.
# Variants live in build/{release,asan}/; build/lakehouse is the release binary.

DEPS_DIR    ?= $(CURDIR)/deps
DUCKDB_DIR  ?= $(DEPS_DIR)/duckdb
BUILD       ?= build
PKGS        := libmicrohttpd libcurl jansson sqlite3 libcrypto libpq

CC          ?= cc
ifeq ($(CC),cc)
CC          := gcc
endif
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN        := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes
CFLAGS_BASE  = -std=c17 -D_GNU_SOURCE -Isrc -I$(DUCKDB_DIR) $(PKG_CFLAGS) $(WARN) -MMD -MP -g
LDLIBS_BASE  = $(PKG_LIBS) -L$(DUCKDB_DIR) -lduckdb -Wl,-rpath,$(DUCKDB_DIR) -lpthread -lm

SRC_LIB     := $(sort $(wildcard src/common/*.c src/storaged/*.c src/catalogd/*.c \
                 src/ingestd/*.c src/queryd/*.c src/gateway/*.c src/serve/*.c src/cli/*.c))
SRC_MAIN    := src/main.c
SRC_UNIT    := $(sort $(wildcard tests/unit/*.c))

REL_DIR     := $(BUILD)/release
ASAN_DIR    := $(BUILD)/asan
REL_CFLAGS  := -O2
ASAN_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

REL_OBJ     := $(SRC_LIB:%.c=$(REL_DIR)/%.o)
ASAN_OBJ    := $(SRC_LIB:%.c=$(ASAN_DIR)/%.o)

.PHONY: all run test unit unit-asan valgrind integration smoke asan bootstrap clean check-banned fuzz

# Unit-test prefixes run under valgrind (plain build): everything that does
# not drive DuckDB, whose JIT-free but huge engine makes valgrind crawl.
VALGRIND_TESTS ?= config json http multipart names storaged catalog queryd_guard queryd_cache gateway cli_
all: $(BUILD)/lakehouse

$(DUCKDB_DIR)/libduckdb.so $(DUCKDB_DIR)/duckdb.h:
	./scripts/bootstrap.sh

bootstrap:
	./scripts/bootstrap.sh

$(REL_DIR)/%.o: %.c | $(DUCKDB_DIR)/duckdb.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_BASE) $(REL_CFLAGS) -c $< -o $@

$(ASAN_DIR)/%.o: %.c | $(DUCKDB_DIR)/duckdb.h
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(CFLAGS_BASE) $(ASAN_CFLAGS) -c $< -o $@

$(BUILD)/lakehouse: $(REL_OBJ) $(REL_DIR)/src/main.o | check-banned
	@echo "  LD      $@"
	@$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS_BASE)

$(REL_DIR)/unit-tests: $(REL_OBJ) $(SRC_UNIT:%.c=$(REL_DIR)/%.o)
	@echo "  LD      $@"
	@$(CC) $(REL_CFLAGS) -o $@ $^ $(LDLIBS_BASE)

$(ASAN_DIR)/unit-tests: $(ASAN_OBJ) $(SRC_UNIT:%.c=$(ASAN_DIR)/%.o)
	@echo "  LD      $@"
	@$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LDLIBS_BASE)

$(ASAN_DIR)/lakehouse: $(ASAN_OBJ) $(ASAN_DIR)/src/main.o
	@echo "  LD      $@"
	@$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LDLIBS_BASE)

asan: $(ASAN_DIR)/lakehouse $(ASAN_DIR)/unit-tests

# Banned functions (STYLE.md): keep them out of our sources.
check-banned:
	@if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|sscanf|gets)\s*\(' $(SRC_LIB) $(SRC_MAIN); then \
	  echo "banned function used (see docs/adr/0002-build.md)"; exit 1; fi

run: bootstrap $(BUILD)/lakehouse
	./$(BUILD)/lakehouse serve

unit: $(REL_DIR)/unit-tests
	./$(REL_DIR)/unit-tests

unit-asan: $(ASAN_DIR)/unit-tests
	ASAN_OPTIONS=detect_leaks=1 ./$(ASAN_DIR)/unit-tests

valgrind: $(REL_DIR)/unit-tests
	@for t in $(VALGRIND_TESTS); do \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	    ./$(REL_DIR)/unit-tests $$t || exit 1; \
	done

integration: $(BUILD)/lakehouse
	python3 tests/integration/run.py

smoke: $(BUILD)/lakehouse
	bash scripts/smoke.sh

test: bootstrap
	$(MAKE) $(BUILD)/lakehouse $(REL_DIR)/unit-tests $(ASAN_DIR)/unit-tests $(BUILD)/bench/gen_staffing
	$(MAKE) unit unit-asan valgrind integration smoke

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Benchmarks (bench/README.md): the staffing CSV generator and the CSV ->
# Parquet comparison against DuckDB's own COPY.
.PHONY: bench
bench: $(BUILD)/bench/gen_staffing $(BUILD)/bench/convert_bench

$(BUILD)/bench/gen_staffing: bench/gen_staffing.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -std=c17 -D_GNU_SOURCE $(WARN) -o $@ $<

$(BUILD)/bench/convert_bench: bench/convert_bench.c $(REL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(REL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS_BASE)
