"""The scale-out layout of docs/deploy.md, brought up from the docs' own files
(docs/examples/scale-out/, ADR 0208) and put through the faults of issue 23
under a loop of ingests and queries, with the zero-loss check.

What runs, all on loopback: PostgreSQL 15 (PostgresServer) set up with the
runbook's postgres-setup.sql and a password login (scram) for its role;
s3rver (npm) with the runbook's bucket; one storaged, two catalogd, two
ingestd, two queryd and two gateways, each started the way the runbook's
systemd unit (lakehouse@.service) starts it: its ExecStart with `%i` = the
role, its EnvironmentFile made from `<role>.env.example`, the role's
`<role>.toml`; named tokens made with `lakehouse token new` into the
tokens_file the files name.

What the test substitutes, and nothing else (docs/deploy.md "Tested"):
  - host names and ports: every `http://<host>:<port>` of the example hosts
    (gw-1, ing-2, sto-1, ...) becomes `http://127.0.0.1:<a free port>`, and
    each instance gets `--bind 127.0.0.1:<its port>`; `pg.internal:5432`
    becomes PostgreSQL's port, `s3_endpoint` s3rver's URL;
  - paths: /etc/lakehouse -> a temporary directory, /usr/local/bin/lakehouse
    -> build/lakehouse, /usr/local/share/lakehouse -> deps/glove of the
    build, data_dir -> one temporary directory per instance
    (LAKEHOUSE_DATA_DIR);
  - secrets: the env files' REPLACE-WITH-... placeholders (s3rver's fixed
    keys, the database password, the service token); PGSSLMODE=disable and
    no PGSSLROOTCERT, as the test's PostgreSQL has no TLS;
  - `single_writer = true` for storaged (LAKEHOUSE_STORAGED_SINGLE_WRITER):
    s3rver ignores If-None-Match, so only one storaged may write (ADR 0203);
    sto-2 of the files is a host that is down all along (nothing listens on
    its port), which the URL lists must cope with.

Start order is reversed on purpose (gateways first, storaged last: ADR 0201).
Faults under load: SIGKILL and restart of 8 instances (each type, storaged
included), PostgreSQL stopped ~10 s (a pinned version each queryd had read
answers all along, ADR 0205), s3rver restarted, SIGTERM restarts of
one of each type (exit 0). Fewer than the issue's 24 kills and the soak's
cycles, to stay near a minute in `make test`. Then: every acknowledged
ingest is in the catalog with its rows and object, versions are dense,
every referenced object is in the store with its bytes (soak_lib's
verifier), an ingest retried after an ambiguous failure that answers 200
names an object in the catalog (and re-sending an acknowledged file answers
`existing: true`), no answer was anything but 200 or a clean JSON 502/503/504,
and every line every process logged is JSON with no probe among them
(ADR 0207)."""
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from lhtest import (BINARY, PG_BIN, ROOT, PostgresServer, Server, free_port, request,
                    request_json)
from soak_lib import Soak, make_csv
from test_storaged import S3rver

EXAMPLES = os.path.join(ROOT, "docs", "examples", "scale-out")
ROLE_OF = {"gw": "gateway", "ing": "ingestd", "qry": "queryd", "cat": "catalogd",
           "sto": "storaged"}
HOSTS = ["gw-1", "gw-2", "ing-1", "ing-2", "qry-1", "qry-2", "cat-1", "cat-2", "sto-1", "sto-2"]
DOWN_HOSTS = {"sto-2"}            # in the files, never started (see the docstring)
DATASETS = ("deploy_a", "deploy_b")
REQUEST_TIMEOUT = 30
RETRY_FOR = 40.0                  # seconds an ambiguous ingest is retried
PG_DOWN = 10.0
S3RVER_KEY = "S3RVER"             # s3rver's fixed credentials


def read(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return f.read()


def role_of(host):
    return ROLE_OF[host.split("-")[0]]


def parse_env(text):
    """KEY=VALUE lines as systemd's EnvironmentFile reads them (no quotes in
    ours); '#' lines and blank lines skipped."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.match(r"^[A-Z_][A-Z0-9_]*$", key), line
        env[key] = value
    return env


def replace_checked(text, old, new, what):
    assert old in text, "%s: %r not found (did the example change?)" % (what, old)
    return text.replace(old, new)


class TestDeployScaleOut(unittest.TestCase):

    # --- the layout from the example files ---------------------------------------

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lh-scaleout-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.etc = os.path.join(self.dir, "etc")
        os.mkdir(self.etc)
        self.servers = []            # every Server ever started, for cleanup and logs
        self.addCleanup(self.stop_all)
        self.ports = {h: free_port() for h in HOSTS}
        self.data = {h: os.path.join(self.dir, "data-" + h) for h in HOSTS}
        self.password = "pg-%016x" % random.SystemRandom().getrandbits(64)
        self.service_token = "svc-%032x" % random.SystemRandom().getrandbits(128)

        # PostgreSQL: the runbook's SQL as the superuser, then a password
        # login for the lakehouse role (scram), as on a real server
        self.pg = PostgresServer()
        self.addCleanup(self.pg.stop)
        sql = os.path.join(EXAMPLES, "postgres-setup.sql")
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-v", "password=%s" % self.password, "-d", self.pg.dsn(), "-f", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        hba = os.path.join(self.pg.data, "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        with open(hba, "w") as f:
            f.write("host lakehouse lakehouse 127.0.0.1/32 scram-sha-256\n"
                    "host all lakehouse 127.0.0.1/32 reject\n" + rules)
        self.pg.psql("SELECT pg_reload_conf()")

        # the bucket the files name
        bucket = re.search(r'^s3_bucket = "([^"]+)"', read("storaged.toml"), re.M).group(1)
        self.s3 = S3rver(bucket=bucket)
        self.addCleanup(self.s3.stop)

        # tokens as the runbook makes them
        self.tokens_file = os.path.join(self.etc, "tokens")
        self.token = self.new_token("loader", "write")
        self.auth = {"Authorization": "Bearer " + self.token}

        self.materialize()
        # any order (ADR 0201): the gateways first, storaged last
        self.inst = {}
        for host in ("gw-1", "gw-2", "qry-1", "qry-2", "ing-1", "ing-2", "cat-1", "cat-2",
                     "sto-1"):
            self.inst[host] = self.start_instance(host)
        self.wait_gateways_ready(90)

    def new_token(self, name, role):
        p = subprocess.run([BINARY, "token", "new", name, "--role", role,
                            "--file", self.tokens_file],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.decode().split()[0]

    def materialize(self):
        """The example files with only ports, paths and secrets replaced."""
        unit = read("lakehouse@.service")
        execstart = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()
        self.assertEqual(execstart[:2], ["/usr/local/bin/lakehouse", "%i"])
        self.exec_args = execstart[2:]
        self.env_file = re.search(r"^EnvironmentFile=-?(.*)$", unit, re.M).group(1)
        for role in ("gateway", "storaged", "catalogd", "ingestd", "queryd"):
            text = read(role + ".toml")
            bind_port = int(re.search(r'^bind = "0\.0\.0\.0:(\d+)"', text, re.M).group(1))
            self.assertEqual(bind_port, {"gateway": 8080, "storaged": 8081, "catalogd": 8082,
                                         "ingestd": 8083, "queryd": 8084}[role])

            def url(m):
                host = m.group(1)
                # a URL's port is the port its role's file binds
                want = int(re.search(r'^bind = "0\.0\.0\.0:(\d+)"', read(role_of(host) + ".toml"),
                                     re.M).group(1))
                self.assertEqual(int(m.group(2)), want, (role, m.group(0)))
                return "http://127.0.0.1:%d" % self.ports[host]
            text, n = re.subn(r"http://((?:gw|ing|qry|cat|sto)-\d):(\d+)", url, text)
            self.assertTrue(n or role == "storaged", role)
            text = text.replace("/etc/lakehouse/", self.etc + "/")
            if role == "queryd":
                text = replace_checked(text, "/usr/local/share/lakehouse/",
                                       os.path.join(ROOT, "deps", "glove") + "/", role)
            if role == "catalogd":
                text = replace_checked(text, "host=pg.internal port=5432",
                                       "host=127.0.0.1 port=%d" % self.pg.port, role)
            if role == "storaged":
                text, n = re.subn(r'^s3_endpoint = "[^"]*"', 's3_endpoint = "%s"' % self.s3.endpoint,
                                  text, flags=re.M)
                self.assertEqual(n, 1)
            self.assertNotRegex(text, r"\b(gw|ing|qry|cat|sto)-\d\b:", role)
            with open(os.path.join(self.etc, role + ".toml"), "w") as f:
                f.write(text)

            env = read(role + ".env.example")
            for old, new in (("REPLACE-WITH-THE-SERVICE-TOKEN", self.service_token),
                             ("REPLACE-WITH-THE-DATABASE-PASSWORD", self.password),
                             ("REPLACE-WITH-THE-ACCESS-KEY-ID", S3RVER_KEY),
                             ("REPLACE-WITH-THE-SECRET-ACCESS-KEY", S3RVER_KEY),
                             ("PGSSLMODE=verify-full", "PGSSLMODE=disable")):
                env = env.replace(old, new)
            env = "\n".join(l for l in env.splitlines() if not l.startswith("PGSSLROOTCERT="))
            self.assertNotIn("REPLACE-WITH", env, role)
            path = self.env_file.replace("%i", role).replace("/etc/lakehouse/", self.etc + "/")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(env + "\n")
        # what each role reads from its env file (docs/deploy.md says the same)
        self.assertIn("PGPASSWORD", parse_env(read("catalogd.env.example")))
        self.assertIn("AWS_SECRET_ACCESS_KEY", parse_env(read("storaged.env.example")))

    def start_instance(self, host):
        role = role_of(host)
        args = [a.replace("%i", role).replace("/etc/lakehouse/", self.etc + "/")
                for a in self.exec_args]
        path = self.env_file.replace("%i", role).replace("/etc/lakehouse/", self.etc + "/")
        with open(path) as f:
            env = parse_env(f.read())
        if role == "storaged":
            env["LAKEHOUSE_STORAGED_SINGLE_WRITER"] = "true"
        os.makedirs(self.data[host], exist_ok=True)
        srv = Server(role, args=args, env=env, data_dir=self.data[host], port=self.ports[host],
                     log_path=os.path.join(self.dir, host + ".log"))
        self.servers.append(srv)
        return srv

    def stop_all(self):
        for srv in self.servers:
            srv.stop(timeout=20)

    def gateways(self):
        return [self.inst["gw-1"].url, self.inst["gw-2"].url]

    def wait_gateways_ready(self, timeout):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = [request_json("GET", g + "/ready", timeout=5) for g in self.gateways()]
                if all(r[0] == 200 for r in last):
                    return
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.2)
        self.fail("the gateways are not ready within %d s: %r" % (timeout, last))

    # --- traffic -------------------------------------------------------------------

    def call(self, method, path, body, headers, gw_index):
        """One request through one gateway: (status, obj) or (None, error)."""
        url = self.gateways()[gw_index % 2] + path
        try:
            st, _, data = request(method, url, body=body, headers=dict(self.auth, **headers),
                                  timeout=REQUEST_TIMEOUT)
        except (OSError, http.client.HTTPException) as e:
            return None, repr(e)
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None
        if st != 200 and not (isinstance(obj, dict) and obj.get("code") and obj.get("error")):
            with self.lock:
                self.problems.append("%s %s: %d with no JSON error: %r" % (method, path, st,
                                                                             data[:200]))
        return st, obj

    def ingester(self, t):
        rng = random.Random("scaleout/%d" % t)
        seq = 0
        while not self.stop.is_set():
            name = DATASETS[(seq + t) % len(DATASETS)]
            body, rows = make_csv(rng, 0, t, seq)
            seq += 1
            path = "/v1/ingest?name=%s&mode=append" % name
            first, tries, deadline = True, 0, time.time() + RETRY_FOR
            while True:
                tries += 1
                st, obj = self.call("POST", path, body, {"Content-Type": "text/csv"}, seq + tries)
                with self.lock:
                    self.stats[st if st in (200, 502, 503, 504, None) else "other"] = \
                        self.stats.get(st if st in (200, 502, 503, 504, None) else "other", 0) + 1
                if st == 200:
                    break
                if st is not None and st not in (502, 503, 504):
                    with self.lock:
                        self.problems.append("ingest %s answered %d: %r" % (name, st, obj))
                    st = None
                    break
                first = False            # ambiguous: may or may not have landed
                if time.time() > deadline:
                    break
                time.sleep(0.3)
            if st != 200:
                continue
            try:
                ack = {"name": name, "mode": "append", "version": obj["manifest"]["version"],
                       "rows": obj["row_count"], "total": obj["manifest"]["row_count"],
                       "key": obj["parquet_key"], "existing": obj["existing"], "cycle": 0,
                       "sent_rows": rows, "body": body}
            except (KeyError, TypeError) as e:
                with self.lock:
                    self.problems.append("unreadable ingest answer (%s): %r" % (e, obj))
                continue
            with self.lock:
                if ack["existing"]:
                    if first:
                        self.problems.append("a first attempt answered existing: %r" % obj)
                    self.retried_existing.append(ack)   # it had landed before the failure
                else:
                    self.acked.append(ack)
                    self.retried += not first

    def querier(self):
        i = 0
        while not self.stop.is_set():     # from when both datasets exist
            with self.lock:
                if {a["name"] for a in self.acked} == set(DATASETS):
                    break
            time.sleep(0.05)
        while not self.stop.is_set():
            i += 1
            with self.lock:
                pinned = self.acked[len(self.acked) // 2] if self.acked else None
            if pinned and i % 2:
                sql = 'SELECT count(*) FROM "%s@%d"' % (pinned["name"], pinned["version"])
                want = pinned["total"]
            else:
                sql, want = "SELECT count(*) FROM %s" % DATASETS[i % 2], None
            st, obj = self.call("POST", "/v1/query", json.dumps({"sql": sql}).encode(),
                                {"Content-Type": "application/json"}, i)
            with self.lock:
                self.queries[st] = self.queries.get(st, 0) + 1
                if st == 200 and want is not None and obj.get("rows") != [[want]]:
                    self.problems.append("%s answered %r, acknowledged %d" % (sql, obj, want))
                if st is not None and st != 200 and st not in (502, 503, 504):
                    self.problems.append("%s answered %d after %s: %r" % (
                        sql, st, self.events[-1] if self.events else "no fault yet", obj))
            time.sleep(0.05)

    # --- faults --------------------------------------------------------------------

    def restart(self, host, sig, pause=0.5):
        code = self.inst[host].stop(sig, timeout=45)
        if sig == signal.SIGTERM:
            self.assertEqual(code, 0, "%s on SIGTERM" % host)
        time.sleep(pause)
        self.inst[host] = self.start_instance(host)
        self.events.append("%s %s, back" % (signal.Signals(sig).name, host))

    def pinned_query(self, host, pinned):
        """A pinned version's count straight from one queryd: (status, rows)."""
        sql = 'SELECT count(*) FROM "%s@%d"' % (pinned["name"], pinned["version"])
        try:
            st, _, obj = request_json("POST", self.inst[host].url + "/query", {"sql": sql},
                                      self.auth, timeout=REQUEST_TIMEOUT)
        except (OSError, http.client.HTTPException, AssertionError) as e:
            return None, repr(e)   # AssertionError: request_json's "not JSON"
        return st, obj.get("rows") if st == 200 else obj

    def pg_down(self):
        # ADR 0205: a pinned version each queryd has read keeps answering while
        # the catalog's database is down (the issue counted 220 failures)
        with self.lock:
            pinned = self.acked[0]
        for host in ("qry-1", "qry-2"):
            deadline = time.time() + 20
            while self.pinned_query(host, pinned)[0] != 200 and time.time() < deadline:
                time.sleep(0.2)
        self.pg._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.pg.data, "-m", "fast", "-w",
                      "-t", "60", "stop"])
        t_up = time.time() + PG_DOWN
        while time.time() < t_up:
            for host in ("qry-1", "qry-2"):
                st, rows = self.pinned_query(host, pinned)
                self.pinned_during_pg[st == 200] += 1
                if rows != [[pinned["total"]]]:
                    with self.lock:
                        self.problems.append("PostgreSQL down: pinned %s@%d on %s answered %s %r"
                                             % (pinned["name"], pinned["version"], host, st, rows))
            time.sleep(0.25)
        self.pg.start()
        self.events.append("PostgreSQL stopped %.0f s (pinned queries to each queryd meanwhile: "
                           "%d answered, %d failed)" % (PG_DOWN, self.pinned_during_pg[True],
                                                        self.pinned_during_pg[False]))

    def test_fault_sequence_loses_nothing(self):
        t0 = time.time()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked, self.retried_existing, self.problems, self.events = [], [], [], []
        self.stats, self.queries, self.retried = {}, {}, 0
        self.pinned_during_pg = {True: 0, False: 0}   # pg_down: answered / failed
        threads = [threading.Thread(target=self.ingester, args=(t,)) for t in range(2)]
        threads.append(threading.Thread(target=self.querier))
        for t in threads:
            t.start()
        try:
            self.faults()
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            # a process that does not come back is a finding: say where
            self.fail("the fault sequence stopped after [%s]: %s: %s" % (
                "; ".join(self.events), type(e).__name__, e))
        finally:
            self.stop.set()
            for t in threads:
                t.join(REQUEST_TIMEOUT + RETRY_FOR + 10)
        traffic_s = time.time() - t0
        self.wait_gateways_ready(60)
        self.verify(t0, traffic_s)

    def faults(self):
        """The sequence of the issue, under the traffic threads."""
        deadline = time.time() + 30
        while not self.acked and time.time() < deadline:
            time.sleep(0.05)
        self.assertTrue(self.acked, "no ingest acknowledged before the faults")
        time.sleep(1.0)
        for host in ("ing-1", "qry-2", "cat-1", "gw-2", "ing-2", "qry-1", "cat-2", "sto-1"):
            self.restart(host, signal.SIGKILL)
            time.sleep(0.8)
        self.pg_down()
        time.sleep(2.0)
        self.s3.restart()
        self.events.append("s3rver restarted")
        time.sleep(2.0)
        for host in ("gw-1", "ing-1", "qry-2", "cat-2", "sto-1"):
            self.restart(host, signal.SIGTERM)
            time.sleep(0.5)
        time.sleep(2.0)

    def verify(self, t0, traffic_s):
        # zero loss: soak_lib's verifier over the gateways
        lines = []
        soak = Soak(0, log=lines.append, headers=self.auth)
        self.addCleanup(shutil.rmtree, soak.work, True)
        soak.names = set(DATASETS)
        soak.acked = [{k: v for k, v in a.items() if k != "body"} for a in self.acked]
        soak._verify(self.gateways()[0], 0, soak.acked, full=True, query_all=True)
        self.assertEqual(soak.failures, [], "\n".join(soak.failures[:30]))
        self.assertEqual(soak.verified, len(self.acked))
        # an ambiguous ingest that had landed: its retry answered existing,
        # and its object is in the catalog's latest version
        for a in self.retried_existing:
            latest = max(v for (n, v) in soak.manifests if n == a["name"])
            keys = [o["key"] for o in soak.manifests[(a["name"], latest)]["objects"]]
            self.assertIn(a["key"], keys, a["name"])
        # and any acknowledged file sent again answers existing: true
        again = self.acked[0]
        st, obj = self.call("POST", "/v1/ingest?name=%s&mode=append" % again["name"],
                            again["body"], {"Content-Type": "text/csv"}, 1)
        self.assertEqual(st, 200, obj)
        self.assertIs(obj["existing"], True, obj)
        self.assertEqual(obj["parquet_key"], again["key"])
        self.assertEqual(self.problems, [], "\n".join(self.problems[:30]))
        self.assertGreater(self.pinned_during_pg[True], 0)   # checked above: none failed

        # every line of every process is JSON, and no probe is a line (ADR 0207)
        for srv in self.servers:
            with open(srv.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for line in text.splitlines():
                try:
                    obj = json.loads(line)
                except ValueError:
                    self.fail("%s: not a JSON line: %r" % (srv.log_path, line))
                self.assertIsInstance(obj, dict)
                self.assertNotIn(obj.get("path"), ("/health", "/ready"), srv.log_path)

        summary = ("scale-out faults: %s; %d acknowledged ingests (%d after a retry, %d retries "
                   "answered existing), ingest answers %s, queries %s, %d versions, %d objects "
                   "checked, traffic %.0f s, total %.0f s"
                   % ("; ".join(self.events), len(self.acked), self.retried,
                      len(self.retried_existing),
                      {str(k): v for k, v in sorted(self.stats.items(), key=str)},
                      {str(k): v for k, v in sorted(self.queries.items(), key=str)},
                      len(soak.manifests), soak.objects_checked, traffic_s, time.time() - t0))
        print("\n" + summary)



class TestExampleFiles(unittest.TestCase):
    """What the servers cannot check: the bucket rule and the secrets."""

    def test_lifecycle_aborts_uploads_and_never_expires(self):
        rules = json.loads(read("lifecycle.json"))["Rules"]
        self.assertTrue(rules)
        for rule in rules:
            self.assertEqual(rule["Status"], "Enabled")
            for never in ("Expiration", "NoncurrentVersionExpiration", "Transitions"):
                self.assertNotIn(never, rule, "objects must never expire (ADR 0208)")
        self.assertTrue(any(r.get("AbortIncompleteMultipartUpload", {}).get(
            "DaysAfterInitiation", 0) >= 1 for r in rules))

    def test_secrets_only_in_env_files(self):
        for name in sorted(os.listdir(EXAMPLES)):
            text = read(name)
            if name.endswith(".toml"):
                self.assertNotRegex(text, r"(?im)^\s*(service_token|write_tokens|read_tokens|"
                                          r"tokens)\s*=", name)
                self.assertNotRegex(text, r"(?i)\bpassword\s*=", name)   # not in the DSN
            if name.endswith(".env.example"):
                env = parse_env(text)
                self.assertIn("LAKEHOUSE_AUTH_SERVICE_TOKEN", env, name)


if __name__ == "__main__":
    unittest.main()
