// xlsx_upload.test.js — an Excel workbook through the upload page in a real
// browser (ADR 0186): the file picker offers .xlsx, the optional "Sheet"
// field picks a sheet, and the result says what was read. The workbook is
// written by libxlsxwriter (tests/integration/gen_xlsx.c, built beside the
// binary as tests/gen_xlsx by make test). Run: make browser.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { BINARY, freePort, startServe, launchChromium } = require('./lakehouse.js');
const GEN = path.join(path.dirname(BINARY), 'tests', 'gen_xlsx');

let server, dataDir, base, browser, page;

async function upload(name, sheet) {
  await page.goto(base + '/upload');
  await page.fill('#name', name);
  await page.setInputFiles('#file', path.join(dataDir, 'types.xlsx'));
  if (sheet) await page.fill('#sheet', sheet);
  await page.click('#upload-button');
  return page.waitForSelector('#upload-outcome, #upload-result .alert-error');
}

describe('Excel upload page', () => {
  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-browser-xlsx-'));
    execFileSync(GEN, [dataDir]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServe(port, path.join(dataDir, 'data'), () => {});
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(10000);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('offers workbooks in the file picker and reads the first sheet', async () => {
    await page.goto(base + '/upload');
    assert.match(await page.getAttribute('#file', 'accept'), /\.xlsx/);
    const outcome = await upload('staff');
    assert.equal(await outcome.getAttribute('data-outcome'), 'new_version');
    assert.match(await outcome.innerText(), /4 rows and 14 columns/);
  });

  it('reads the sheet named in the form', async () => {
    const outcome = await upload('rates', 'Rates');
    assert.equal(await outcome.getAttribute('data-outcome'), 'new_version');
    assert.match(await outcome.innerText(), /2 rows and 2 columns/);
  });

  it('says which sheets there are when the name is wrong', async () => {
    await upload('payroll', 'Payroll');
    await page.locator('#upload-result .alert-error[data-code="unknown_sheet"]').waitFor();
    const text = await page.locator('#upload-result').innerText();
    assert.match(text, /no sheet named "Payroll"; its sheets are "Staff", "Rates"/);
  });
});
