# Lakehouse — one non-recursive GNU Makefile.
#
#   make            build/lakehouse (release build, -O2)
#   make run        bootstrap if needed, build, start `lakehouse serve`
#   make test       every test: unit (release + ASan/UBSan), integration, smoke, browser, mcp, iceberg
#   make unit-pg    the catalog store unit tests on a throwaway PostgreSQL
#   make asan       build/asan/ variant with -fsanitize=address,undefined
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each; docs/fuzzing.md
#   make fuzz-replay  replay the committed fuzz corpora under ASan (in make test)
#
# Sources are found by wildcard: one directory per service plus src/common/.
# Variants live in build/{release,asan}/; build/lakehouse is the release binary.

DEPS_DIR    ?= $(CURDIR)/deps
DUCKDB_DIR  ?= $(DEPS_DIR)/duckdb
BUILD       ?= build
PKGS        := libmicrohttpd libcurl jansson sqlite3 libcrypto libpq libzip libxml-2.0 avro-c poppler-glib

CC          ?= cc
ifeq ($(CC),cc)
CC          := gcc
endif
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN        := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes
CFLAGS_BASE  = -std=c17 -D_GNU_SOURCE -Isrc -I$(DUCKDB_DIR) $(PKG_CFLAGS) $(WARN) -MMD -MP -g
LDLIBS_BASE  = $(PKG_LIBS) -L$(DUCKDB_DIR) -lduckdb -Wl,-rpath,$(DUCKDB_DIR) -lpthread -lm -lstdc++

SRC_LIB     := $(sort $(wildcard src/common/*.c src/storaged/*.c src/catalogd/*.c \
                 src/ingestd/*.c src/queryd/*.c src/gateway/*.c src/serve/*.c src/cli/*.c \
                 src/search/*.c src/mcp/*.c src/documents/*.c src/iceberg/*.c))
SRC_MAIN    := src/main.c
SRC_UNIT    := $(sort $(wildcard tests/unit/*.c))
# The builtin embedder's word vectors (bootstrap converts them; ADR 0143):
# compiled in as the default of [search] glove_path.
GLOVE_PATH  ?= $(DEPS_DIR)/glove/glove-6b-100d.lhwv
$(BUILD)/release/src/search/embed_builtin.o $(BUILD)/asan/src/search/embed_builtin.o: \
    CFLAGS_BASE += -DLH_DEFAULT_GLOVE_PATH='"$(GLOVE_PATH)"'

REL_DIR     := $(BUILD)/release
ASAN_DIR    := $(BUILD)/asan
REL_CFLAGS  := -O2
ASAN_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

# The web UI's static assets are embedded in the binary (ADR 0080):
# build/gen/ui_assets.c holds htmx (fetched by bootstrap) and our CSS/JS.
GEN_DIR     := $(BUILD)/gen
HTMX_JS     := $(DEPS_DIR)/htmx/htmx.min.js
UI_ASSETS   := $(HTMX_JS) src/gateway/ui_static/app.css src/gateway/ui_static/app.js \
               src/gateway/ui_static/favicon.svg src/gateway/ui_static/favicon.ico
GEN_SRC     := $(GEN_DIR)/ui_assets.c

# usearch (HNSW, ADR 0147): bootstrap fetches its C API and NumKong (SIMD
# distance kernels for every x86-64/Arm level, chosen at run time by CPUID:
# portable, no -march) into deps/usearch/. NumKong is compiled once per
# checkout, into deps/usearch/obj/ (without sanitizers: leaf kernels; ~2.5 min
# of CPU, so not again for every build dir: each file is written aside and
# renamed, so builds in several dirs at once share it safely), c/lib.cpp once
# per variant; the
# variant's objects list carries both libraries, so every link line gets
# them after the objects. Only src/search/ann_usearch.c includes usearch.h.
USEARCH_DIR ?= $(DEPS_DIR)/usearch
NUMKONG_DIR := $(USEARCH_DIR)/numkong
NUMKONG_DEFS := -DNK_DYNAMIC_DISPATCH=1 -DNK_NATIVE_F16=0 -DNK_NATIVE_BF16=0 \
                -include $(NUMKONG_DIR)/nk_probes.h -I$(NUMKONG_DIR)/include
USEARCH_CXXFLAGS := -std=c++17 -O3 -DNDEBUG -DUSEARCH_USE_NUMKONG=1 -DUSEARCH_USE_OPENMP=0 \
                    $(NUMKONG_DEFS) -I$(USEARCH_DIR)/include -I$(USEARCH_DIR)/c -g
NUMKONG_CFLAGS := -std=c11 -O3 $(NUMKONG_DEFS) -Wno-unknown-pragmas -Wno-psabi
NUMKONG_SRC := numkong.c $(addprefix dispatch_,$(addsuffix .c,f64 f32 f16 bf16 i8 u8 u1 e4m3 e5m2 \
               other f64c f32c f16c bf16c i16 i32 i64 u16 u32 u64 i4 u4 e2m3 e3m2))
NUMKONG_OBJ := $(NUMKONG_SRC:%.c=$(USEARCH_DIR)/obj/%.o)
NUMKONG_LIB := $(USEARCH_DIR)/obj/libnumkong.a

REL_OBJ     := $(SRC_LIB:%.c=$(REL_DIR)/%.o) $(REL_DIR)/$(GEN_SRC:.c=.o) \
               $(REL_DIR)/usearch/libusearch_c.a $(NUMKONG_LIB)
ASAN_OBJ    := $(SRC_LIB:%.c=$(ASAN_DIR)/%.o) $(ASAN_DIR)/$(GEN_SRC:.c=.o) \
               $(ASAN_DIR)/usearch/libusearch_c.a $(NUMKONG_LIB)

.PHONY: all run test unit unit-asan unit-pg valgrind integration smoke browser mcp iceberg asan bootstrap clean check-banned fuzz

# Unit-test prefixes run under valgrind (plain build): everything that does
# not drive DuckDB, whose JIT-free but huge engine makes valgrind crawl (nor
# start a PDF worker: under valgrind /proc/self/exe is valgrind itself).
VALGRIND_TESTS ?= auth config json buf url http multipart names storaged catalog queryd_guard queryd_cache gateway cli_ ui_ manifest peer_client error \
                  search_text search_highlight search_tokenize search_glove search_sif search_embed mcp \
                  iceberg parquet_footer \
                  documents_chunk documents_detect documents_plain documents_normalize documents_utf8
all: $(BUILD)/lakehouse

$(DUCKDB_DIR)/libduckdb.so $(DUCKDB_DIR)/duckdb.h:
	./scripts/bootstrap.sh

bootstrap:
	./scripts/bootstrap.sh

$(HTMX_JS):
	./scripts/bootstrap.sh

# Each asset becomes `const unsigned char ui_asset_<name>[]` and its length.
$(GEN_SRC): $(UI_ASSETS)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@{ echo '/* Generated by the Makefile from the web UI assets; do not edit. */'; \
	  echo '#include <stddef.h>'; \
	  for f in $(UI_ASSETS); do n=$$(basename $$f | tr '.-' '__'); \
	    echo "extern const unsigned char ui_asset_$$n[];"; \
	    echo "extern const size_t ui_asset_$${n}_len;"; \
	    echo "const unsigned char ui_asset_$$n[] = {"; xxd -i < $$f; echo "};"; \
	    echo "const size_t ui_asset_$${n}_len = sizeof ui_asset_$$n;"; done; } > $@.tmp
	@mv $@.tmp $@

$(USEARCH_DIR)/c/lib.cpp $(USEARCH_DIR)/c/usearch.h $(NUMKONG_DIR)/nk_probes.h:
	./scripts/bootstrap.sh

$(USEARCH_DIR)/obj/%.o: $(NUMKONG_DIR)/c/%.c | $(NUMKONG_DIR)/nk_probes.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(NUMKONG_CFLAGS) -c $< -o $@.$$$$.tmp && mv -f $@.$$$$.tmp $@

$(NUMKONG_LIB): $(NUMKONG_OBJ)
	@ar rcs $@.$$$$.tmp $^ && mv -f $@.$$$$.tmp $@

# The ASan variant's copy is built with the same sanitizers as our code.
$(REL_DIR)/usearch/libusearch_c.a: $(USEARCH_DIR)/c/lib.cpp | $(NUMKONG_DIR)/nk_probes.h
	@mkdir -p $(dir $@)
	@echo "  CXX     $<"
	@$(CXX) $(USEARCH_CXXFLAGS) -c $< -o $(@:.a=.o)
	@rm -f $@ && ar rcs $@ $(@:.a=.o)

$(ASAN_DIR)/usearch/libusearch_c.a: $(USEARCH_DIR)/c/lib.cpp | $(NUMKONG_DIR)/nk_probes.h
	@mkdir -p $(dir $@)
	@echo "  CXX asan $<"
	@$(CXX) $(USEARCH_CXXFLAGS) $(ASAN_CFLAGS) -c $< -o $(@:.a=.o)
	@rm -f $@ && ar rcs $@ $(@:.a=.o)

$(REL_DIR)/src/search/ann_usearch.o $(ASAN_DIR)/src/search/ann_usearch.o: CFLAGS_BASE += -I$(USEARCH_DIR)/c
$(REL_DIR)/src/search/ann_usearch.o $(ASAN_DIR)/src/search/ann_usearch.o: | $(USEARCH_DIR)/c/usearch.h

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

# The catalog store contract again on PostgreSQL (release and ASan builds):
# tests/pg_unit.py starts a cluster in a temp dir, runs them, stops it.
unit-pg: $(REL_DIR)/unit-tests $(ASAN_DIR)/unit-tests
	python3 tests/pg_unit.py ./$(REL_DIR)/unit-tests ./$(ASAN_DIR)/unit-tests

valgrind: $(REL_DIR)/unit-tests
	@for t in $(VALGRIND_TESTS); do \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	    ./$(REL_DIR)/unit-tests $$t || exit 1; \
	done

integration: $(BUILD)/lakehouse
	python3 tests/integration/run.py

smoke: $(BUILD)/lakehouse
	bash scripts/smoke.sh

# The web UI in a real browser: Debian's chromium driven by playwright-core
# (tests/browser/); screenshots land in test-output/.
browser: $(BUILD)/lakehouse
	NODE_PATH=$(DEPS_DIR)/node/node_modules node --test tests/browser/

# The MCP server with real clients (tests/mcp/): the official TypeScript SDK
# over stdio and Streamable HTTP, and the MCP Inspector's CLI (ADR 0162).
mcp: $(BUILD)/lakehouse
	LAKEHOUSE_BIN=$${LAKEHOUSE_BIN:-$(abspath $(BUILD))/lakehouse} \
	  NODE_PATH=$(DEPS_DIR)/node/node_modules node --test tests/mcp/

# Every dataset as an Iceberg table, read by real clients (tests/iceberg/):
# iceberg-js over the REST catalog, icebird over the files (ADR 0238).
iceberg: $(BUILD)/lakehouse
	LAKEHOUSE_BIN=$${LAKEHOUSE_BIN:-$(abspath $(BUILD))/lakehouse} \
	  node --test tests/iceberg/

test: bootstrap
	$(MAKE) $(BUILD)/lakehouse $(REL_DIR)/unit-tests $(ASAN_DIR)/unit-tests $(BUILD)/bench/gen_staffing \
	  $(BUILD)/tests/gen_xlsx
	$(MAKE) unit unit-asan unit-pg valgrind fuzz-replay integration smoke browser mcp iceberg

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
FUZZ_TARGETS := csv key config json multipart s3xml http_policy sql_allow schema tokenize glove index \
                text_index search_sql mcp json_reader format
FUZZ_SRC_csv       := src/ingestd/csv.c src/ingestd/csv_reader.c src/ingestd/format.c \
                      src/ingestd/infer.c src/ingestd/batch.c src/common/sha256.c \
                      src/common/schema.c src/common/calendar.c \
                      src/ingestd/json_scan.c src/ingestd/json_reader.c src/ingestd/scan_window.c \
                      tests/fuzz/stub_formats.c
FUZZ_SRC_json_reader := $(FUZZ_SRC_csv)
FUZZ_SRC_format    := $(FUZZ_SRC_csv)
FUZZ_SRC_key       := src/storaged/range.c src/common/keys.c
FUZZ_SRC_config    := src/common/config.c src/common/http_policy.c src/common/tokens.c \
                      src/common/sha256.c src/common/random.c
FUZZ_SRC_json      := src/catalogd/catalog.c src/common/names.c src/common/sha256.c \
                      src/common/schema.c src/common/calendar.c \
                      src/common/keys.c src/common/manifest.c
FUZZ_SRC_multipart := src/ingestd/multipart.c
FUZZ_SRC_s3xml     := src/storaged/s3_xml.c
FUZZ_SRC_http_policy := src/common/http_policy.c src/common/config.c src/common/tokens.c \
                        src/common/sha256.c src/common/random.c
FUZZ_SRC_sql_allow := src/queryd/sql_allow.c src/queryd/sql_functions.c
FUZZ_SRC_schema    := src/common/schema.c src/common/calendar.c src/common/sha256.c
FUZZ_SRC_tokenize  := src/search/tokenize.c
FUZZ_SRC_glove     := src/search/glove.c
FUZZ_SRC_index     := src/catalogd/catalog_index.c src/catalogd/catalog.c src/common/manifest.c \
                      src/common/names.c src/common/sha256.c src/common/schema.c \
                      src/common/calendar.c src/common/keys.c
FUZZ_SRC_text_index := src/search/text_index.c src/search/tokenize.c src/search/highlight.c \
                       src/common/buf.c
FUZZ_SRC_search_sql := src/queryd/search_sql_scan.c src/queryd/sql_guard.c src/common/buf.c
FUZZ_SRC_mcp       := src/mcp/mcp_protocol.c src/mcp/mcp_tools.c src/common/buf.c src/common/url.c
# the Parquet footer reader and Iceberg's metrics (ADR 0232)
FUZZ_TARGETS       += parquet_footer
FUZZ_SRC_parquet_footer := src/iceberg/parquet_footer.c src/iceberg/iceberg_bounds.c
# the Excel reader's pure pieces (xlsx_cell.c, ADR 0186)
FUZZ_TARGETS       += xlsx
FUZZ_SRC_xlsx      := src/ingestd/xlsx_cell.c src/common/schema.c src/common/calendar.c \
                      src/common/sha256.c

# the documents module's pure parts (detection, normalisation, chunking; ADR 0220, 0221)
FUZZ_TARGETS       += documents
FUZZ_SRC_documents := src/documents/documents.c src/documents/chunk.c src/common/buf.c \
                      tests/fuzz/stub_documents.c

define FUZZ_RULE
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/fuzz.h $(FUZZ_SRC_$(1)) $(FUZZ_COMMON)
	@mkdir -p $(FUZZ_DIR)
	@echo "  CLANG   $$@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_COMMON) $(FUZZ_LIBS)

$(ASAN_DIR)/fuzz/replay_$(1): $(ASAN_DIR)/tests/fuzz/replay.o $(ASAN_DIR)/tests/fuzz/fuzz_$(1).o $(ASAN_OBJ)
	@mkdir -p $$(dir $$@)
	@echo "  LD asan $$@"
	@$(CC) $(ASAN_CFLAGS) -o $$@ $$^ $(LDLIBS_BASE)
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

# The Excel workbooks of tests/integration/test_xlsx_ingest.py, written by a
# real spreadsheet writer: Debian's libxlsxwriter (ADR 0186). A test tool,
# not part of the lakehouse: only this target links libxlsxwriter.
$(BUILD)/tests/gen_xlsx: tests/integration/gen_xlsx.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(REL_CFLAGS) -std=c17 -D_GNU_SOURCE $(WARN) $(shell pkg-config --cflags xlsxwriter) \
	  -o $@ $< $(shell pkg-config --libs xlsxwriter)

# Benchmarks (bench/README.md): the staffing CSV generator and the CSV ->
# Parquet comparison against DuckDB's own COPY.
.PHONY: bench
bench: $(BUILD)/bench/gen_staffing $(BUILD)/bench/convert_bench $(BUILD)/bench/csv_scan_bench

$(BUILD)/bench/gen_staffing: bench/gen_staffing.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -std=c17 -D_GNU_SOURCE $(WARN) -o $@ $<

# The CSV scanner alone (bench/README.md, "Issue 16: delimiters").
$(BUILD)/bench/csv_scan_bench: bench/csv_scan_bench.c src/ingestd/csv.c src/common/error.c \
    src/common/json.c src/common/xmalloc.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(REL_CFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/convert_bench: bench/convert_bench.c $(REL_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_BASE) $(REL_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS_BASE)

# NDJSON ingest against DuckDB's COPY (FROM read_json(...)) TO parquet
# (bench/README.md, "Issue 16: NDJSON ingest"): `make bench-ndjson
# [NDJSON_BYTES=1G]`. Not part of `make test`.
NDJSON_BYTES ?= 1G
.PHONY: bench-ndjson
$(BUILD)/bench/json_copy_bench: bench/json_copy_bench.c | $(DUCKDB_DIR)/duckdb.h
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -std=c17 -D_GNU_SOURCE $(WARN) -I$(DUCKDB_DIR) -o $@ $< \
		-L$(DUCKDB_DIR) -lduckdb -Wl,-rpath,$(DUCKDB_DIR)
bench-ndjson: $(BUILD)/lakehouse $(BUILD)/bench/json_copy_bench
	LAKEHOUSE_BIN=$(abspath $(BUILD)/lakehouse) LH_BENCH_BUILD=$(abspath $(BUILD)) \
		/usr/bin/python3 bench/ndjson_bench.py --bytes $(NDJSON_BYTES)

# The BM25 text index part (bench/README.md "Text index", ADR 0146): build
# time, memory and query latency over generated profiles. Not a test.
TEXT_BENCH_OBJ := $(REL_DIR)/src/search/text_index.o $(REL_DIR)/src/search/tokenize.o \
                  $(REL_DIR)/src/common/buf.o $(REL_DIR)/src/common/error.o \
                  $(REL_DIR)/src/common/xmalloc.o $(REL_DIR)/src/common/json.o
$(BUILD)/bench/text_index_bench: bench/text_index_bench.c $(TEXT_BENCH_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_BASE) $(REL_CFLAGS) -o $@ $^ $(LDLIBS_BASE)

# The ANN curve on the GloVe vectors (bench/README.md "ANN on the GloVe
# vectors", ADR 0147): ann.h (usearch) against hnswlib (Debian's
# python3-hnswlib, which the bench asks for). Not part of `make test`.
.PHONY: bench-ann
ANN_BENCH_OBJ := $(REL_DIR)/src/search/ann_usearch.o $(REL_DIR)/src/common/error.o \
                 $(REL_DIR)/src/common/buf.o $(REL_DIR)/src/common/xmalloc.o \
                 $(REL_DIR)/src/common/json.o $(REL_DIR)/usearch/libusearch_c.a $(NUMKONG_LIB)
$(BUILD)/bench/ann_bench: bench/ann_bench.c $(ANN_BENCH_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_BASE) $(REL_CFLAGS) -o $@ $^ $(LDLIBS_BASE)

bench-ann: $(BUILD)/bench/ann_bench
	/usr/bin/python3 bench/ann_bench.py --bin $(BUILD)/bench/ann_bench

# The search benchmarks (bench/README.md "Search", ADR 0149): generated
# staffing profiles, search quality against graded judgements, and speed
# (build, latency, HNSW against DuckDB's exact search in-process). Not part
# of `make test`.
.PHONY: bench-search
$(BUILD)/bench/exact_knn: bench/search/exact_knn.c | $(DUCKDB_DIR)/duckdb.h
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -std=c17 -D_GNU_SOURCE $(WARN) -I$(DUCKDB_DIR) -o $@ $< \
		-L$(DUCKDB_DIR) -lduckdb -Wl,-rpath,$(DUCKDB_DIR)

# speed.py builds the index (and measures the build) in a fresh data dir;
# quality.py then searches the same data without building again.
bench-search: $(BUILD)/lakehouse $(BUILD)/bench/exact_knn
	rm -rf $(BUILD)/bench/search-serve
	LAKEHOUSE_BIN=$(abspath $(BUILD))/lakehouse LH_BENCH_BUILD=$(abspath $(BUILD)) \
		python3 bench/search/speed.py --data-dir $(BUILD)/bench/search-serve
	LAKEHOUSE_BIN=$(abspath $(BUILD))/lakehouse \
		python3 bench/search/quality.py --data-dir $(BUILD)/bench/search-serve
	rm -rf $(BUILD)/bench/search-serve

# Search feedback, measured (issue 17, ADR 0190; bench/README.md "Feedback"):
# lift, harm and cross-talk on 50,000 generated profiles, a fresh serve.
# Not part of make test (a few minutes).
.PHONY: bench-feedback
bench-feedback: $(BUILD)/lakehouse
	LAKEHOUSE_BIN=$(abspath $(BUILD))/lakehouse python3 bench/feedback_bench.py

# Document text extraction per format and the PDF worker's cost
# (bench/README.md "Documents: extraction", ADR 0220): 200 generated
# resumes and the test documents. Not part of make test.
.PHONY: bench-documents
$(BUILD)/bench/documents_bench: bench/documents_bench.c $(REL_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_BASE) $(REL_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS_BASE)

bench-documents: $(BUILD)/bench/documents_bench
	python3 tests/documents/make_docs.py --resumes 200 $(BUILD)/bench/documents/resumes
	python3 tests/documents/make_docs.py --fixtures $(BUILD)/bench/documents/fixtures
	./$(BUILD)/bench/documents_bench --rounds 3 $(BUILD)/bench/documents/resumes
	./$(BUILD)/bench/documents_bench --rounds 3 $(BUILD)/bench/documents/fixtures/pages-500.pdf \
	  $(BUILD)/bench/documents/fixtures/page.html $(BUILD)/bench/documents/fixtures/notes.md
	$(MAKE) bench-documents-ingest

# Issue 18 point 5 (bench/README.md "Issue 18: documents", ADR 0225): 1,000
# generated resumes (make_docs.py, cached in bench/out/documents/) ingested
# end to end through the CLI and until the text index is ready, against
# pdftotext + pandoc on the same files. Also run last by bench-documents.
.PHONY: bench-documents-ingest
bench-documents-ingest: $(BUILD)/lakehouse
	python3 bench/documents_ingest_bench.py 1000
