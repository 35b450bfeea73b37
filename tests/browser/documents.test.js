// documents.test.js — documents in the web UI (issue 18 point 4, ADR 0229),
// in Debian's chromium driven by playwright-core against `lakehouse serve` on
// a free loopback port: documents ingested over HTTP (kind=documents), the
// dataset page lists them with a download link each, the link downloads the
// original byte for byte under its own name, a search shows the file name,
// the page (or part) and the highlight with a link, an uploaded HTML file
// with a script stays inert, and both pages fit a phone. Screenshots go to
// test-output/. Run: make browser.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ROOT, freePort, startServe, launchChromium } = require('./lakehouse.js');
const SHOTS = path.join(ROOT, 'test-output');

const FILES = [
  ['ann_smith.txt', 'Ann Smith\nann.smith@example.com\n\nForklift operator with OSHA-30, ' +
    'eight years on the night shift of a distribution centre.\n'],
  ['bob jones résumé.md', '# Bob Jones\n\nbob.jones@example.org\n\nRegistered nurse, ICU and ' +
    'critical care, BLS and ACLS certified.\n'],
  ['evil.html', '<html><head><script>window.__xss=1</script></head><body><p>Welder, MIG ' +
    'and TIG <img src=x onerror="window.__xss=2"></p></body></html>\n'],
];

let server, dataDir, base, browser, page;
let serverLog = '';

function shot(p, name) {
  return p.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

async function ingestDocs(name, files) {
  const form = new FormData();
  for (const [n, text] of files) form.append('file', new Blob([text]), n);
  const r = await fetch(`${base}/v1/ingest?kind=documents&name=${name}`, { method: 'POST', body: form });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body;
}

async function waitReady(name) {
  const deadline = Date.now() + 90000;
  for (;;) {
    const ix = await (await fetch(`${base}/v1/catalog/index/${name}`)).json();
    if (ix.versions && ix.versions.length && ix.versions.every((v) => v.state === 'ready')) return ix;
    assert.ok(Date.now() < deadline, JSON.stringify(ix));
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('documents in the web UI', () => {
  let answer;
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-docs-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServe(port, path.join(dataDir, 'data'), (d) => { serverLog += d; });
    answer = await ingestDocs('resumes', FILES);
    await waitReady('resumes');
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1180, height: 800 }, acceptDownloads: true });
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

  it('lists the documents on the dataset page and downloads the original', async () => {
    await page.goto(base + '/datasets/resumes');
    const rows = page.locator('#documents tbody tr');
    assert.equal(await rows.count(), 3);
    const names = await page.locator('#documents a.doc-download').allInnerTexts();
    assert.deepEqual(names, ['ann_smith.txt', 'bob jones résumé.md', 'evil.html']);
    const bob = answer.files.find((f) => f.file_name === 'bob jones résumé.md');
    const link = page.locator('#documents a.doc-download', { hasText: 'bob jones' });
    assert.equal(await link.getAttribute('href'), '/v1/documents/' + bob.doc_id);
    await shot(page, 'ui-documents-dataset.png');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), 'bob jones résumé.md');
    const saved = path.join(dataDir, 'got.md');
    await download.saveAs(saved);
    assert.equal(fs.readFileSync(saved, 'utf8'), FILES[1][1]);
    // the HTML original downloads too, and nothing in it ran
    const evil = page.locator('#documents a.doc-download', { hasText: 'evil.html' });
    const [d2] = await Promise.all([page.waitForEvent('download'), evil.click()]);
    assert.equal(d2.suggestedFilename(), 'evil.html');
    assert.equal(await page.evaluate(() => window.__xss), undefined);
  });

  it('shows search hits as documents: file name, part, highlight and a link', async () => {
    await page.goto(base + '/search?dataset=resumes&q=forklift+operator&mode=text');
    const hits = page.locator('#search-results li.doc-hit');
    await hits.first().waitFor();
    assert.equal(await hits.count(), 1);
    const top = hits.first();
    assert.equal(await top.locator('a.doc-download').innerText(), 'ann_smith.txt');
    assert.equal(await top.locator('.doc-page').innerText(), 'part 1');
    assert.deepEqual(await top.locator('mark').allInnerTexts(), ['Forklift', 'operator']);
    const ann = answer.files.find((f) => f.file_name === 'ann_smith.txt');
    assert.equal(await top.locator('a.doc-download').getAttribute('href'), '/v1/documents/' + ann.doc_id);
    await shot(page, 'ui-documents-search.png');
    await page.goto(base + '/search?dataset=resumes&q=welder&mode=text');
    await page.locator('#search-results li.doc-hit').first().waitFor();
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator('#search-results img').count(), 0);
  });

  it('fits a phone: the dataset page and the search do not scroll sideways', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    for (const url of ['/datasets/resumes', '/search?dataset=resumes&q=nurse+critical+care']) {
      await p.goto(base + url);
      const width = await p.evaluate(() => document.documentElement.clientWidth);
      const scroll = await p.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scroll <= width, `${url}: the page is ${scroll}px wide on a ${width}px screen`);
    }
    await shot(p, 'ui-documents-phone.png');
    await ctx.close();
  });
});
