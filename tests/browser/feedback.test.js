// feedback.test.js — rating search results in the web UI (issue 17 point 4,
// ADR 0190), in Debian's chromium driven by playwright-core against
// `lakehouse serve`: each result row has a thumbs up and down; a click
// records the rating (POST /search/feedback with the page's CSRF token,
// swapped for "Rated" by htmx) into people__feedback, and a search with
// "Learn from ratings" then moves the rated rows and says why. Also: the
// thumbs work without JavaScript, and a rating without the page's token is
// refused (403) and records nothing. Run: make browser.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ROOT, freePort, startServe, launchChromium } = require('./lakehouse.js');
const SHOTS = path.join(ROOT, 'test-output');

const PEOPLE = [
  'worker_id,full_name,title,skills,notes,state',
  '1,Ann Smith,Forklift Operator,forklift; pallet jack; OSHA-30,Certified lift truck driver available now,WI',
  '2,Bob Jones,Registered Nurse,ICU; BLS; ACLS,Critical care nurse with 5 years on a hospital ward,IL',
  '3,Cara Diaz,Welder,MIG; TIG; AWS D1.1,Welding fabricator for structural steel,WI',
  '4,Dan Wu,Software Engineer,C; Python; SQL,Backend developer who likes databases,CA',
  '5,Eve Kim,Warehouse Associate,picking; packing; forklift,Production worker on night shift,WI',
  '6,Finn Lee,Dental Hygienist,cleaning; x-ray,Dentist assistant in a family practice,MN',
  '',
].join('\n');

let server, dataDir, base, browser, page;
let serverLog = '';

async function api(method, url, body, type = 'application/json') {
  const r = await fetch(base + url, {
    method, body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'Content-Type': type },
  });
  const text = await r.text();
  assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function ratings() {
  const r = await fetch(base + '/v1/query', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT query, id, score FROM people__feedback ORDER BY recorded_at' }),
  });
  const j = await r.json();
  return r.status === 200 ? j.rows : [];
}

// worker_id of each hybrid result row, in order (#, score, text, vector, id)
async function resultIds(p) {
  return p.locator('#search-results tbody tr').evaluateAll(
    (rows) => rows.map((r) => Number(r.querySelector('td:nth-child(5)').textContent)));
}

describe('rating search results in the web UI', () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-feedback-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServe(port, path.join(dataDir, 'data'), (d) => { serverLog += d; });
    await api('POST', '/v1/ingest?name=people', PEOPLE, 'text/csv');
    await api('PUT', '/v1/catalog/index/people',
              { text: ['title', 'skills', 'notes'], id: 'worker_id' });
    const deadline = Date.now() + 90000;
    for (;;) {
      const ix = await (await fetch(`${base}/v1/catalog/index/people`)).json();
      if (ix.versions.length && ix.versions.every((v) => v.state === 'ready')) break;
      assert.ok(Date.now() < deadline, JSON.stringify(ix));
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1180, height: 800 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(15000);
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

  it('rates a result with a thumb, and a search that learns moves it', async () => {
    await page.goto(base + '/search?dataset=people&q=' + encodeURIComponent('forklift operator'));
    await page.locator('#search-results').waitFor();
    const before = await resultIds(page);
    assert.equal(before[0], 1);
    const eve = before.indexOf(5);
    assert.ok(eve > 0, String(before));
    await page.evaluate(() => { window.__same_page = true; });
    // thumbs down on Ann (first), up on Eve
    const rows = page.locator('#search-results tbody tr');
    await rows.nth(0).locator('button.rate-down').click();
    await rows.nth(0).locator('.rated').waitFor();
    assert.match(await rows.nth(0).locator('.rated').innerText(), /Rated/);
    await rows.nth(eve).locator('button.rate-up').click();
    await rows.nth(eve).locator('.rated').waitFor();
    assert.equal(await page.evaluate(() => window.__same_page), true);   // htmx, no reload
    assert.deepEqual(await ratings(), [['forklift operator', 1, -1], ['forklift operator', 5, 1]]);
    await page.screenshot({ path: path.join(SHOTS, 'ui-search-rated.png'), fullPage: true });
    // the same search, learning from ratings
    await page.check('#search-feedback');
    await page.click('#search-button');
    await page.waitForFunction(() => {
      const t = document.querySelector('#search-results tbody tr td:nth-child(5)');
      return t && t.textContent.trim() === '5';
    });
    const after = await resultIds(page);
    assert.equal(after[0], 5);
    assert.ok(after.indexOf(1) > 0, String(after));
    const why = page.locator('#search-results tbody tr').first().locator('.fb-why');
    assert.match(await why.getAttribute('title'), /rating of \+1 for forklift operator \(similarity 1\.00\)/);
    await page.screenshot({ path: path.join(SHOTS, 'ui-search-feedback.png'), fullPage: true });
  });

  it('rates without JavaScript, and refuses a rating without the page token', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    await p.goto(base + '/search?dataset=people&q=' + encodeURIComponent('nurse'));
    await p.locator('#search-results').waitFor();
    await p.locator('#search-results tbody tr').first().locator('button.rate-up').click();
    await p.locator('.rated').waitFor();
    assert.match(await p.locator('.rated').innerText(), /Rated/);
    assert.equal(await p.locator('.rated a').getAttribute('href'),
                 '/search?dataset=people&q=nurse&feedback=1');
    await ctx.close();
    const n = (await ratings()).length;
    // another site's form: no cookie, no token
    const r = await fetch(base + '/search/feedback', {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'dataset=people&q=nurse&id=2&score=1',
    });
    assert.equal(r.status, 403);
    assert.equal((await ratings()).length, n);
  });
});
