#!/usr/bin/env bash
# make_datadir_fixture.sh — write the data directory that test_upgrade.py
# upgrades (issue 15 point 5, ADR 0175): a few small datasets made by the
# PREVIOUS release's binary, stopped cleanly, plus expected.json, what that
# release answered for every dataset and version (manifests and rows).
#
# The previous release is commit cf28c33 (the last commit before issue 15's
# schema evolution). Build it aside, never inside this checkout's history:
#
#   git worktree add /tmp/prev cf28c33
#   make -C /tmp/prev -j2 DEPS_DIR=$PWD/deps build/lakehouse
#   tests/integration/make_datadir_fixture.sh /tmp/prev/build/lakehouse
#   git worktree remove /tmp/prev
#
# Usage: make_datadir_fixture.sh PREV_BINARY [OUT_DIR]
# OUT_DIR defaults to tests/integration/fixtures/datadir-r24 and is replaced.
# What it makes (each dataset's fingerprint is a SPEC 5 vector where one fits):
#   candidates   v1 3 rows, v2 +2 appended; the SPEC 5 candidates schema;
#                a search index on full_name (declared at v1, built for v1, v2)
#   people       v1 (id,name), v2 replaced; SPEC 5's first vector
#   placements   v1: zero-padded codes, quoted commas and newlines, nulls,
#                UTC timestamps
#   timesheets   v1: a float column of whole and fractional hours
# and expected.json's "drift": the 409 the release answered to a real drift
# (text into people's int64 id), whose object stays behind as an orphan.
set -euo pipefail

BIN=${1:?usage: make_datadir_fixture.sh PREV_BINARY [OUT_DIR]}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${2:-$HERE/fixtures/datadir-r24}
WORK=$(mktemp -d /tmp/lh-fixture-XXXXXX)
DATA=$WORK/data
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export LAKEHOUSE_URL=http://127.0.0.1:$PORT
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve --data-dir "$DATA" --bind 127.0.0.1:$PORT --log quiet >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
	curl -fsS "$LAKEHOUSE_URL/health" >/dev/null 2>&1 && break
	sleep 0.2
done

cat >"$WORK/candidates1.csv" <<'EOF'
candidate_id,full_name,zip,hourly_rate,available,start_date,last_contacted
1,Ada Byron,02134,41.5,true,2024-01-08,2024-03-01 09:30:00
2,Grace Hopper,10001,55.25,false,2023-11-20,2024-02-28T16:45:12.5
3,Linus Torvalds,,38,TRUE,,
EOF
cat >"$WORK/candidates2.csv" <<'EOF'
candidate_id,full_name,zip,hourly_rate,available,start_date,last_contacted
4,Barbara Liskov,94305,61.75,true,2024-04-02,2024-04-01 08:00:00.000001
5,"Hopper, Grace B.",00501,0.5,false,2024-02-29,2024-02-29 23:59:59
EOF
cat >"$WORK/people1.csv" <<'EOF'
id,name
1,Ada
2,Grace
EOF
cat >"$WORK/people2.csv" <<'EOF'
id,name
3,Linus
4,Barbara
5,Édouard
EOF
cat >"$WORK/placements.csv" <<'EOF'
placement_id,client_code,notes,placed_at,bill_rate
P-001,007,"Forklift, reach truck",2024-05-01T08:00:00Z,31.5
P-002,0420,"two
lines",2024-05-02T09:15:00+02:00,
P-003,,"says ""hi""",2024-05-03T00:00:00-05:00,29
EOF
cat >"$WORK/timesheets.csv" <<'EOF'
week,worker_id,regular_hours
2024-05-06,1,40
2024-05-06,2,37.5
2024-05-13,1,
EOF

"$BIN" ingest candidates "$WORK/candidates1.csv"
"$BIN" index candidates --text full_name --id candidate_id
"$BIN" ingest candidates "$WORK/candidates2.csv" --mode append
"$BIN" ingest people "$WORK/people1.csv"
"$BIN" ingest people "$WORK/people2.csv" --mode replace
"$BIN" ingest placements "$WORK/placements.csv"
"$BIN" ingest timesheets "$WORK/timesheets.csv"

# every version of the index built (ready), so the fixture holds build records
for _ in $(seq 300); do
	if curl -fsS "$LAKEHOUSE_URL/v1/catalog/index/candidates" | python3 -c '
import json, sys
v = json.load(sys.stdin)["versions"]
sys.exit(0 if len(v) == 2 and all(x["state"] == "ready" for x in v) else 1)'; then
		break
	fi
	sleep 0.2
done

# what the previous release answers, for test_upgrade.py to compare with
python3 - "$LAKEHOUSE_URL" >"$WORK/expected.json" <<'EOF'
import json, sys, urllib.error, urllib.request
url = sys.argv[1]
def get(path):
    with urllib.request.urlopen(url + path) as r:
        return json.load(r)
def query(sql):
    req = urllib.request.Request(url + "/v1/query", method="POST",
                                 data=json.dumps({"sql": sql, "format": "json"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        a = json.load(r)
    return {"columns": a["columns"], "rows": a["rows"]}
out = {"release": "cf28c33", "datasets": {}}
for d in get("/v1/catalog/datasets")["datasets"]:
    name = d["name"]
    versions = {}
    for v in get("/v1/catalog/versions/%s" % name)["versions"]:
        n = v["version"]
        m = get("/v1/catalog/manifest/%s?version=%d" % (name, n))
        versions[str(n)] = {"manifest": m, "result": query('SELECT * FROM "%s@%d"' % (name, n))}
    out["datasets"][name] = {"latest": d["version"], "versions": versions}
out["index"] = get("/v1/catalog/index/candidates")
# real drift (text into an int64 column): the 409 body the release answered
drift = {"path": "/v1/ingest?name=people&mode=append", "body": "id,name\nabc,Zed\n"}
req = urllib.request.Request(url + drift["path"], method="POST", data=drift["body"].encode(),
                             headers={"Content-Type": "text/csv"})
try:
    urllib.request.urlopen(req)
    raise SystemExit("the drift upload was accepted")
except urllib.error.HTTPError as e:
    drift["status"] = e.code
    drift["answer"] = json.load(e)
out["drift"] = drift
json.dump(out, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
sys.stdout.write("\n")
EOF

kill -TERM "$PID"
wait "$PID" || true
PID=

# the data directory as the release left it, minus queryd's cache (derived,
# refetched on demand) and the empty spool
rm -rf "$DATA/cache" "$DATA/spool" "$DATA/objects/.tmp"
rm -rf "$OUT"
mkdir -p "$OUT"
cp -a "$DATA" "$OUT/data"
cp "$WORK/expected.json" "$OUT/expected.json"
echo "wrote $OUT ($(du -sh "$OUT" | cut -f1))"
