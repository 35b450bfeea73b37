// iceberg.test.mjs — every dataset read as an Iceberg table by real
// third-party clients (issue 19 point 4, ADR 0235-0238): Supabase's
// iceberg-js (an Iceberg REST Catalog client) lists the namespace and the
// tables and loads a table through the gateway's /iceberg/v1/; icebird (an
// Iceberg table reader on hyparquet) reads every row of every snapshot of a
// dataset made by appends, a replace and an evolution that added a column,
// over HTTP from the table's location, and the rows equal /v1/query's for
// "name@N". A read token is refused a table with masked columns (ADR 0237).
// One `lakehouse serve` with named tokens. Run by `make iceberg` (part of
// `make test`).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const DEPS = process.env.DEPS_DIR || path.join(ROOT, 'deps');
const NM = path.join(DEPS, 'node', 'node_modules');
const BINARY = process.env.LAKEHOUSE_BIN || path.join(ROOT, 'build', 'lakehouse');
const { IcebergRestCatalog, IcebergError } =
  await import(pathToFileURL(path.join(NM, 'iceberg-js', 'dist', 'index.mjs')));
const { icebergRead } = await import(pathToFileURL(path.join(NM, 'icebird', 'src', 'index.js')));

const ADMIN = 'iceberg-admin-token-1';
const WRITE = 'iceberg-write-token-2';
const READ = 'iceberg-read-token-03';
const AGENT = 'iceberg-agent-token-4';
const TOKENS = `root:admin:${ADMIN},maria:write:${WRITE},ann:read:${READ},bot:agent:${AGENT}`;

// A free loopback port below the ephemeral range (as lhtest.free_port).
function tryListen(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(0));
    s.listen(port, '127.0.0.1', () => { const got = s.address().port; s.close(() => resolve(got)); });
  });
}
async function freePort() {
  let high = 32768;
  try {
    high = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]) || high;
  } catch (e) { /* the default */ }
  const low = Math.max(1024, high - 12000);
  for (let i = 0; i < 200; i++) {
    const port = await tryListen(low + crypto.randomInt(high - low));
    if (port) return port;
  }
  return tryListen(0);
}

let serve, url, dataDir, printed = '';

async function v1(method, p, body, contentType = 'application/json', token = WRITE) {
  const r = await fetch(url + p, {
    method, body,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': contentType } : {}) },
  });
  const text = await r.text();
  assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// staff: 1 replace, 2 append, 3 replace, 4 append that evolves (adds
// `team`), 5 append with it. "staff@N" and snapshot N must agree.
const STAFF = [
  ['replace', 'id,name,rate\n1,Ada,10.5\n2,Grace,11.25\n'],
  ['append', 'id,name,rate\n3,Alan,12.75\n'],
  ['replace', 'id,name,rate\n4,Edsger,13.5\n5,Barbara,14.25\n6,Ken,9.5\n'],
  ['append&evolve=true', 'id,name,rate,team\n7,Dennis,16.5,ops\n'],
  ['append', 'id,name,rate,team\n8,Frances,17.25,dev\n9,John,18.5,\n'],
];

before(async () => {
  const port = await freePort();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-iceberg-'));
  url = `http://127.0.0.1:${port}`;
  serve = spawn(BINARY, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LAKEHOUSE_AUTH_TOKENS: TOKENS, LAKEHOUSE_LOG: 'quiet' },
  });
  serve.stdout.on('data', (d) => { printed += d; });
  serve.stderr.on('data', (d) => { printed += d; });
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const r = await fetch(url + '/health');
      if (r.status === 200) break;
    } catch (e) { /* not up yet */ }
    if (serve.exitCode !== null || Date.now() > deadline)
      throw new Error('lakehouse serve did not start:\n' + printed);
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const [mode, csv] of STAFF)
    await v1('POST', `/v1/ingest?name=staff&mode=${mode}`, csv, 'text/csv');
  await v1('POST', '/v1/ingest?name=candidates',
           'id,name,email\n1,Ada,ada@example.com\n2,Grace,grace@example.org\n', 'text/csv');
  await v1('PUT', '/v1/catalog/masks/candidates', JSON.stringify({ columns: ['email'] }),
           'application/json', ADMIN);
});

after(() => {
  if (serve && serve.exitCode !== null)
    console.error(`lakehouse serve exited early (${serve.exitCode} ${serve.signalCode}):\n${printed}`);
  if (serve && serve.exitCode === null) serve.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const catalog = (token) => new IcebergRestCatalog({
  baseUrl: `${url}/iceberg`, auth: { type: 'bearer', token },
});

// The rows of a query as objects, sorted by id.
async function queryRows(sql, token = WRITE) {
  const r = await v1('POST', '/v1/query', JSON.stringify({ sql, format: 'json' }), 'application/json',
                     token);
  return sortById(r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i]]))));
}

// icebird's values as JSON would carry them: int64 arrive as BigInt, a
// column a file lacks as undefined.
function normal(rows) {
  return sortById(rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) =>
    [k, typeof v === 'bigint' ? Number(v) : v === undefined ? null : v]))));
}
function sortById(rows) { return rows.sort((a, b) => Number(a.id) - Number(b.id)); }

// The table metadata as of snapshot `n` (time travel): the snapshot made
// by version n is current, with the schema it was written with.
function asOf(metadata, n) {
  const snap = metadata.snapshots.find((s) => Number(s['sequence-number']) === n);
  assert.ok(snap, `no snapshot with sequence number ${n}`);
  return { ...metadata, 'current-snapshot-id': snap['snapshot-id'], 'current-schema-id': snap['schema-id'] };
}

// icebird 0.3.1 passes requestInit to the metadata and data files but not
// to the manifest list and manifests (read.js calls icebergManifests(metadata)
// without it), so an application adds the header with a fetch scoped to the
// lakehouse's origin; the token never goes into a URL (ADR 0238).
async function withBearer(token, fn) {
  const plain = globalThis.fetch;
  globalThis.fetch = (input, init = {}) => {
    const target = typeof input === 'string' ? input : input.url;
    if (!target.startsWith(url + '/')) return plain(input, init);
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${token}`);
    return plain(input, { ...init, headers });
  };
  try {
    return await fn();
  } finally {
    globalThis.fetch = plain;
  }
}

describe('iceberg-js, the REST catalog client', () => {
  it('lists the namespace and the tables and loads a table', async () => {
    const c = catalog(READ);
    assert.deepEqual(await c.listNamespaces(), { namespaces: [{ namespace: ['lakehouse'] }],
                                                 nextPageToken: undefined });
    assert.equal(await c.namespaceExists({ namespace: ['lakehouse'] }), true);
    assert.equal(await c.namespaceExists({ namespace: ['sales'] }), false);
    const tables = await c.listTables({ namespace: ['lakehouse'] });
    assert.deepEqual(tables.identifiers.map((t) => t.name), ['candidates', 'staff']);
    assert.equal(await c.tableExists({ namespace: ['lakehouse'], name: 'staff' }), true);
    assert.equal(await c.tableExists({ namespace: ['lakehouse'], name: 'nope' }), false);

    const result = await c.loadTableResult({ namespace: ['lakehouse'], name: 'staff' });
    const m = result.metadata;
    assert.equal(m['format-version'], 2);
    assert.equal(m.snapshots.length, STAFF.length);
    assert.ok(result['metadata-location'].startsWith(`${url}/iceberg/v1/files/staff/`),
              result['metadata-location']);
    assert.deepEqual(result.config, {});
    const current = m.schemas.find((s) => s['schema-id'] === m['current-schema-id']);
    assert.deepEqual(current.fields.map((f) => f.name), ['id', 'name', 'rate', 'team']);
    // the metadata file at metadata-location is the metadata answered
    const r = await fetch(result['metadata-location'], { headers: { Authorization: `Bearer ${READ}` } });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), m);
  });

  it('gets the spec\'s errors: unknown table, a write, a masked table for a reader', async () => {
    const c = catalog(READ);
    await assert.rejects(c.loadTable({ namespace: ['lakehouse'], name: 'nope' }), (e) =>
      e instanceof IcebergError && e.status === 404 && e.icebergType === 'NoSuchTableException');
    await assert.rejects(c.createNamespace({ namespace: ['sales'] }), (e) =>
      e instanceof IcebergError && e.status === 405 && /\/v1\/ingest/.test(e.message));
    await assert.rejects(c.dropTable({ namespace: ['lakehouse'], name: 'staff' }), (e) =>
      e instanceof IcebergError && e.status === 405);
    for (const token of [READ, AGENT])
      await assert.rejects(catalog(token).loadTable({ namespace: ['lakehouse'], name: 'candidates' }),
        (e) => e instanceof IcebergError && e.status === 403 && e.icebergType === 'ForbiddenException' &&
               /email/.test(e.message));
    await assert.rejects(catalog('not-a-token-at-all-0').listNamespaces(), (e) =>
      e instanceof IcebergError && e.status === 401 && e.icebergType === 'NotAuthorizedException');
    const m = await catalog(WRITE).loadTable({ namespace: ['lakehouse'], name: 'candidates' });
    assert.equal(m['format-version'], 2);
    // staff is still there and unchanged
    assert.equal((await c.loadTable({ namespace: ['lakehouse'], name: 'staff' })).snapshots.length,
                 STAFF.length);
  });
});

describe('icebird, the table reader', () => {
  it('reads every row of the current snapshot and of each older one, as /v1/query reads name@N',
     async () => {
    const { 'metadata-location': loc, metadata } =
      await catalog(READ).loadTableResult({ namespace: ['lakehouse'], name: 'staff' });
    const tableUrl = loc.slice(0, loc.lastIndexOf('/metadata/'));
    await withBearer(READ, async () => {
      const current = normal(await icebergRead({ tableUrl, metadata }));
      assert.deepEqual(current, await queryRows('SELECT * FROM staff', READ));
      assert.equal(current.length, 6);
      for (let n = 1; n <= STAFF.length; n++) {
        const rows = normal(await icebergRead({ tableUrl, metadata: asOf(metadata, n) }));
        assert.deepEqual(rows, await queryRows(`SELECT * FROM "staff@${n}"`, READ), `snapshot ${n}`);
      }
    });
    // the older snapshots really differ: appends, a replace, a new column
    const v2 = await queryRows('SELECT * FROM "staff@2"');
    assert.deepEqual(v2.map((r) => r.id), [1, 2, 3]);
    assert.ok(!('team' in v2[0]));
  });

  it('reads a table through its metadata file name, with the token in requestInit for the rest',
     async () => {
    const { 'metadata-location': loc } =
      await catalog(WRITE).loadTableResult({ namespace: ['lakehouse'], name: 'staff' });
    const tableUrl = loc.slice(0, loc.lastIndexOf('/metadata/'));
    const metadataFileName = loc.slice(loc.lastIndexOf('/') + 1);
    const requestInit = { headers: { Authorization: `Bearer ${WRITE}` } };
    // icebird 0.3.1 drops requestInit for the Avro files: the manifest list is
    // fetched without the token and refused (files need a token, ADR 0237)
    await assert.rejects(icebergRead({ tableUrl, metadataFileName, requestInit }));
    const rows = await withBearer(WRITE, () => icebergRead({ tableUrl, metadataFileName, requestInit }));
    assert.deepEqual(normal(rows), await queryRows('SELECT * FROM staff'));
  });

  it('is refused a masked table\'s files with a read or agent token', async () => {
    const { 'metadata-location': loc, metadata } =
      await catalog(WRITE).loadTableResult({ namespace: ['lakehouse'], name: 'candidates' });
    const tableUrl = loc.slice(0, loc.lastIndexOf('/metadata/'));
    const manifest = await v1('GET', '/v1/catalog/manifest/candidates', undefined, undefined, ADMIN);
    const dataFile = `${url}/iceberg/v1/files/candidates/${manifest.objects[0].key}`;
    const list = metadata.snapshots[0]['manifest-list'];
    for (const token of [READ, AGENT]) {
      await withBearer(token, () => assert.rejects(icebergRead({ tableUrl, metadata })));
      for (const file of [loc, list, dataFile]) {
        const r = await fetch(file, { headers: { Authorization: `Bearer ${token}` } });
        assert.equal(r.status, 403, file);
        assert.equal((await r.json()).error.type, 'ForbiddenException');
      }
    }
    // the writer reads the values
    const rows = normal(await withBearer(WRITE, () => icebergRead({ tableUrl, metadata })));
    assert.deepEqual(rows.map((r) => r.email), ['ada@example.com', 'grace@example.org']);
  });
});
