// mcp.test.js — the lakehouse's MCP server (SPEC 14, docs/mcp.md) driven by
// real clients: the official TypeScript SDK's Client over stdio (spawning
// `lakehouse mcp`) and over Streamable HTTP (the gateway's /mcp), and the
// MCP Inspector's CLI. One `lakehouse serve` with a read and a write token;
// every tool is called, an error result, a read token refused the write
// tool, a 10,000-row query capped, concurrent calls, the client killed
// mid-call. Run by `make mcp` (part of `make test`).
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const DEPS = process.env.DEPS_DIR || path.join(ROOT, 'deps');
const NM = path.join(DEPS, 'node', 'node_modules');
const BINARY = process.env.LAKEHOUSE_BIN || path.join(ROOT, 'build', 'lakehouse');
const { Client } = require(path.join(NM, '@modelcontextprotocol/sdk/dist/cjs/client/index.js'));
const { StdioClientTransport } = require(path.join(NM, '@modelcontextprotocol/sdk/dist/cjs/client/stdio.js'));
const { StreamableHTTPClientTransport } =
  require(path.join(NM, '@modelcontextprotocol/sdk/dist/cjs/client/streamableHttp.js'));
const INSPECTOR = path.join(NM, '@modelcontextprotocol/inspector/clients/launcher/build/index.js');

const READ = 'mcp-read-token-1';
const WRITE = 'mcp-write-token-2';

// A free port below the ephemeral range: the browser tests' helper.
const { freePort } = require('../browser/lakehouse.js');

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

const CANDIDATES = [
  'candidate_id,name,title,state,available',
  '1,Ann Kowalski,Forklift Operator,WI,true',
  '2,Ben Ortiz,Forklift Operator,WI,false',
  '3,Cara Lund,Warehouse Forklift Driver,WI,true',
  '4,Dev Patel,Forklift Operator,IL,true',
  '5,Eve Stone,Payroll Clerk,WI,true',
  '6,Finn Berg,Reach Truck Forklift Operator,WI,true',
].join('\n') + '\n';

const PLACEMENTS = [
  'placement_id,candidate_id,placed_on,pay_rate',
  '10,1,2026-03-02,19.50',
  '11,3,2026-05-11,20.25',
  '12,6,2026-07-20,21.00',
  '13,1,2026-09-14,20.00',
  '14,4,2026-10-01,18.75',
].join('\n') + '\n';

before(async () => {
  const port = await freePort();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-mcp-'));
  url = `http://127.0.0.1:${port}`;
  serve = spawn(BINARY, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LAKEHOUSE_AUTH_READ_TOKENS: READ, LAKEHOUSE_AUTH_WRITE_TOKENS: WRITE,
           LAKEHOUSE_LOG: 'quiet' },
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
  await v1('POST', '/v1/ingest?name=candidates', CANDIDATES, 'text/csv');
  await v1('POST', '/v1/ingest?name=placements', PLACEMENTS, 'text/csv');
  await v1('PUT', '/v1/catalog/index/candidates',
           JSON.stringify({ text: ['title'], id: 'candidate_id' }));
});

after(() => {
  if (serve && serve.exitCode !== null)
    console.error(`lakehouse serve exited early (${serve.exitCode} ${serve.signalCode}):\n${printed}`);
  if (serve && serve.exitCode === null) serve.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function stdioClient(token) {
  const transport = new StdioClientTransport({
    command: BINARY, args: ['mcp'],
    env: { PATH: process.env.PATH, LAKEHOUSE_URL: url, LAKEHOUSE_TOKEN: token },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'lakehouse-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

async function httpClient(token) {
  const transport = new StreamableHTTPClientTransport(new URL(url + '/mcp'), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'lakehouse-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

const text = (r) => r.content.map((c) => c.text).join('\n');
const READ_TOOLS = ['describe_dataset', 'list_datasets', 'list_versions', 'query', 'search'];
// the write tools a write token also gets: ingest_csv, and record_feedback (issue 17, ADR 0190)
const WRITE_TOOLS = ['ingest_csv', 'record_feedback'];

for (const [transport, connect] of [['stdio', stdioClient], ['Streamable HTTP', httpClient]]) {
  describe(`MCP over ${transport} with the SDK client`, () => {
    let writer, reader;
    before(async () => {
      writer = await connect(WRITE);
      reader = await connect(READ);
    });
    after(async () => {
      await writer.close();
      await reader.close();
    });

    it('initializes and lists the tools a token may use', async () => {
      assert.equal(writer.getServerVersion().name, 'lakehouse');
      assert.ok(writer.getServerCapabilities().tools);
      const w = (await writer.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(w, [...READ_TOOLS, ...WRITE_TOOLS].sort());
      const r = (await reader.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(r, READ_TOOLS);
      for (const t of (await writer.listTools()).tools) {
        assert.equal(t.inputSchema.type, 'object');
        assert.ok(t.description.length > 40, t.name);
        assert.equal(t.annotations.readOnlyHint, !WRITE_TOOLS.includes(t.name), t.name);
        assert.equal(typeof t.annotations.destructiveHint, 'boolean');
        assert.equal(typeof t.annotations.idempotentHint, 'boolean');
      }
    });

    it('calls every read tool', async () => {
      let r = await reader.callTool({ name: 'list_datasets', arguments: {} });
      assert.equal(r.isError, false);
      assert.match(text(r), /^name \| version \| rows/);
      assert.match(text(r), /candidates \| 1 \| 6 \|/);

      r = await reader.callTool({ name: 'describe_dataset', arguments: { name: 'candidates' } });
      assert.equal(r.isError, false, text(r));
      assert.match(text(r), /candidate_id int64 NOT NULL/);
      assert.match(text(r), /available bool NOT NULL|available boolean NOT NULL/);
      assert.match(text(r), /Versions: 1 \(/);
      assert.match(text(r), /Search index: text columns \["title"\]/);
      assert.match(text(r), /1 \| Ann Kowalski \| Forklift Operator \| WI \| true/);
      assert.match(text(r), /\(5 rows; not truncated/);
      assert.equal(r.structuredContent.row_count, 6);

      r = await reader.callTool({ name: 'query', arguments: {
        sql: "SELECT name FROM candidates WHERE state = 'WI' AND available ORDER BY name" } });
      assert.equal(r.isError, false, text(r));
      assert.equal(text(r), 'name\nAnn Kowalski\nCara Lund\nEve Stone\nFinn Berg\n' +
                   '(4 rows; not truncated; caps 1,000 rows / 64 KiB)');

      r = await reader.callTool({ name: 'search', arguments: {
        dataset: 'candidates', query: 'forklift operator', k: 3, where: "state = 'WI'" } });
      assert.equal(r.isError, false, text(r));
      assert.match(text(r), /^3 hits in candidates version 1/);
      assert.equal(r.structuredContent.results.length, 3);
      for (const h of r.structuredContent.results) assert.equal(h.row.state, 'WI');

      r = await reader.callTool({ name: 'list_versions', arguments: { name: 'placements' } });
      assert.equal(r.isError, false, text(r));
      assert.match(text(r), /^version \| created_at \| rows/);
      assert.equal(r.structuredContent.versions.length, 1);
    });

    it('answers a lakehouse error as an isError result in its words', async () => {
      let r = await reader.callTool({ name: 'describe_dataset', arguments: { name: 'candidtes' } });
      assert.equal(r.isError, true);
      assert.equal(text(r), "unknown dataset 'candidtes'; did you mean 'candidates'?");
      r = await reader.callTool({ name: 'query', arguments: { sql: 'SELECT * FROM nosuch' } });
      assert.equal(r.isError, true);
      assert.match(text(r), /nosuch/);
      r = await reader.callTool({ name: 'query', arguments: { sql: 'DROP TABLE candidates' } });
      assert.equal(r.isError, true);
      // an unknown tool is a protocol error (JSON-RPC -32602)
      await assert.rejects(reader.callTool({ name: 'drop_everything', arguments: {} }),
                           /-32602|Unknown tool/);
    });

    it('refuses the write tool to a read token, runs it for a write token', async () => {
      let r = await reader.callTool({ name: 'ingest_csv',
                                      arguments: { name: 'sneaky', csv: 'a\n1\n' } });
      assert.equal(r.isError, true);
      assert.match(text(r), /may only read/);
      const name = transport === 'stdio' ? 'notes_stdio' : 'notes_http';
      r = await writer.callTool({ name: 'ingest_csv', arguments: { name, csv: 'a,b\n1,x\n2,y\n' } });
      assert.equal(r.isError, false, text(r));
      assert.match(text(r), /Ingested 2 rows into notes_/);
      r = await writer.callTool({ name: 'ingest_csv',
                                  arguments: { name, csv: 'a,b\n3,z\n', mode: 'append' } });
      assert.match(text(r), /version 2 with 3 rows in all/);
      r = await writer.callTool({ name: 'ingest_csv',
                                  arguments: { name, csv: 'a,b\n3,z\n', mode: 'append' } });
      assert.match(text(r), /^Nothing new: notes_\w+ version 2 already holds this CSV \(3 rows\)/);
      const list = await v1('GET', '/v1/catalog/datasets');
      assert.ok(!list.datasets.some((d) => d.name === 'sneaky'));
    });

    it('records feedback for a write token, and search uses it', async () => {
      let r = await reader.callTool({ name: 'record_feedback', arguments: {
        dataset: 'candidates', query: 'forklift operator', id: 6, score: 1 } });
      assert.equal(r.isError, true);
      assert.match(text(r), /may only read/);
      r = await writer.callTool({ name: 'record_feedback', arguments: {
        dataset: 'candidates', query: 'forklift operator', id: 99, score: 1 } });
      assert.equal(r.isError, true);   // the lakehouse's words: no such row
      assert.match(text(r), /no row whose candidate_id is 99/);
      r = await writer.callTool({ name: 'record_feedback', arguments: {
        dataset: 'candidates', query: 'forklift operator', id: 6, score: 1 } });
      assert.equal(r.isError, false, text(r));
      assert.match(text(r), /^Recorded: row 6 rated 1 for "forklift operator" in candidates__feedback version \d+/);
      r = await reader.callTool({ name: 'search', arguments: {
        dataset: 'candidates', query: 'forklift operator', k: 2, feedback: true } });
      assert.equal(r.isError, false, text(r));
      const top = r.structuredContent.results[0];
      assert.equal(top.row.candidate_id, 6);
      assert.equal(top.feedback.query, 'forklift operator');
      assert.equal(top.feedback.similarity, 1);
    });

    it('reads a CSV path only over stdio', async () => {
      const file = path.join(dataDir, 'upload.csv');
      fs.writeFileSync(file, 'k,v\n1,one\n');
      const name = transport === 'stdio' ? 'from_path_stdio' : 'from_path_http';
      const r = await writer.callTool({ name: 'ingest_csv', arguments: { name, path: file } });
      if (transport === 'stdio') {
        assert.equal(r.isError, false, text(r));
        assert.match(text(r), /^Ingested 1 row into from_path_stdio: now version 1 with 1 row in all/);
      } else {
        assert.equal(r.isError, true);
        assert.match(text(r), /only by the stdio server/);
      }
    });

    it('caps a 10,000-row query at 1,000 rows and says so', async () => {
      const r = await reader.callTool({ name: 'query', arguments: {
        sql: 'SELECT range AS n, repeat(\'x\', 20) AS pad FROM range(10000)' } });
      assert.equal(r.isError, false);
      assert.equal(r.structuredContent.truncated, true);
      assert.equal(r.structuredContent.row_count, 1000);
      const lines = text(r).split('\n');
      assert.equal(lines.length, 1002);   // header, 1,000 rows, the caps line
      assert.match(lines[1001], /truncated: .*1,000 rows \/ 64 KiB/);
      // the byte cap: wide rows stop before 64 KiB
      const wide = await reader.callTool({ name: 'query', arguments: {
        sql: 'SELECT range AS n, repeat(\'y\', 500) AS pad FROM range(10000)' } });
      assert.equal(wide.structuredContent.truncated, true);
      assert.ok(wide.structuredContent.row_count < 200, String(wide.structuredContent.row_count));
      assert.ok(Buffer.byteLength(text(wide)) < 64 * 1024 + 300);
    });

    it('answers concurrent calls, each its own', async () => {
      const calls = [];
      for (let i = 0; i < 12; i++)
        calls.push(reader.callTool({ name: 'query', arguments: { sql: `SELECT ${i} * 7 AS v` } }));
      const results = await Promise.all(calls);
      results.forEach((r, i) => assert.equal(text(r).split('\n')[1], String(i * 7)));
    });

    it('lists and reads the datasets as resources', async () => {
      const list = await reader.listResources();
      const uris = list.resources.map((r) => r.uri);
      assert.ok(uris.includes('lakehouse://datasets/candidates'), uris.join(' '));
      const r = await reader.readResource({ uri: 'lakehouse://datasets/placements' });
      assert.match(r.contents[0].text, /pay_rate/);
      await assert.rejects(reader.readResource({ uri: 'lakehouse://datasets/nope' }),
                           /-32002|not found/i);
    });
  });
}

describe('MCP over Streamable HTTP, the transport rules', () => {
  const post = (body, headers = {}) => fetch(url + '/mcp', {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
               Authorization: `Bearer ${READ}`, ...headers },
  });
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize',
                 params: { protocolVersion: '2025-06-18', capabilities: {},
                           clientInfo: { name: 't', version: '1' } } };

  it('needs a token, a session, a version it speaks, and a same-origin request', async () => {
    let r = await post(init, { Authorization: '' });
    assert.equal(r.status, 401);
    r = await post(init);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).result.protocolVersion, '2025-06-18');
    const sid = r.headers.get('mcp-session-id');
    assert.match(sid, /^[0-9a-f]{32}$/);
    r = await post({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).code, 'mcp_session_required');
    r = await post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { 'Mcp-Session-Id': 'f'.repeat(32) });
    assert.equal(r.status, 404);
    r = await post({ jsonrpc: '2.0', id: 2, method: 'ping' },
                   { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2099-01-01' });
    assert.equal(r.status, 400);
    r = await post({ jsonrpc: '2.0', method: 'notifications/initialized' },
                   { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-06-18' });
    assert.equal(r.status, 202);
    r = await post({ jsonrpc: '2.0', id: 3, method: 'ping' },
                   { 'Mcp-Session-Id': sid, Origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    r = await fetch(url + '/mcp', { headers: { Authorization: `Bearer ${READ}` } });
    assert.equal(r.status, 405);
    r = await fetch(url + '/mcp', { method: 'POST', body: '{not json',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${READ}`,
                 'Mcp-Session-Id': sid } });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.code, -32700);
    r = await fetch(url + '/mcp', { method: 'DELETE',
      headers: { Authorization: `Bearer ${READ}`, 'Mcp-Session-Id': sid } });
    assert.equal(r.status, 204);
    r = await post({ jsonrpc: '2.0', id: 4, method: 'ping' }, { 'Mcp-Session-Id': sid });
    assert.equal(r.status, 404);
  });

  it('ties a session to the token that made it, and caps sessions per token', async () => {
    let r = await post(init);
    assert.equal(r.status, 200);
    const sid = r.headers.get('mcp-session-id');
    // another token can neither use nor end it: the same 404 as unknown
    r = await post({ jsonrpc: '2.0', id: 2, method: 'ping' },
                   { 'Mcp-Session-Id': sid, Authorization: `Bearer ${WRITE}` });
    assert.equal(r.status, 404);
    r = await fetch(url + '/mcp', { method: 'DELETE',
      headers: { Authorization: `Bearer ${WRITE}`, 'Mcp-Session-Id': sid } });
    assert.equal(r.status, 404);
    r = await post({ jsonrpc: '2.0', id: 3, method: 'ping' }, { 'Mcp-Session-Id': sid });
    assert.equal(r.status, 200);
    // 1,025 initializes with one token push out only that token's sessions
    let firstWrite = null;
    for (let i = 0; i < 1025; i++) {
      r = await post(init, { Authorization: `Bearer ${WRITE}` });
      assert.equal(r.status, 200);
      if (i === 0) firstWrite = r.headers.get('mcp-session-id');
    }
    r = await post({ jsonrpc: '2.0', id: 4, method: 'ping' }, { 'Mcp-Session-Id': sid });
    assert.equal(r.status, 200);
    r = await post({ jsonrpc: '2.0', id: 5, method: 'ping' },
                   { 'Mcp-Session-Id': firstWrite, Authorization: `Bearer ${WRITE}` });
    assert.equal(r.status, 404);
  });

  it('survives a client that hangs up mid-call, and stops its query', async () => {
    const gw = await (await fetch(url + '/health')).json();
    const queryd = gw.services.queryd.url.split(',')[0];
    const disconnects = async () => (await (await fetch(queryd + '/health')).json()).disconnects;
    const before = await disconnects();
    const client = await httpClient(READ);
    const ac = new AbortController();
    const slow = client.callTool({ name: 'query', arguments: {
      // about 6 s of work when it runs to the end
      sql: 'SELECT count(*) FROM range(400000000) a, range(40) b WHERE a.range % 7 = b.range' } },
      undefined, { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(slow);
    await client.close();
    // the gateway saw the hang-up and dropped the upstream call: queryd
    // stopped the query (its disconnects count) instead of running it out
    const deadline = Date.now() + 10000;
    while (await disconnects() === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(await disconnects() > before, 'queryd saw no disconnect');
    const again = await httpClient(READ);
    const r = await again.callTool({ name: 'query', arguments: { sql: 'SELECT 1 AS one' } });
    assert.equal(text(r).split('\n')[1], '1');
    await again.close();
  });
});

describe('lakehouse mcp over stdio, the process', () => {
  function start(token = READ) {
    return spawn(BINARY, ['mcp'], { stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, LAKEHOUSE_URL: url, LAKEHOUSE_TOKEN: token } });
  }
  const exited = (p) => new Promise((resolve) => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    p.on('exit', (code, sig) => resolve(code === null ? sig : code));
  });
  const withTimeout = (promise, ms, what) => Promise.race([promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(what + ' timed out')), ms))]);

  it('writes only protocol on stdout, ends on EOF, survives bad lines', async () => {
    const p = start();
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {} } }) + '\n');
    p.stdin.write('{garbage\n');
    p.stdin.write('[{"jsonrpc":"2.0","id":2,"method":"ping"}]\n');
    p.stdin.write('x'.repeat(5 * 1024 * 1024) + '\n');   // over the 4 MiB line cap
    p.stdin.write('\n');
    p.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }) + '\n');
    p.stdin.end();
    assert.equal(await withTimeout(exited(p), 20000, 'exit on EOF'), 0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 5);
    assert.equal(lines[0].result.protocolVersion, '2025-11-25');
    assert.equal(lines[1].error.code, -32700);
    assert.equal(lines[2].error.code, -32600);
    assert.equal(lines[3].error.code, -32700);
    assert.deepEqual(lines[4], { jsonrpc: '2.0', id: 3, result: {} });
  });

  it('says so when the lakehouse cannot be reached', async () => {
    const port = await freePort();   // nothing listens there
    const transport = new StdioClientTransport({
      command: BINARY, args: ['mcp'],
      env: { PATH: process.env.PATH, LAKEHOUSE_URL: `http://127.0.0.1:${port}/`, LAKEHOUSE_TOKEN: READ },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'lakehouse-test', version: '1.0.0' });
    await client.connect(transport);
    // the token's class is unknown: taken as no, so no write tool is listed
    const listed = (await client.listTools()).tools.map((t) => t.name);
    assert.equal(listed.length, 5);
    assert.ok(!listed.includes('ingest_csv'));
    const r = await client.callTool({ name: 'list_datasets', arguments: {} });
    assert.equal(r.isError, true);
    const msg = text(r);
    assert.match(msg, new RegExp(`^cannot reach the lakehouse at http://127\\.0\\.0\\.1:${port} \\(LAKEHOUSE_URL\\): `));
    assert.equal(msg.split('cannot reach').length, 2, msg);   // said once
    await client.close();
  });

  it('exits cleanly when the client dies mid-call, cutting the call in hand', async () => {
    const p = start();
    // about 6 s of work when it runs to the end (more on a loaded machine)
    p.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: {
      name: 'query', arguments: { sql: 'SELECT count(*) FROM range(400000000) a, range(40) b ' +
                                       'WHERE a.range % 7 = b.range' } } }) + '\n');
    await new Promise((r) => setTimeout(r, 300));
    const t = Date.now();
    p.stdout.destroy();   // the client is gone: its end of both pipes closes
    p.stdin.destroy();
    const code = await withTimeout(exited(p), 30000, 'exit after the client died');
    assert.equal(code, 0);
    // it cut its request (curl polls the cancel hook about once a second)
    // rather than waiting for the query's answer
    assert.ok(Date.now() - t < 4000, `exited ${Date.now() - t} ms after the client died`);
    // and the lakehouse still answers
    const r = await v1('POST', '/v1/query', JSON.stringify({ sql: 'SELECT 1 AS x' }), 'application/json', READ);
    assert.equal(r.rows[0][0], 1);
  });
});

describe('the MCP Inspector CLI', () => {
  function inspector(args) {
    return new Promise((resolve, reject) => {
      // A tool result with isError makes the CLI exit 1 after printing it.
      execFile(process.execPath, [INSPECTOR, '--cli', ...args], { timeout: 60000, maxBuffer: 1 << 24 },
        (err, stdout, stderr) => {
          try {
            resolve({ code: err ? err.code : 0, out: stdout, json: JSON.parse(stdout.split('\n\n')[0]) });
          } catch (e) {
            reject(new Error(`${err ? err.message : ''}\n${stdout}\n${stderr}`));
          }
        });
    });
  }
  const stdioTarget = (token) => [BINARY, 'mcp', '-e', `LAKEHOUSE_URL=${url}`, '-e', `LAKEHOUSE_TOKEN=${token}`];
  const httpTarget = (token) => [url + '/mcp', '--transport', 'http', '--header', `Authorization: Bearer ${token}`];

  for (const [name, target] of [['stdio', stdioTarget], ['http', httpTarget]]) {
    it(`lists tools and calls one over ${name}`, async () => {
      const list = await inspector([...target(WRITE), '--method', 'tools/list']);
      assert.equal(list.code, 0);
      assert.deepEqual(list.json.tools.map((t) => t.name).sort(), [...READ_TOOLS, ...WRITE_TOOLS].sort());
      const rl = await inspector([...target(READ), '--method', 'tools/list']);
      assert.deepEqual(rl.json.tools.map((t) => t.name).sort(), READ_TOOLS);
      const r = await inspector([...target(READ), '--method', 'tools/call', '--tool-name', 'query',
                                 '--tool-arg', 'sql=SELECT count(*) AS n FROM placements']);
      assert.equal(r.code, 0);
      assert.equal(r.json.isError, false);
      assert.equal(r.json.content[0].text.split('\n')[1], '5');
      const e = await inspector([...target(READ), '--method', 'tools/call', '--tool-name',
                                 'describe_dataset', '--tool-arg', 'name=placement']);
      assert.notEqual(e.code, 0);
      assert.equal(e.json.isError, true);
      assert.equal(e.json.content[0].text, "unknown dataset 'placement'; did you mean 'placements'?");
    });
  }
});

describe('lakehouse mcp keeps LAKEHOUSE_URL credentials to itself', () => {
  it('masks the user-info of LAKEHOUSE_URL in its log line and tool errors', async () => {
    const { spawnSync } = require('node:child_process');
    const lines = [
      { jsonrpc: '2.0', id: 1, method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_datasets', arguments: {} } },
    ].map((m) => JSON.stringify(m)).join('\n') + '\n';
    // port 1 on loopback: nothing listens, so the call fails and says where
    const r = spawnSync(BINARY, ['mcp'], { input: lines, timeout: 30000, encoding: 'utf8',
      env: { PATH: process.env.PATH, LAKEHOUSE_URL: 'http://alice:s3cr3tpw@127.0.0.1:1',
             LAKEHOUSE_TOKEN: 'x' } });
    const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const call = answers.find((a) => a.id === 2);
    assert.equal(call.result.isError, true);
    assert.match(call.result.content[0].text, /cannot reach the lakehouse at http:\/\/\*\*\*@127\.0\.0\.1:1/);
    assert.doesNotMatch(r.stdout, /s3cr3tpw|alice/);
    assert.doesNotMatch(r.stderr, /s3cr3tpw|alice/);
    assert.match(r.stderr, /\*\*\*@127\.0\.0\.1:1/);
  });
});
