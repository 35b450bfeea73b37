#!/usr/bin/env bash
# smoke.sh — start `lakehouse serve` on a temp data dir and check the ingest
# path end to end through the gateway, printing PASS/FAIL per check:
#   ingest, idempotent re-ingest, schema drift (409, live data intact),
#   malformed CSV (400 with line), oversize (413), the dataset listed with
#   the right row count. Exits 1 if any check fails. Run by `make test`.
set -u
cd "$(dirname "$0")/.."
BIN=${LAKEHOUSE_BIN:-build/lakehouse}
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
failed=0
pid=""

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"; wait "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

check() {  # check NAME CONDITION-EXIT-CODE
  if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; failed=1; fi
}

# json FILE EXPR: evaluate a Python expression over the JSON in FILE as `j`
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# ingest NAME FILE OUT -> prints the HTTP status
ingest() {
  curl -s -o "$3" -w '%{http_code}' -X POST "$url/v1/ingest?name=$1" \
       -H 'Content-Type: text/csv' --data-binary "@$2"
}

LAKEHOUSE_LOG=quiet LAKEHOUSE_INGESTD_MAX_UPLOAD_BYTES=65536 \
  "$BIN" serve --bind "127.0.0.1:$port" --data-dir "$tmp/data" >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "$url/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "$url/health" >/dev/null 2>&1; check "serve is healthy" $?

cat >"$tmp/candidates.csv" <<'CSV'
candidate_id,full_name,email,zip,skills,hourly_rate,available,start_date,last_contacted
1,Ada Byron,ada@example.com,02134,"C, SQL, Python",85.50,true,2026-01-05,2026-01-05 09:30:00
2,"Hopper, Grace",grace@example.com,10001,"COBOL, compilers",120.00,false,2026-02-01,2026-02-01 10:00:00
3,Alan Turing,alan@example.com,00501,"math, ""codes""",99.99,TRUE,2026-03-01,2026-03-01T12:00:00.250
CSV

st=$(ingest candidates "$tmp/candidates.csv" "$tmp/r1.json")
[ "$st" = 200 ] && [ "$(json "$tmp/r1.json" 'j["existing"]')" = False ] \
  && [ "$(json "$tmp/r1.json" 'j["manifest"]["version"]')" = 1 ]
check "ingest creates version 1 (HTTP $st)" $?

st=$(ingest candidates "$tmp/candidates.csv" "$tmp/r2.json")
[ "$st" = 200 ] && [ "$(json "$tmp/r2.json" 'j["existing"]')" = True ] \
  && [ "$(json "$tmp/r2.json" 'j["parquet_key"]')" = "$(json "$tmp/r1.json" 'j["parquet_key"]')" ]
check "re-ingest of the same bytes is existing:true with the same key (HTTP $st)" $?

sed 's/^1,Ada/x1,Ada/' "$tmp/candidates.csv" >"$tmp/drift.csv"
st=$(ingest candidates "$tmp/drift.csv" "$tmp/r3.json")
[ "$st" = 409 ] && [ "$(json "$tmp/r3.json" 'j["code"]')" = schema_drift ] \
  && [ "$(json "$tmp/r3.json" '[d["column"] for d in j["diff"]]')" = "['candidate_id']" ]
check "schema drift is 409 naming candidate_id (HTTP $st)" $?
curl -s -o "$tmp/m.json" "$url/v1/catalog/manifest/candidates"
[ "$(json "$tmp/m.json" 'j["version"]')" = 1 ] && [ "$(json "$tmp/m.json" 'j["row_count"]')" = 3 ]
check "after drift the live version is still 1 with 3 rows" $?

printf 'a,b\n1,2\n3\n' >"$tmp/bad.csv"
st=$(ingest bad "$tmp/bad.csv" "$tmp/r4.json")
[ "$st" = 400 ] && [ "$(json "$tmp/r4.json" 'j["line"]')" = 3 ]
check "malformed CSV is 400 with line 3 (HTTP $st)" $?

python3 -c 'import sys; sys.stdout.write("a,b\n" + "1,2\n" * 40000)' >"$tmp/big.csv"
st=$(ingest big "$tmp/big.csv" "$tmp/r5.json")
[ "$st" = 413 ] && [ "$(json "$tmp/r5.json" 'j["code"]')" = too_large ]
check "oversize upload is 413 (HTTP $st)" $?

curl -s -o "$tmp/ds.json" "$url/v1/catalog/datasets"
[ "$(json "$tmp/ds.json" '[(d["name"], d["row_count"]) for d in j["datasets"]]')" = "[('candidates', 3)]" ]
check "the catalog lists candidates with 3 rows and nothing else" $?

[ -z "$(ls -A "$tmp/data/spool" 2>/dev/null)" ]
check "no spool files are left" $?

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
[ "$rc" -eq 0 ]
check "SIGTERM stops serve cleanly (exit $rc)" $?

if [ "$failed" -ne 0 ]; then
  echo "--- serve log (last 40 lines) ---"; tail -40 "$tmp/serve.log"
  exit 1
fi
echo "smoke: all checks passed"
