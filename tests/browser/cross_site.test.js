// cross_site.test.js — no web page can act on a lakehouse (issue 22 point 5,
// ADR 0111), in a real browser: Debian's chromium driven by playwright-core.
// `lakehouse serve` runs on http://127.0.0.1:<port>; a tiny Node server on
// another loopback port plays the attacker's site, opened as
// http://localhost:<other>/ (another origin, and another site). Each of its
// pages tries one attack the issue lists; the test then checks that the
// request reached the gateway (the browser did send it) and that it reached
// no service: queryd ran no query, ingestd and catalogd saw no write, no
// dataset appeared, no stored object went away. DNS rebinding is played with
// --host-resolver-rules: http://rebind.test:<port>/ is the lakehouse under a
// name it must not answer to (421). A positive control first: the real UI,
// same origin, still uploads and runs SQL with a click, so the refusals are
// not a broken server. Evidence is the server's own request log (one JSON
// line per request and service, ADR 0005). Run: make browser.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const { ROOT, freePort, startServe, launchChromium } = require('./lakehouse.js');
const SHOTS = path.join(ROOT, 'test-output');

const PLACEMENTS = 'placement_id,client,amount\n1,Acme,1200.5\n2,Globex,800\n3,Acme,950.25\n';
const DRIFT = 'placement_id,client,amount,recruiter\n4,Initech,n/a,Grace\n';
const EVIL_CSV = 'id,owned\n1,yes\n';
// A query no page of ours would send: its result would show 4242.
const EVIL_SQL = 'SELECT 4242 AS pwned';

let server, dataDir, base, port, evil, evilBase, browser, ctx;
let serverLog = '';

// The server's request log lines (JSON), parsed.
function logEntries() {
  const out = [];
  for (const line of serverLog.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const e = JSON.parse(line);
      if (e.method && e.path && e.status !== undefined) out.push(e);
    } catch (e) { /* a line cut by the pipe: the next read completes it */ }
  }
  return out;
}
const count = (pred) => logEntries().filter(pred).length;
const at = (service, method, p) => (e) =>
  e.service === service && e.method === method && e.path === p;
// What an attack must not reach: queryd's query, ingestd's ingest,
// catalogd's register and gc.
const ACTIONS = [at('queryd', 'POST', '/query'), at('ingestd', 'POST', '/ingest'),
                 at('catalogd', 'POST', '/catalog/register'), at('catalogd', 'POST', '/catalog/gc')];
const actions = () => ACTIONS.map(count);

// Wait until the log has `n` more requests matching pred than `before` (for
// the gateway: the browser sent them and the gateway answered them all).
async function gatewaySaw(pred, before, n, what) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (count(pred) >= before + n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the gateway never saw ${what} (${count(pred) - before} of ${n});` +
                  ' the browser did not send the attack, so it proves nothing');
}

async function api(method, p, body) {
  const r = await fetch(base + p, {
    method, body: body && JSON.stringify(body),
    headers: body ? { 'Content-Type': 'application/json' } : {},
  });
  return { status: r.status, body: await r.json() };
}
const datasetNames = async () =>
  (await api('GET', '/v1/catalog/datasets')).body.datasets.map((d) => d.name).sort();
const storedObjects = async () =>
  JSON.stringify((await api('GET', '/v1/storage/list?prefix=datasets/')).body);

// --- the attacker's site -----------------------------------------------------

// Each page is one attack; `target` is the lakehouse's URL. The forms post
// into iframes so the page stays; everything starts on load, no click.
const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
function attackPage(kind, target, extra) {
  const T = JSON.stringify(target);
  const fileInput = `<input type="file" name="file" id="f">`;
  // a file chosen by script, as a user would have: DataTransfer in Chrome
  const setFiles = `(function(){ for (const f of document.querySelectorAll('input[type=file]')) {
      const dt = new DataTransfer();
      dt.items.add(new File([${JSON.stringify(EVIL_CSV)}], 'evil.csv', {type: 'text/csv'}));
      f.files = dt.files; } })();`;
  const form = (id, action, enctype, fields) =>
    `<iframe name="${id}-frame"></iframe><form id="${id}" method="post" target="${id}-frame" ` +
    `action="${esc(action)}" enctype="${enctype}">${fields}</form>`;
  const hidden = (n, v) => `<input type="hidden" name="${esc(n)}" value="${esc(v)}">`;
  const submitAll = `for (const f of document.forms) f.submit();`;
  const noCors = (p, body, type) =>
    `fetch(${T} + ${JSON.stringify(p)}, {method: 'POST', mode: 'no-cors', credentials: 'include',
       headers: {'Content-Type': ${JSON.stringify(type)}}, body: ${body}}).catch(() => {});`;
  const fd = (fields) => `(function(){ const d = new FormData();
       ${fields.map(([k, v]) => `d.append(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('')}
       d.append('file', new Blob([${JSON.stringify(EVIL_CSV)}], {type: 'text/csv'}), 'evil.csv');
       return d; })()`;
  let html = '', js = '';
  switch (kind) {
    case 'img':
      html = `<img src="${esc(target + '/console?sql=' + encodeURIComponent(EVIL_SQL))}">`;
      break;
    case 'upload':
      html = form('a', target + '/upload', 'multipart/form-data',
                  hidden('name', 'evil_ui_form') + hidden('mode', 'replace') + fileInput);
      js = setFiles + submitAll +
        `fetch(${T} + '/upload', {method: 'POST', mode: 'no-cors', credentials: 'include',
           body: ${fd([['name', 'evil_ui_fetch']])}}).catch(() => {});`;
      break;
    case 'ingest':
      html = form('a', target + '/v1/ingest?name=evil_api_form', 'multipart/form-data',
                  hidden('mode', 'replace') + fileInput);
      js = setFiles + submitAll +
        `fetch(${T} + '/v1/ingest?name=evil_api_fetch', {method: 'POST', mode: 'no-cors',
           body: ${fd([['mode', 'replace']])}}).catch(() => {});`;
      break;
    case 'catalog': {
      // register: a real object of the victim's under a new name (JSON the
      // attacker learnt elsewhere), and gc with no grace period: as an
      // urlencoded form, as text/plain JSON smuggled through a form's
      // name=value, and as a no-cors fetch.
      const reg = JSON.stringify(extra.register);
      const gc = '{"grace_seconds": 0, "dry_run": false}';
      html = form('r1', target + '/v1/catalog/register', 'application/x-www-form-urlencoded',
                  hidden('name', 'evil_reg') + hidden('mode', 'replace')) +
        form('r2', target + '/v1/catalog/register', 'text/plain',
             hidden(reg.slice(0, -1) + ',"pad":"', '"}')) +
        form('g1', target + '/v1/catalog/gc', 'application/x-www-form-urlencoded',
             hidden('grace_seconds', '0')) +
        form('g2', target + '/v1/catalog/gc', 'text/plain',
             hidden('{"grace_seconds": 0, "pad": "', '"}'));
      js = submitAll + noCors('/v1/catalog/register', JSON.stringify(reg), 'text/plain') +
        noCors('/v1/catalog/gc', JSON.stringify(gc), 'text/plain');
      break;
    }
    case 'query':
      html = form('q1', target + '/v1/query', 'text/plain',
                  hidden('{"sql": "' + EVIL_SQL + '", "pad": "', '"}')) +
        form('q2', target + '/console', 'application/x-www-form-urlencoded',
             hidden('sql', EVIL_SQL));
      js = submitAll +
        noCors('/v1/query', JSON.stringify(JSON.stringify({ sql: EVIL_SQL })), 'text/plain');
      break;
    default:
      throw new Error('no attack ' + kind);
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${kind}</title></head>` +
    `<body><h1>Cute cats</h1>${html}<script>${js}</script></body></html>`;
}

// --- the tests ---------------------------------------------------------------

describe('cross-site requests', () => {
  let snapshot;        // datasets and stored objects after the positive control
  const extra = {};    // what the attacker is assumed to know

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-cross-site-'));
    fs.writeFileSync(path.join(dataDir, 'placements.csv'), PLACEMENTS);
    fs.writeFileSync(path.join(dataDir, 'drift.csv'), DRIFT);
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServe(port, path.join(dataDir, 'data'), (d) => { serverLog += d; });

    evil = http.createServer((req, res) => {
      const u = new URL(req.url, 'http://x');
      const kind = u.pathname.slice(1);
      try {
        const body = attackPage(kind, base, extra);
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(body);
      } catch (e) {
        res.writeHead(404);
        res.end(String(e));
      }
    });
    const evilPort = await freePort();
    await new Promise((r) => evil.listen(evilPort, '127.0.0.1', r));
    evilBase = `http://localhost:${evilPort}`;

    browser = await launchChromium(
      ['--host-resolver-rules=MAP rebind.test 127.0.0.1, MAP localhost 127.0.0.1']);
    // One context, as one user: the lakehouse's cookie is in the same jar the
    // attacker's pages run in.
    ctx = await browser.newContext({ viewport: { width: 1180, height: 800 } });
  });

  after(async () => {
    if (browser) await browser.close();
    if (evil) await new Promise((r) => evil.close(r));
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    if (process.env.LH_SERVER_LOG) fs.writeFileSync(process.env.LH_SERVER_LOG, serverLog);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('positive control: the real UI uploads and runs SQL with a click', async () => {
    const page = await ctx.newPage();
    page.setDefaultTimeout(10000);
    // htmx's requests carry the page's token as a header (app.js)
    const posts = [];
    page.on('request', (r) => { if (r.method() === 'POST') posts.push(r); });
    const ingests = count(ACTIONS[1]);
    for (const [file, mode, outcome] of [['placements.csv', 'replace', 'new_version'],
                                         ['drift.csv', 'append', 'schema_drift']]) {
      await page.goto(base + '/upload');
      await page.fill('#name', 'placements');
      await page.setInputFiles('#file', path.join(dataDir, file));
      await page.check(`input[name=mode][value=${mode}]`);
      await page.click('#upload-button');
      const o = await page.waitForSelector('#upload-outcome');
      assert.equal(await o.getAttribute('data-outcome'), outcome);
    }
    await gatewaySaw(ACTIONS[1], ingests, 2, 'two ingests');
    assert.equal(count(ACTIONS[1]), ingests + 2);
    assert.deepEqual(await datasetNames(), ['placements']);

    // SQL runs with a click on Run
    const queries = count(ACTIONS[0]);
    await page.goto(base + '/console');
    await page.fill('#sql', 'SELECT sum(amount) AS total FROM placements');
    await page.click('#run');
    await page.waitForSelector('#result');
    assert.match(await page.locator('#result').innerText(), /2950\.75/);
    await gatewaySaw(ACTIONS[0], queries, 1, 'the query');
    assert.equal(count(ACTIONS[0]), queries + 1);

    // the JSON API still answers the same origin's own script
    const r = await page.evaluate(async () => {
      const res = await fetch('/v1/query', { method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sql: 'SELECT 7 AS seven' }) });
      return { status: res.status, text: await res.text() };
    });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"seven"/);
    await gatewaySaw(ACTIONS[0], queries, 2, 'the second query');

    // what the attacker is assumed to know: a real object's manifest entry
    const m = (await api('GET', '/v1/catalog/manifest/placements')).body;
    extra.register = { name: 'evil_reg', schema_fingerprint: m.schema_fingerprint,
                       schema: m.schema, objects: m.objects, row_count: m.row_count,
                       mode: 'replace' };
    snapshot = { names: await datasetNames(), objects: await storedObjects() };
    // placements' object and the refused drift's: gc with no grace would delete it
    assert.equal(JSON.parse(snapshot.objects).objects.length, 2, snapshot.objects);

    // last (the attacks need the snapshot above even where this fails)
    const meta = page.locator('meta[name="csrf-token"]');
    const token = (await meta.count()) ? await meta.getAttribute('content') : null;
    await page.close();
    assert.match(token || '', /^[0-9a-f]{64}$/);
    const ui = posts.filter((r) => !new URL(r.url()).pathname.startsWith('/v1/'));
    assert.deepEqual(ui.map((r) => [new URL(r.url()).pathname, r.headers()['x-csrf-token']]),
                     [['/upload', token], ['/upload', token], ['/console', token]]);
  });

  // Open the attacker's page `kind`; wait until the gateway has answered
  // every request it sends (`expect`: [predicate, how many, label]).
  async function attack(kind, expect) {
    const before = expect.map(([pred]) => count(pred));
    const acts = actions();
    const page = await ctx.newPage();
    await page.goto(`${evilBase}/${kind}`);
    for (let i = 0; i < expect.length; i++)
      await gatewaySaw(expect[i][0], before[i], expect[i][1], expect[i][2]);
    await new Promise((r) => setTimeout(r, 300));   // any upstream line would be in by now
    await page.screenshot({ path: path.join(SHOTS, `cross-site-${kind}.png`), fullPage: true });
    await page.close();
    return { acts, before };
  }

  // After an attack: no service was asked to act, and nothing changed.
  async function assertNothingChanged(acts) {
    assert.deepEqual(actions(), acts,
                     'queryd /query, ingestd /ingest, catalogd /catalog/register, /catalog/gc');
    assert.deepEqual(await datasetNames(), snapshot.names);
    assert.equal(await storedObjects(), snapshot.objects);
  }

  const refused = (pred) => logEntries().filter(pred).slice(-1)[0].status;

  it('a console link of our own fills the editor and runs nothing until Run', async () => {
    const page = await ctx.newPage();
    page.setDefaultTimeout(10000);
    const sql = 'SELECT count(*) AS n FROM placements';
    const queries = count(ACTIONS[0]);
    const consoles = count(at('gateway', 'GET', '/console'));
    await page.goto(base + '/console?sql=' + encodeURIComponent(sql));
    await gatewaySaw(at('gateway', 'GET', '/console'), consoles, 1, 'GET /console');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await page.inputValue('#sql'), sql);
    assert.equal(await page.locator('#result').count(), 0);
    assert.equal(count(ACTIONS[0]), queries);
    await page.click('#run');
    await page.waitForSelector('#result');
    assert.match(await page.locator('#result').innerText(), /\b3\b/);
    await page.close();
  });

  it('an <img> to GET /console?sql= runs no SQL', async () => {
    const { acts } = await attack('img', [[at('gateway', 'GET', '/console'), 1, 'GET /console']]);
    await assertNothingChanged(acts);
  });

  it('a multipart form and a no-cors fetch to POST /upload create no dataset', async () => {
    const p = at('gateway', 'POST', '/upload');
    const { acts } = await attack('upload', [[p, 2, 'POST /upload x2']]);
    await assertNothingChanged(acts);
    for (const e of logEntries().filter(p).slice(-2)) assert.equal(e.status, 403);
  });

  it('a multipart form and a no-cors fetch to POST /v1/ingest create no dataset', async () => {
    const p = at('gateway', 'POST', '/v1/ingest');
    const { acts } = await attack('ingest', [[p, 2, 'POST /v1/ingest x2']]);
    await assertNothingChanged(acts);
    for (const e of logEntries().filter(p).slice(-2)) assert.equal(e.status, 403);
  });

  it('forms and no-cors fetches to /v1/catalog/register and /gc reach no service', async () => {
    const reg = at('gateway', 'POST', '/v1/catalog/register');
    const gc = at('gateway', 'POST', '/v1/catalog/gc');
    const { acts } = await attack('catalog', [[reg, 3, 'POST /v1/catalog/register x3'],
                                              [gc, 3, 'POST /v1/catalog/gc x3']]);
    await assertNothingChanged(acts);
    for (const e of [...logEntries().filter(reg).slice(-3), ...logEntries().filter(gc).slice(-3)])
      assert.ok(e.status === 403 || e.status === 415, `${e.path} answered ${e.status}`);
  });

  it('a text/plain POST to /v1/query and a form POST to /console run no SQL', async () => {
    const q = at('gateway', 'POST', '/v1/query');
    const c = at('gateway', 'POST', '/console');
    const { acts } = await attack('query', [[q, 2, 'POST /v1/query x2'],
                                            [c, 1, 'POST /console']]);
    await assertNothingChanged(acts);
    for (const e of logEntries().filter(q).slice(-2))
      assert.ok(e.status === 403 || e.status === 415, `/v1/query answered ${e.status}`);
    assert.equal(refused(c), 403);
  });

  it('DNS rebinding: rebind.test answers 421, and its page can neither read nor act', async () => {
    const acts = actions();
    const page = await ctx.newPage();
    const resp = await page.goto(`http://rebind.test:${port}/`);
    assert.equal(resp.status(), 421);
    assert.doesNotMatch(await page.content(), /SQL console|Datasets/);
    const got = await page.evaluate(async (sql) => {
      const out = {};
      for (const [name, p, init] of [
        ['datasets', '/v1/catalog/datasets', {}],
        ['health', '/health', {}],
        ['console', '/console?sql=' + encodeURIComponent(sql), {}],
        ['query', '/v1/query', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                 body: JSON.stringify({ sql }) }],
        ['gc', '/v1/catalog/gc', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                   body: '{"grace_seconds": 0}' }],
      ]) {
        try {
          const r = await fetch(p, init);
          out[name] = { status: r.status, text: (await r.text()).slice(0, 200) };
        } catch (e) {
          out[name] = { status: 0, text: String(e) };
        }
      }
      return out;
    }, EVIL_SQL);
    await page.close();
    for (const [name, r] of Object.entries(got)) {
      assert.equal(r.status, 421, `${name}: ${r.status} ${r.text}`);
      assert.doesNotMatch(r.text, /placements|4242|"services"/, name);
    }
    await new Promise((r) => setTimeout(r, 300));
    await assertNothingChanged(acts);
  });
});
