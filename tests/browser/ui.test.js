// ui.test.js — the web UI in a real browser (ADR 0080): Debian's chromium
// driven by playwright-core, against `build/lakehouse serve` on a free
// loopback port with a fresh data directory. Every step of a user's tour:
// upload through the form, see the dataset listed and filtered, open its
// page, download it, run queries (table + chart, Ctrl+Enter), trigger a
// schema drift and see it explained, prove that hostile CSV content stays
// text, and read everything with JavaScript disabled. Screenshots go to
// test-output/ (git-ignored). Run: make browser (node --test tests/browser/).
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ROOT, freePort, startServe, launchChromium } = require('./lakehouse.js');
const SHOTS = path.join(ROOT, 'test-output');

const PLACEMENTS = [
  'placement_id,client,start_date,amount',
  '1,Acme,2026-01-05,1200.50',
  '2,Globex,2026-01-12,800',
  '3,Acme,2026-02-02,950.25',
  '4,Initech,2026-02-20,400',
  '5,Umbrella,2026-03-01,1500',
  '6,Globex,2026-03-15,700',
  '',
].join('\n');
// The export changed: amount became text and a column was added.
const PLACEMENTS_DRIFT = [
  'placement_id,client,start_date,amount,recruiter',
  '7,Acme,2026-04-01,n/a,Grace',
  '',
].join('\n');
// Hostile content in the header and in cells.
const XSS_SCRIPT = '<script>window.__xss=1</script>';
const XSS_IMG = '"><img src=x onerror="window.__xss=2">';
const csvQuote = (s) => '"' + s.replace(/"/g, '""') + '"';
const XSS_CSV = [
  ['id', csvQuote(XSS_SCRIPT), csvQuote(XSS_IMG)].join(','),
  ['1', csvQuote(XSS_IMG), csvQuote(XSS_SCRIPT)].join(','),
  ['2', csvQuote("<b onmouseover='window.__xss=3'>x</b>"), '5'].join(','),
  '',
].join('\n');

let server, dataDir, base, browser, page;
let serverLog = '';

function shot(name) {
  return page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

async function upload(name, file, mode) {
  await page.goto(base + '/upload');
  await page.fill('#name', name);
  await page.setInputFiles('#file', file);
  if (mode) await page.check(`input[name=mode][value=${mode}]`);
  await page.click('#upload-button');
  return page.waitForSelector('#upload-outcome');
}

describe('web UI', () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-browser-'));
    for (const [f, body] of [['placements.csv', PLACEMENTS],
                             ['placements_v2.csv', PLACEMENTS_DRIFT],
                             ['xss.csv', XSS_CSV]])
      fs.writeFileSync(path.join(dataDir, f), body);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServe(port, path.join(dataDir, 'data'), (d) => { serverLog += d; });
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1180, height: 800 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(10000);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    if (process.env.LH_SERVER_LOG) fs.writeFileSync(process.env.LH_SERVER_LOG, serverLog);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('uploads a CSV through the form, with a progress bar and the result in words', async () => {
    await page.goto(base + '/upload');
    assert.equal(await page.locator('#upload-progress').count(), 1);
    const outcome = await upload('placements', path.join(dataDir, 'placements.csv'));
    assert.equal(await outcome.getAttribute('data-outcome'), 'new_version');
    const text = await outcome.innerText();
    assert.match(text, /placements is now at version 1/);
    assert.match(text, /6 rows and 4 columns/);
    // the progress bar ran to the end
    assert.equal(await page.locator('#upload-progress').evaluate((p) => p.value), 100);
    await shot('ui-upload.png');
    // the same file again: unchanged
    const again = await upload('placements', path.join(dataDir, 'placements.csv'));
    assert.equal(await again.getAttribute('data-outcome'), 'unchanged');
    assert.match(await again.innerText(), /already version 1/);
  });

  it('lists the dataset and filters the list as one types', async () => {
    await page.goto(base + '/');
    const row = page.locator('#datasets tbody tr', { hasText: 'placements' });
    await row.waitFor();
    assert.match(await row.innerText(), /v1\s+6\s+/);
    await page.fill('#q', 'zzz');
    await page.locator('#dataset-list', { hasText: 'No dataset name contains' }).waitFor();
    await page.fill('#q', 'PLACE');
    await page.locator('#datasets a', { hasText: 'placements' }).waitFor();
    await shot('ui-datasets.png');
  });

  it('opens the dataset page: schema, versions, preview, downloads', async () => {
    await page.click('#datasets a:text("placements")');
    await page.waitForSelector('#dataset-name');
    assert.equal(await page.locator('#dataset-name').innerText(), 'placements');
    const schema = await page.locator('#schema').innerText();
    assert.match(schema, /amount\s+float64\s+no/);
    assert.match(schema, /start_date\s+date32/);
    assert.equal(await page.locator('#versions tbody tr').count(), 1);
    assert.equal(await page.locator('#preview tbody tr').count(), 6);
    assert.match(await page.locator('#preview').innerText(), /Umbrella/);
    await shot('ui-dataset.png');
    for (const [fmt, check] of [['csv', (b) => b.toString().startsWith('placement_id,client')],
                                ['parquet', (b) => b.subarray(0, 4).toString() === 'PAR1']]) {
      const href = await page.locator(`a[href*="format=${fmt}"]`).getAttribute('href');
      const r = await page.request.get(base + href);
      assert.equal(r.status(), 200);
      assert.match(r.headers()['content-disposition'], new RegExp(`attachment; filename="placements-v1\\.${fmt}"`));
      assert.ok(check(await r.body()), fmt + ' body');
    }
  });

  it('runs SQL with Ctrl+Enter and shows a table and a bar chart', async () => {
    await page.goto(base + '/console');
    await page.click('#dataset-chips [data-insert="placements"]');
    assert.equal(await page.inputValue('#sql'), 'SELECT * FROM placements LIMIT 100');
    const sql = 'SELECT client, sum(amount) AS total FROM placements GROUP BY client ORDER BY total DESC';
    await page.fill('#sql', sql);
    await page.evaluate(() => { window.__samePage = true; });
    await page.press('#sql', 'Control+Enter');
    await page.waitForSelector('#result-meta');
    assert.match(await page.locator('#result-meta').innerText(), /^4 rows · [\d.]+ ms/);
    assert.equal(await page.locator('#result tbody tr').count(), 4);
    assert.equal(await page.locator('#chart svg.chart-bar rect.bar').count(), 4);
    assert.match(await page.locator('#chart svg').innerHTML(), /Globex/);
    assert.equal(await page.evaluate(() => window.__samePage), true);   // htmx: no navigation
    // but the address keeps the query (ADR 0122)
    const url = new URL(page.url());
    assert.equal(url.origin + url.pathname, base + '/console');
    assert.equal(url.searchParams.get('sql'), sql);
    await shot('ui-console.png');
  });

  it('draws a line chart over time and explains SQL errors in words', async () => {
    await page.fill('#sql', 'SELECT start_date, amount FROM placements ORDER BY start_date');
    await page.click('#run');
    await page.waitForSelector('#chart svg.chart-line polyline');
    await shot('ui-console-line.png');
    await page.fill('#sql', 'SELECT nope FROM placements');
    await page.press('#sql', 'Control+Enter');
    const alert = page.locator('#console-result .alert-error');
    await alert.waitFor();
    assert.match(await alert.innerText(), /The query could not run/);
    assert.match(await alert.innerText(), /nope/);
    await page.fill('#sql', 'DROP TABLE placements');
    await page.press('#sql', 'Control+Enter');
    await page.locator('#console-result .alert-error', { hasText: 'Only read-only queries' }).waitFor();
  });

  it('refuses a drifted schema and shows both schemas side by side', async () => {
    const outcome = await upload('placements', path.join(dataDir, 'placements_v2.csv'), 'append');
    assert.equal(await outcome.getAttribute('data-outcome'), 'schema_drift');
    const existing = page.locator('#schema-existing tr.changed');
    const fresh = page.locator('#schema-new tr.changed');
    assert.equal(await existing.count(), 1);
    assert.match(await existing.innerText(), /amount\s+float64\s+.*type changed/);
    assert.equal(await fresh.count(), 2);
    assert.match(await fresh.nth(0).innerText(), /amount\s+utf8\s+.*type changed/);
    assert.match(await fresh.nth(1).innerText(), /recruiter\s+utf8\s+.*added/);
    assert.match(await page.locator('.diff-list').innerText(),
                 /amount changed type from float64 to utf8/);
    await shot('ui-drift.png');
  });

  it('keeps hostile CSV content as text everywhere', async () => {
    const outcome = await upload('xss', path.join(dataDir, 'xss.csv'));
    assert.equal(await outcome.getAttribute('data-outcome'), 'new_version');
    await page.goto(base + '/datasets/xss');
    await page.waitForSelector('#preview');
    assert.match(await page.locator('#schema').innerText(), /<script>window\.__xss=1<\/script>/);
    assert.ok((await page.locator('#preview').innerText()).includes(XSS_IMG));
    assert.equal(await page.locator('#preview img, #schema img, #preview script').count(), 0);
    await page.hover('#preview tbody tr:nth-child(2) td:nth-child(2)');
    // A shared console link fills the editor; the query runs on a click
    // (ADR 0111: no GET runs SQL).
    const linked = 'SELECT "' + XSS_SCRIPT + '" AS label, id FROM xss';
    await page.goto(base + '/console?sql=' + encodeURIComponent(linked));
    assert.equal(await page.inputValue('#sql'), linked);
    assert.equal(await page.locator('#result, #chart').count(), 0);
    await page.click('#run');
    await page.waitForSelector('#chart svg.chart-bar');
    assert.equal(await page.locator('#chart img, #result img').count(), 0);
    await page.fill('#sql', `SELECT '${XSS_SCRIPT}' + 1`);
    await page.press('#sql', 'Control+Enter');
    await page.locator('#console-result .alert-error').waitFor();
    assert.ok((await page.locator('#console-result').innerText()).includes(XSS_SCRIPT));
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    await shot('ui-xss.png');
  });

  it('reads and queries with JavaScript disabled', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const p = await ctx.newPage();
    p.setDefaultTimeout(10000);
    await p.goto(base + '/?q=place');
    assert.match(await p.locator('#datasets').innerText(), /placements/);
    assert.doesNotMatch(await p.locator('#datasets').innerText(), /xss/);
    await p.click('#datasets a:text("placements")');
    await p.waitForSelector('#preview');
    assert.equal(await p.locator('#preview tbody tr').count(), 6);
    await p.goto(base + '/console');
    await p.fill('#sql', 'SELECT count(*) AS n FROM placements');
    await Promise.all([p.waitForNavigation(), p.click('#run')]);
    assert.match(await p.locator('#result').innerText(), /\b6\b/);
    await p.screenshot({ path: path.join(SHOTS, 'ui-nojs-console.png'), fullPage: true });
    await ctx.close();
  });
});
