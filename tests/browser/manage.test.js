// manage.test.js — renaming and dropping a dataset from its page (issue 15
// point 4, ADR 0175), in Debian's chromium driven by playwright-core against
// `lakehouse serve`: the rename form takes a new name (the browser refuses
// one the name rules refuse) and lands on the new name's page, whose
// versions are all there; the old page says where the dataset went. The
// drop form only submits when the dataset's name is typed again, exactly
// (the browser's own check, as GitHub asks before deleting a repository);
// a wrong name typed leaves the dataset, the right one drops it. Both
// forms carry the page's CSRF token. Run: make browser.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ROOT, freePort, startServe, launchChromium } = require('./lakehouse.js');
const SHOTS = path.join(ROOT, 'test-output');

let server, dataDir, base, browser, page;
let serverLog = '';

async function ingest(name, csv, mode = 'replace') {
  const r = await fetch(`${base}/v1/ingest?name=${name}&mode=${mode}`, {
    method: 'POST', body: csv, headers: { 'Content-Type': 'text/csv' },
  });
  assert.equal(r.status, 200, await r.text());
}

async function catalogStatus(name) {
  return (await fetch(`${base}/v1/catalog/manifest/${name}`)).status;
}

describe('renaming and dropping a dataset in the web UI', () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-manage-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServe(port, path.join(dataDir, 'data'), (d) => { serverLog += d; });
    await ingest('people', 'id,name\n1,Ada\n2,Grace\n');
    await ingest('people', 'id,name\n3,Linus\n', 'append');
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1180, height: 900 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(15000);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('renames from the dataset page', async () => {
    await page.goto(`${base}/datasets/people`);
    const form = page.locator('#rename-form');
    assert.ok(await form.isVisible());
    const token = await page.locator('meta[name="csrf-token"]').getAttribute('content');
    assert.equal(await form.locator('input[name="csrf"]').inputValue(), token);
    // a name the rules refuse: the browser does not send the form
    await page.fill('#rename-to', '9lives');
    await page.click('#rename-button');
    assert.equal(await page.locator('#rename-to').evaluate((e) => e.validity.patternMismatch),
                 true);
    assert.equal(new URL(page.url()).pathname, '/datasets/people');
    assert.equal(await catalogStatus('people'), 200);
    await page.screenshot({ path: path.join(SHOTS, 'ui-manage.png'), fullPage: true });
    // a good one: the new page, with both versions
    await page.fill('#rename-to', 'staff');
    await Promise.all([page.waitForURL(`${base}/datasets/staff`), page.click('#rename-button')]);
    assert.equal(await page.locator('#dataset-name').textContent(), 'staff');
    assert.equal(await page.locator('#versions tbody tr').count(), 2);
    assert.equal(await catalogStatus('people'), 404);
    // the old page says where it went, and links there
    const r = await page.goto(`${base}/datasets/people`);
    assert.equal(r.status(), 404);
    assert.match(await page.locator('#renamed-message').textContent(), /renamed to "staff"/);
    await Promise.all([page.waitForURL(`${base}/datasets/staff`), page.click('#renamed-link')]);
  });

  it('drops only when the name is typed again', async () => {
    await page.goto(`${base}/datasets/staff`);
    assert.match(await page.locator('#drop-form').textContent(), /Type staff to confirm/);
    // nothing typed, a reflexive "y", another letter case: the browser keeps the form
    for (const typed of ['', 'y', 'STAFF', 'staf']) {
      await page.fill('#drop-confirm', typed);
      await page.click('#drop-button');
      assert.equal(await page.locator('#drop-confirm').evaluate((e) => e.validity.valid), false,
                   typed);
      assert.equal(new URL(page.url()).pathname, '/datasets/staff');
    }
    assert.equal(await catalogStatus('staff'), 200);
    // the name itself: dropped
    await page.fill('#drop-confirm', 'staff');
    await Promise.all([page.waitForURL(`${base}/datasets/staff/drop`), page.click('#drop-button')]);
    assert.match(await page.locator('#dropped').textContent(), /Dataset staff was dropped/);
    assert.equal(await catalogStatus('staff'), 404);
    await page.click('text=Back to the datasets');
    assert.equal(new URL(page.url()).pathname, '/');
  });
});
