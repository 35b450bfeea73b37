# Lakehouse — one non-recursive GNU Makefile.
#
#   make            build/lakehouse (release build, -O2)
#   make run        bootstrap if needed, build, start `lakehouse serve`
#   make test       every test: unit (release + ASan/UBSan), integration, smoke
#   make asan       build/asan/ variant with -fsanitize=address,undefined
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each; docs/fuzzing.md
#   make fuzz-replay  replay the committed fuzz corpora under ASan (in make test)
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
	$(MAKE) unit unit-asan valgrind fuzz-replay integration smoke

# ---- fuzz ------------------------------------------------------------------
# One libFuzzer target per pure parser (tests/fuzz/fuzz_<t>.c, docs/fuzzing.md),
# built by clang with only the sources it needs. `make fuzz` runs each target
# in turn for FUZZ_SECONDS on a copy of its committed corpus (new inputs stay
# in build/fuzz/corpus/<t>) and prints libFuzzer's executions and coverage;
# a crash stops it with the input in build/fuzz/crash-<t>-*. `make fuzz-replay`
# (part of `make test`) feeds every committed corpus file to the same drivers
# built by gcc with ASan/UBSan (tests/fuzz/replay.c), without libFuzzer.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CFLAGS  := -std=c17 -D_GNU_SOURCE -Isrc -Itests/fuzz $(WARN) -g -O1 \
                -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all $(shell pkg-config --cflags jansson 2>/dev/null)
FUZZ_LIBS    := $(shell pkg-config --libs jansson libcrypto 2>/dev/null)
FUZZ_COMMON  := src/common/error.c src/common/json.c src/common/xmalloc.c
FUZZ_TARGETS := csv key config json multipart s3xml
FUZZ_SRC_csv       := src/ingestd/csv.c src/ingestd/infer.c src/common/sha256.c
FUZZ_SRC_key       := src/storaged/key.c
FUZZ_SRC_config    := src/common/config.c
FUZZ_SRC_json      := src/catalogd/catalog.c src/common/names.c src/common/sha256.c \
                      src/storaged/key.c
FUZZ_SRC_multipart := src/ingestd/multipart.c
FUZZ_SRC_s3xml     := src/storaged/s3_xml.c

define FUZZ_RULE
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/fuzz.h $(FUZZ_SRC_$(1)) $(FUZZ_COMMON)
	@mkdir -p $(FUZZ_DIR)
	@echo "  CLANG   $$@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_COMMON) $(FUZZ_LIBS)

$(ASAN_DIR)/fuzz/replay_$(1): $(ASAN_DIR)/tests/fuzz/replay.o $(ASAN_DIR)/tests/fuzz/fuzz_$(1).o $(ASAN_OBJ)
	@mkdir -p $$(dir $$@)
	$(CC) $(ASAN_CFLAGS) -o $$@ $$^ $(LDLIBS_BASE)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

.PHONY: fuzz-build fuzz-replay
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

# Targets run one after another (never in parallel): FUZZ_SECONDS each.
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf $(FUZZ_DIR)/corpus/$$t && mkdir -p $(FUZZ_DIR)/corpus && \
	  cp -r tests/fuzz/corpus/$$t $(FUZZ_DIR)/corpus/$$t || exit 1; \
	  echo "  FUZZ    $$t for $(FUZZ_SECONDS)s (log: $(FUZZ_DIR)/$$t.log)"; \
	  ./$(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/crash-$$t- $(FUZZ_DIR)/corpus/$$t >$(FUZZ_DIR)/$$t.log 2>&1; \
	  rc=$$?; \
	  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' $(FUZZ_DIR)/$$t.log | sed "s/^/  $$t: /"; \
	  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' $(FUZZ_DIR)/$$t.log | sed "s/^/  $$t: /"; \
	  if [ $$rc -ne 0 ]; then tail -40 $(FUZZ_DIR)/$$t.log; echo "fuzz_$$t failed: see $(FUZZ_DIR)/$$t.log"; exit 1; fi; \
	done

fuzz-replay: $(FUZZ_TARGETS:%=$(ASAN_DIR)/fuzz/replay_%)
	@for t in $(FUZZ_TARGETS); do \
	  printf '  REPLAY  %-10s ' $$t; \
	  ASAN_OPTIONS=detect_leaks=1 ./$(ASAN_DIR)/fuzz/replay_$$t tests/fuzz/corpus/$$t || exit 1; \
	done
# ---- end fuzz --------------------------------------------------------------

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
