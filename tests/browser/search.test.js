// search.test.js — search in the web UI (issue 13 point 7, ADR 0151), in
// Debian's chromium driven by playwright-core against `lakehouse serve` on a
// free loopback port: a CSV ingested and an index declared over HTTP, then
// the dataset page's search box, highlighted results in order, the mode
// switch, a filter, a bad filter and a dataset without an index explained in
// words, the index state panel, a link that carries a filter (fills, does
// not run), the page without JavaScript, and rows holding <script> and
// <img onerror> that stay inert text. Screenshots go to test-output/; the
// Search page's is also docs/ui-search.png. Run: make browser.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ROOT, freePort, startServe, launchChromium } = require('./lakehouse.js');
const SHOTS = path.join(ROOT, 'test-output');

const csvQuote = (s) => '"' + s.replace(/"/g, '""') + '"';
const XSS_SCRIPT = '<script>window.__xss=1;alert(1)</script>';
const XSS_IMG = '<img src=x onerror="window.__xss=2;alert(2)">';
const PEOPLE = [
  'worker_id,full_name,title,skills,notes,state',
  '1,Ann Smith,Forklift Operator,forklift; pallet jack; OSHA-30,Certified lift truck driver available now,WI',
  '2,Bob Jones,Registered Nurse,ICU; BLS; ACLS,Critical care nurse with 5 years on a hospital ward,IL',
  '3,Cara Diaz,Welder,MIG; TIG; AWS D1.1,Welding fabricator for structural steel,WI',
  '4,Dan Wu,Software Engineer,C; Python; SQL,Backend developer who likes databases,CA',
  '5,Eve Kim,Warehouse Associate,picking; packing; forklift,Production worker on night shift,WI',
  '6,Finn Lee,Dental Hygienist,cleaning; x-ray,Dentist assistant in a family practice,MN',
  '7,Gus Ray,Truck Driver,CDL-A; logistics,Long haul driver with a clean record,TX',
  '8,Hana Ito,Electrician,wiring; conduit,Electrical technician for new buildings,IL',
  ['9', 'Ivy Roe', 'Forklift Trainer', 'forklift; safety',
   csvQuote(XSS_SCRIPT + ' forklift ' + XSS_IMG), 'WI'].join(','),
  '',
].join('\n');

let server, dataDir, base, browser, page;
let serverLog = '';
let dialogs = 0;

function shot(p, name) {
  return p.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

async function api(method, url, body, type = 'application/json') {
  const r = await fetch(base + url, {
    method, body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'Content-Type': type },
  });
  const text = await r.text();
  assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function waitReady(name) {
  const deadline = Date.now() + 90000;
  for (;;) {
    const ix = await (await fetch(`${base}/v1/catalog/index/${name}`)).json();
    if (ix.versions.length && ix.versions.every((v) => v.state === 'ready')) return ix;
    assert.ok(Date.now() < deadline, JSON.stringify(ix));
    await new Promise((r) => setTimeout(r, 100));
  }
}

// worker_id of each result row, in order (a result row's data-rank; the id
// is the first row column: after #, score and, in hybrid mode, the ranks).
async function resultIds(p) {
  const hybrid = await p.locator('#search-results th', { hasText: 'Vector' }).count();
  const at = hybrid ? 5 : 3;
  return p.locator('#search-results tbody tr').evaluateAll(
    (rows, i) => rows.map((r) => Number(r.querySelector(`td:nth-child(${i})`).textContent)), at);
}

describe('search in the web UI', () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-search-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServe(port, path.join(dataDir, 'data'), (d) => { serverLog += d; });
    await api('POST', '/v1/ingest?name=people', PEOPLE, 'text/csv');
    await api('POST', '/v1/ingest?name=plain', PEOPLE, 'text/csv');
    await api('PUT', '/v1/catalog/index/people',
              { text: ['title', 'skills', 'notes'], id: 'worker_id' });
    await waitReady('people');
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1180, height: 800 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(15000);
    page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });
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

  it('searches from the dataset page: highlighted results in order, and the index state', async () => {
    await page.goto(base + '/datasets/people');
    await page.fill('#dataset-q', 'forklift operator');
    await shot(page, 'ui-dataset-search-box.png');
    await page.click('#dataset-search-button');
    await page.waitForURL(/\/search\?dataset=people&q=forklift\+operator$/);
    await page.locator('#search-results').waitFor();
    assert.equal(await page.locator('header nav a.active').innerText(), 'Search');
    assert.equal(await page.inputValue('#search-q'), 'forklift operator');
    assert.equal(await page.inputValue('#search-dataset'), 'people');
    const ids = await resultIds(page);
    assert.equal(ids.length, 9);
    assert.equal(ids[0], 1);   // both words in the title, forklift in skills
    // the matched words are marked, in the cells they were found in
    const top = page.locator('#search-results tbody tr').first();
    assert.deepEqual(await top.locator('td[data-column="title"] mark').allInnerTexts(),
                     ['Forklift', 'Operator']);
    const meta = await page.locator('#search-meta').innerText();
    assert.match(meta, /9 results of 9 rows searched · all indexed · [\d.]+ ms · hybrid search of people@1/);
    // the index state: version 1 ready, all rows indexed
    const v1 = page.locator('#index-versions tr[data-version="1"]');
    assert.match(await v1.innerText(), /ready/);
    assert.match(await v1.innerText(), /9 of 9/);
    await shot(page, 'ui-search.png');
  });

  it('takes the documentation screenshot (docs/ui-search.png)', async () => {
    await page.goto(base + '/search?dataset=people&q=' + encodeURIComponent('nurse hospital ward') + '&k=5');
    await page.locator('#search-results').waitFor();
    await shot(page, 'ui-search-docs.png');
    if (process.env.LH_DOCS_SCREENSHOT)   // set when docs/ui-search.png is to be remade
      fs.copyFileSync(path.join(SHOTS, 'ui-search-docs.png'), path.join(ROOT, 'docs', 'ui-search.png'));
  });

  it('switches mode and applies a filter without reloading the page', async () => {
    await page.evaluate(() => { window.__same_page = true; });
    await page.selectOption('#search-mode', 'text');
    await page.fill('#search-q', 'forklift');
    await page.click('#search-button');
    await page.locator('#search-meta', { hasText: 'text search' }).waitFor();
    assert.equal(await page.evaluate(() => window.__same_page), true);   // htmx swapped it
    await page.waitForURL(/mode=text/);   // the address follows the search
    // text mode: only rows that hold the word; BM25 order
    const ids = await resultIds(page);
    assert.deepEqual(ids.slice().sort(), [1, 5, 9]);
    assert.equal(await page.locator('#search-results th', { hasText: 'Vector' }).count(), 0);

    await page.selectOption('#search-mode', 'vector');
    await page.fill('#search-q', 'teeth cleaning dentist');
    await page.fill('#search-k', '3');
    await page.click('#search-button');
    await page.locator('#search-meta', { hasText: 'vector search' }).waitFor();
    assert.equal((await resultIds(page))[0], 6);
    assert.equal((await resultIds(page)).length, 3);

    await page.selectOption('#search-mode', 'hybrid');
    await page.fill('#search-q', 'nurse');
    await page.fill('#search-k', '10');
    await page.fill('#search-where', "state = 'IL'");
    await page.click('#search-button');
    await page.locator('#search-meta', { hasText: 'of 2 rows searched' }).waitFor();
    assert.deepEqual((await resultIds(page)).slice().sort(), [2, 8]);
    assert.equal(await page.evaluate(() => window.__same_page), true);
    assert.match(page.url(), /where=state(\+|%20)%3D(\+|%20)%27IL%27/);
  });

  it('explains a bad filter and a dataset without an index', async () => {
    await page.fill('#search-where', 'nope = 1');
    await page.click('#search-button');
    const err = page.locator('#search-result .alert-error');
    await err.waitFor();
    assert.match(await err.innerText(), /The filter could not be used/);
    assert.match(await err.innerText(), /nope/);
    await page.fill('#search-where', "1=1; DROP TABLE people");
    await page.click('#search-button');
    await page.locator('#search-result .alert-error[data-code="bad_where"]').waitFor();
    await shot(page, 'ui-search-bad-filter.png');

    // choosing a dataset without an index says how to declare one at once
    await page.fill('#search-where', '');
    await page.selectOption('#search-dataset', 'plain');
    const box = page.locator('#no-index');
    await box.waitFor();
    assert.match(await box.innerText(), /plain has no search index yet/);
    assert.match(await box.innerText(),
                 /lakehouse index plain --text full_name,title,skills,notes,state/);
    await page.click('#search-button');
    await page.locator('#search-result #no-index').waitFor();
    await shot(page, 'ui-search-no-index.png');
    // and back: the index state of people
    await page.selectOption('#search-dataset', 'people');
    await page.locator('#index-state').waitFor();
  });

  it('keeps rows holding <script> and <img onerror> inert, as text', async () => {
    await page.goto(base + '/search?dataset=people&q=forklift&mode=text');
    const cell = page.locator('#search-results td[data-column="notes"]', { hasText: 'forklift' });
    await cell.waitFor();
    const text = await cell.innerText();
    assert.ok(text.includes(XSS_SCRIPT), text);
    assert.ok(text.includes('<img src=x onerror='), text);
    assert.equal(await cell.locator('mark').innerText(), 'forklift');
    assert.equal(await page.locator('#search-results img, #search-results script').count(), 0);
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(dialogs, 0);
  });

  it('fills but does not run a link that carries a filter; runs it on Search', async () => {
    const where = encodeURIComponent("state = 'WI'");
    await page.goto(`${base}/search?dataset=people&q=welder&mode=text&where=${where}`);
    await page.locator('#search-fill-hint').waitFor();
    assert.equal(await page.locator('#search-results').count(), 0);
    assert.equal(await page.inputValue('#search-where'), "state = 'WI'");
    await page.click('#search-button');
    await page.locator('#search-results').waitFor();
    assert.deepEqual(await resultIds(page), [3]);
  });

  it('shows a new version in the index state until it is built', async () => {
    await api('POST', '/v1/ingest?name=people&mode=append',
              'worker_id,full_name,title,skills,notes,state\n' +
              '10,Jo Park,Forklift Operator,forklift,Order picker on days,TX\n', 'text/csv');
    await page.goto(base + '/search?dataset=people&q=forklift&mode=text');
    await page.locator('#index-versions tr[data-version="2"]').waitFor();
    // searched complete whether or not it is built yet
    assert.ok((await resultIds(page)).includes(10));
    // the panel updates itself (polling) until version 2 is ready
    await page.locator('#index-versions tr[data-version="2"][data-state="ready"]')
      .waitFor({ timeout: 60000 });
  });

  it('fits a phone: the page does not scroll sideways, the results scroll in their box', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    await p.goto(base + '/search?dataset=people&q=forklift+operator');
    await p.locator('#search-results').waitFor();
    const width = await p.evaluate(() => document.documentElement.clientWidth);
    const scroll = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scroll <= width, `the page is ${scroll}px wide on a ${width}px screen`);
    for (const sel of ['#search-q', '#search-where', '#search-button', '#search-dataset']) {
      const box = await p.locator(sel).boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= width, `${sel} at ${JSON.stringify(box)}`);
    }
    await shot(p, 'ui-phone-search.png');
    await ctx.close();
  });

  it('works without JavaScript: the form posts and the page comes back whole', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    await p.goto(base + '/search?dataset=people');
    await p.fill('#search-q', 'welding steel');
    await p.fill('#search-where', "state = 'WI'");
    await p.selectOption('#search-mode', 'text');
    await p.click('#search-button');
    await p.locator('#search-results').waitFor();
    assert.deepEqual(await resultIds(p), [3]);
    assert.match(p.url(), /\/search$/);   // a POST: no filter in the address
    await ctx.close();
  });
});
