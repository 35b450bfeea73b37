// console.test.js — the SQL console and the smaller UI defects of issue 12
// (points 4 and 5; ADRs 0122 and 0123), in Debian's chromium driven by
// playwright-core against `lakehouse serve` (LAKEHOUSE_BIN, else
// build/lakehouse) on a free loopback port with a fresh data directory:
//   - a 10,000-row result: its total, pages, downloads in CSV, Parquet and
//     JSON (the files' content checked);
//   - the chart's x and y chosen, or no chart, and an id column not charted
//     by default;
//   - the query in the address bar, and a reload that refills the editor
//     without running anything (the server's request log shows no query);
//   - "Query" on a past version queries that version; a refused upload says
//     so instead of "Done"; picking a file fills in the dataset name; counts
//     in one format and sizes in KiB; /favicon.ico; dark mode; a phone's
//     width; long values on one line.
// Data is loaded through /v1/ingest, so each test stands on its own.
// Screenshots go to test-output/. Run: make browser.
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ROOT, freePort, startServe, launchChromium } = require('./lakehouse.js');
const SHOTS = path.join(ROOT, 'test-output');

const RECRUITERS = ['Grace', 'Alan', 'Ada', 'Linus', 'Barbara'];
function timesheetsCsv() {
  const lines = ['timesheet_id,recruiter,candidate,phone,week,hours'];
  for (let i = 1; i <= 10000; i++) {
    const week = `2026-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
    lines.push(`${i},${RECRUITERS[i % 5]},Candidate ${i},+1 (555) 010-${String(i % 10000).padStart(4, '0')},${week},${(i * 7) % 40 + 0.5}`);
  }
  return lines.join('\n') + '\n';
}
const PLACEMENTS_V1 = 'placement_id,client,amount\n1,Acme,1200\n2,Globex,800\n3,Acme,950\n' +
  '4,Initech,400\n5,Umbrella,1500\n6,Globex,700\n';
const PLACEMENTS_MORE = 'placement_id,client,amount\n7,Hooli,300\n8,Acme,650\n';
const PLACEMENTS_DRIFT = 'placement_id,client,amount,recruiter\n9,Acme,n/a,Grace\n';
// A staffing export as wide as the issue's: a phone number among long values.
const PHONE = '+1 (555) 010-2345';
const NOTES = 'Strong backend profile; prefers remote work; available from March; ' +
  'asked about relocation support and a four-day week; references checked twice.';
const CANDIDATES = [
  'candidate_id,first_name,last_name,email,phone,city,country,title,skills,notes,source,status',
  `1,Ada,Lovelace,ada.lovelace@example.com,${PHONE},London,United Kingdom,` +
    `Senior Data Engineer,"python, sql, duckdb, spark, airflow, dbt",` +
    `"${NOTES}",referral,interviewing`,
  `2,Alan,Turing,alan.turing@example.com,+44 20 7946 0958,Manchester,United Kingdom,` +
    `Staff Engineer,"c, rust, distributed systems",` +
    `"${NOTES}",linkedin,offer`,
  '',
].join('\n');

let server, dataDir, base, browser, page;
let serverLog = '';

// queryd's query requests in the server's JSON request log.
function queries() {
  let n = 0;
  for (const line of serverLog.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const e = JSON.parse(line);
      if (e.service === 'queryd' && e.path === '/query' && e.status !== undefined) n++;
    } catch (e) { /* a line cut by the pipe */ }
  }
  return n;
}
// The count once the log has been quiet for a moment (queryd logs a request
// when it has finished with it).
async function settledQueries() {
  let n = queries();
  for (;;) {
    await new Promise((r) => setTimeout(r, 400));
    const m = queries();
    if (m === n) return n;
    n = m;
  }
}

async function ingest(name, csv, mode) {
  const form = new FormData();
  form.append('name', name);
  form.append('mode', mode || 'replace');
  form.append('file', new Blob([csv], { type: 'text/csv' }), name + '.csv');
  const r = await fetch(base + '/v1/ingest', { method: 'POST', body: form });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body;
}

function shot(p, name) {
  return p.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

// htmx has settled: the swapped content is processed (htmx adds its
// handlers to new content 20 ms after the swap, then drops "htmx-added"),
// so the next click or change reaches htmx.
function settled(p) {
  return (p || page).waitForFunction(() =>
    !document.querySelector('.htmx-added, .htmx-settling, .htmx-request'));
}

async function runSql(sql) {
  await page.goto(base + '/console');
  await page.fill('#sql', sql);
  await page.click('#run');
  await page.locator('#console-output').waitFor();
  await settled();
}

const resultMeta = () => page.locator('#result-meta').innerText();
const firstCell = () => page.locator('#result tbody tr:first-child td:first-child').innerText();

// Relative luminance of a CSS rgb()/rgba() colour, 0 (black) to 1 (white).
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('SQL console and UI details (issue 12, points 4 and 5)', () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lh-console-'));
    fs.writeFileSync(path.join(dataDir, 'Weekly Timesheets 2026-03 (final).csv'),
                     'id,hours\n1,8\n2,7.5\n');
    fs.writeFileSync(path.join(dataDir, 'drift.csv'), PLACEMENTS_DRIFT);
    fs.writeFileSync(path.join(dataDir, 'big.csv'), timesheetsCsv());
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServe(port, path.join(dataDir, 'data'), (d) => { serverLog += d; });
    await ingest('timesheets', timesheetsCsv());
    await ingest('placements', PLACEMENTS_V1);
    await ingest('placements', PLACEMENTS_MORE, 'append');
    await ingest('candidates', CANDIDATES);
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1180, height: 800 },
                                           acceptDownloads: true });
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

  it('shows the total of a 10,000-row result and pages through it', async () => {
    await runSql('SELECT timesheet_id, recruiter, hours FROM timesheets ORDER BY timesheet_id');
    assert.equal(await page.locator('#result-total').innerText(), '10,000');
    assert.match(await resultMeta(), /^10,000 rows · showing 1–1,000 · /);
    assert.equal(await page.locator('#page-info').innerText(), 'Page 1 of 10');
    assert.equal(await page.locator('#result tbody tr').count(), 1000);
    assert.equal(await firstCell(), '1');
    assert.ok(await page.locator('#page-prev').isDisabled());
    await shot(page, 'ui-console-paged.png');

    await page.click('#page-next');
    await page.locator('#page-info', { hasText: 'Page 2 of 10' }).waitFor();
    await settled();
    assert.match(await resultMeta(), /^10,000 rows · showing 1,001–2,000 · /);
    assert.equal(await firstCell(), '1001');
    assert.equal(await page.locator('#result tbody tr').count(), 1000);

    await page.click('#page-last');
    await page.locator('#page-info', { hasText: 'Page 10 of 10' }).waitFor();
    await settled();
    assert.match(await resultMeta(), /showing 9,001–10,000/);
    assert.equal(await firstCell(), '9001');
    assert.equal(await page.locator('#result tbody tr:last-child td:first-child').innerText(),
                 '10000');
    assert.ok(await page.locator('#page-next').isDisabled());

    await page.click('#page-first');
    await page.locator('#page-info', { hasText: 'Page 1 of 10' }).waitFor();
    assert.equal(await firstCell(), '1');

    // a result of one page has no pager, and its count costs no second query
    const before = await settledQueries();
    await runSql('SELECT recruiter, count(*) AS n FROM timesheets GROUP BY recruiter');
    assert.match(await resultMeta(), /^5 rows · [\d.]+ ms/);
    assert.equal(await page.locator('#pager').count(), 0);
    assert.equal(await settledQueries(), before + 1);
  });

  it('downloads the whole result as CSV, Parquet and JSON', async () => {
    await runSql('SELECT * FROM timesheets ORDER BY timesheet_id');
    const get = async (fmt) => {
      const [dl] = await Promise.all([page.waitForEvent('download'),
                                      page.click('#download-' + fmt)]);
      assert.equal(dl.suggestedFilename(), 'query.' + fmt);
      return fs.readFileSync(await dl.path());
    };
    const csv = (await get('csv')).toString().trimEnd().split('\n');
    assert.equal(csv.length, 10001);
    assert.equal(csv[0], 'timesheet_id,recruiter,candidate,phone,week,hours');
    assert.match(csv[1], /^1,Alan,Candidate 1,/);
    assert.match(csv[10000], /^10000,Grace,Candidate 10000,/);

    const pq = await get('parquet');
    assert.equal(pq.subarray(0, 4).toString(), 'PAR1');
    assert.equal(pq.subarray(pq.length - 4).toString(), 'PAR1');
    // the footer's schema names the result's columns
    for (const name of ['timesheet_id', 'recruiter', 'candidate', 'phone', 'week', 'hours'])
      assert.ok(pq.includes(name), 'Parquet footer: ' + name);
    const json = JSON.parse((await get('json')).toString());
    assert.equal(json.row_count, 10000);
    assert.equal(json.rows.length, 10000);
    assert.deepEqual(json.columns.map((c) => c.name),
                     ['timesheet_id', 'recruiter', 'candidate', 'phone', 'week', 'hours']);
    assert.equal(json.rows[9999][0], 10000);
    // the downloads were POSTs with the page's token; still on the console
    assert.match(page.url(), /\/console\?sql=/);
  });

  it('charts what the user picks, or nothing, and not an id by default', async () => {
    await runSql('SELECT timesheet_id, recruiter, hours FROM timesheets ' +
                 'ORDER BY timesheet_id LIMIT 12');
    const title = () => page.locator('#chart svg title').first().textContent();
    const chartTitled = async (t) => {
      await page.waitForFunction((want) => {
        const e = document.querySelector('#chart svg title');
        return e && e.textContent === want;
      }, t);
      await settled();
    };
    // the rule skips the id column: hours by recruiter
    assert.equal(await title(), 'bar chart of hours by recruiter');
    assert.equal(await page.inputValue('#chart-y'), 'hours');

    await page.selectOption('#chart-x', 'timesheet_id');
    await chartTitled('bar chart of hours by timesheet_id');
    await page.selectOption('#chart-y', 'timesheet_id');
    await chartTitled('bar chart of timesheet_id by timesheet_id');
    await page.selectOption('#chart-x', 'recruiter');
    await chartTitled('bar chart of timesheet_id by recruiter');
    await page.selectOption('#chart-y', 'hours');
    await chartTitled('bar chart of hours by recruiter');
    await shot(page, 'ui-console-chart-choice.png');

    await page.selectOption('#chart-kind', 'none');
    await page.waitForFunction(() => !document.querySelector('#chart'));
    await settled();
    assert.equal(await page.locator('#result tbody tr').count(), 12);
    // the choice is in the address, and a Run from that address keeps it
    assert.match(page.url(), /[?&]chart=none(&|$)/);
    await page.reload();
    await page.click('#run');
    await page.locator('#result').waitFor();
    assert.equal(await page.locator('#chart').count(), 0);
    assert.equal(await page.inputValue('#chart-kind'), 'none');

    // a time column makes a line chart; y can be changed there too
    await runSql('SELECT week, sum(hours) AS hours, count(*) AS n FROM timesheets ' +
                 'GROUP BY week ORDER BY week');
    await page.locator('#chart svg.chart-line').waitFor();
    await settled();
    await page.selectOption('#chart-y', 'n');
    await chartTitled('line chart of n by week');
  });

  it('keeps the query in the address; a reload refills the editor and runs nothing', async () => {
    const sql = "SELECT recruiter, round(sum(hours), 1) AS hours\nFROM timesheets\n" +
      "WHERE candidate <> 'x & y' GROUP BY recruiter ORDER BY hours DESC";
    await runSql(sql);
    await page.locator('#result').waitFor();
    const url = new URL(page.url());
    assert.equal(url.pathname, '/console');
    assert.equal(url.searchParams.get('sql'), sql);
    assert.equal(await page.locator('#share-link').getAttribute('href'),
                 url.pathname + url.search);

    const before = await settledQueries();
    await page.reload();
    assert.equal(await page.inputValue('#sql'), sql);
    assert.equal(await page.locator('#result, #chart').count(), 0);
    await page.locator('#console-hint').waitFor();
    // the same address in a new tab (a shared link): filled, not run
    const other = await page.context().newPage();
    await other.goto(url.href);
    assert.equal(await other.inputValue('#sql'), sql);
    assert.equal(await other.locator('#result').count(), 0);
    await other.close();
    assert.equal(await settledQueries(), before);

    // each Run is a step of the history: Back returns to the previous query
    await page.click('#run');
    await page.locator('#result').waitFor();
    await page.fill('#sql', 'SELECT 42 AS answer');
    await page.click('#run');
    await page.locator('#result th', { hasText: 'answer' }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('sql'), 'SELECT 42 AS answer');
    await page.goBack();
    await page.waitForFunction((s) => new URL(location.href).searchParams.get('sql') === s, sql);
  });

  it('queries the version a dataset page shows', async () => {
    await page.goto(base + '/datasets/placements?version=1');
    await page.click('a.button:text("Query")');
    await page.waitForSelector('#sql');
    assert.match(await page.inputValue('#sql'), /FROM "placements@1"/);
    await page.click('#run');
    await page.locator('#result').waitFor();
    assert.equal(await page.locator('#result tbody tr').count(), 6);   // v2 has 8
    // the latest version's page queries the dataset by name
    await page.goto(base + '/datasets/placements');
    await page.click('a.button:text("Query")');
    await page.waitForSelector('#sql');
    assert.equal(await page.inputValue('#sql'), 'SELECT * FROM placements LIMIT 100');
  });

  it('fills in the dataset name from the file, counts in one format, sizes in KiB', async () => {
    await page.goto(base + '/upload');
    await page.setInputFiles('#file', path.join(dataDir, 'Weekly Timesheets 2026-03 (final).csv'));
    assert.equal(await page.inputValue('#name'), 'Weekly_Timesheets_2026_03_final');
    // a name the user typed stays
    await page.fill('#name', 'mine');
    await page.setInputFiles('#file', path.join(dataDir, 'drift.csv'));
    assert.equal(await page.inputValue('#name'), 'mine');
    await page.fill('#name', '');
    await page.setInputFiles('#file', path.join(dataDir, 'big.csv'));
    assert.equal(await page.inputValue('#name'), 'big');
    await page.click('#upload-button');
    const outcome = page.locator('#upload-outcome');
    await outcome.waitFor();
    const text = await outcome.innerText();
    assert.match(text, /This file has 10,000 rows and 6 columns; the dataset holds 10,000 rows/);
    assert.equal(await page.locator('#upload-percent').innerText(), 'Done');

    await page.goto(base + '/');
    const row = await page.locator('#datasets tbody tr', { hasText: 'timesheets' }).innerText();
    assert.match(row, /10,000\s+[\d.]+ KiB/);
    assert.doesNotMatch(await page.locator('#datasets').innerText(), /\bKB\b|\bMB\b/);
  });

  it('says a refused upload was not uploaded, beside its error', async () => {
    await page.goto(base + '/upload');
    await page.fill('#name', 'placements');
    await page.setInputFiles('#file', path.join(dataDir, 'drift.csv'));
    await page.check('input[name=mode][value=append]');
    await page.click('#upload-button');
    await page.locator('#upload-outcome[data-outcome="schema_drift"]').waitFor();
    await page.waitForFunction(() =>
      document.getElementById('upload-percent').textContent !== 'Uploading\u2026');
    assert.notEqual(await page.locator('#upload-percent').innerText(), 'Done');
    assert.match(await page.locator('#upload-percent').innerText(), /Not uploaded/);
    assert.ok(await page.locator('#upload-progress').isHidden());
    // a name the server refuses: the same
    await page.fill('#name', 'x'.repeat(65));
    await page.locator('#name').evaluate((i) => i.removeAttribute('pattern'));
    await page.click('#upload-button');
    await page.locator('#upload-result .alert-error[data-code="bad_name"]').waitFor();
    await page.waitForFunction(() =>
      document.getElementById('upload-percent').textContent !== 'Uploading\u2026');
    assert.match(await page.locator('#upload-percent').innerText(), /Not uploaded/);
    await shot(page, 'ui-upload-refused.png');
  });

  it('serves an icon at /favicon.ico and links one', async () => {
    const ico = await page.request.get(base + '/favicon.ico');
    assert.equal(ico.status(), 200);
    assert.equal(ico.headers()['content-type'], 'image/x-icon');
    const b = await ico.body();
    assert.deepEqual([...b.subarray(0, 4)], [0, 0, 1, 0]);   // an ICO header
    await page.goto(base + '/');
    const href = await page.locator('link[rel=icon]').getAttribute('href');
    const svg = await page.request.get(base + href);
    assert.equal(svg.status(), 200);
    assert.match(svg.headers()['content-type'], /^image\/svg\+xml/);
    assert.match((await svg.body()).toString(), /^<svg /);
  });

  it('follows the system dark mode', async () => {
    const ctx = await browser.newContext({ colorScheme: 'dark',
                                           viewport: { width: 1180, height: 800 } });
    const p = await ctx.newPage();
    for (const url of ['/', '/datasets/candidates']) {
      await p.goto(base + url);
      const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const fg = await p.evaluate(() => getComputedStyle(document.body).color);
      assert.ok(luminance(bg) < 0.05, url + ' background ' + bg);
      assert.ok(luminance(fg) > 0.6, url + ' text ' + fg);
      const card = await p.locator('.card, .table-wrap').first()
        .evaluate((e) => getComputedStyle(e).backgroundColor);
      assert.ok(luminance(card) < 0.05, url + ' card ' + card);
    }
    await p.goto(base + '/console');
    await p.fill('#sql', 'SELECT recruiter, sum(hours) AS hours FROM timesheets GROUP BY 1 ORDER BY 1');
    await p.click('#run');
    await p.locator('#chart svg').waitFor();
    const tick = await p.locator('#chart svg text.tick').first()
      .evaluate((e) => getComputedStyle(e).fill);
    assert.ok(luminance(tick) > 0.2, 'chart labels readable on dark: ' + tick);
    await shot(p, 'ui-console-dark.png');
    // and light stays light
    await p.emulateMedia({ colorScheme: 'light' });
    const light = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.ok(luminance(light) > 0.8, light);
    await ctx.close();
  });

  it('fits a phone: the whole navigation shows and the page does not scroll sideways', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const p = await ctx.newPage();
    p.setDefaultTimeout(10000);
    const pages = ['/', '/datasets/candidates', '/upload', '/console'];
    for (const url of pages) {
      await p.goto(base + url);
      if (url === '/console') {
        await p.fill('#sql', 'SELECT * FROM candidates');
        await p.click('#run');
        await p.locator('#result').waitFor();
      }
      const width = await p.evaluate(() => document.documentElement.clientWidth);
      const scroll = await p.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scroll <= width, `${url}: the page is ${scroll}px wide on a ${width}px screen`);
      for (const a of await p.locator('header nav a').all()) {
        const box = await a.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= width,
                  `${url}: nav link ${await a.innerText()} at ${JSON.stringify(box)}`);
        // nothing covers it and it is not clipped: the link is what is there
        const hit = await p.evaluate(([x, y]) => {
          const e = document.elementFromPoint(x, y);
          return e ? e.closest('a') && e.closest('a').textContent : null;
        }, [box.x + box.width / 2, box.y + box.height / 2]);
        assert.equal(hit, await a.innerText());
      }
      await shot(p, 'ui-phone' + url.replace(/\//g, '-').replace(/-$/, '') + '.png');
    }
    // the wide tables scroll inside their box
    await p.goto(base + '/datasets/candidates');
    for (const id of ['#schema', '#preview']) {
      const wrap = p.locator(id).locator('xpath=..');
      assert.equal(await wrap.evaluate((e) => getComputedStyle(e).overflowX), 'auto', id);
      const [cw, bw] = await wrap.evaluate((e) => [e.clientWidth, e.getBoundingClientRect().right]);
      assert.ok(bw <= 390 && cw > 0, id);
    }
    await ctx.close();
  });

  it('keeps a long value such as a phone number on one line', async () => {
    await page.goto(base + '/datasets/candidates');
    const cell = page.locator('#preview td', { hasText: PHONE });
    const lines = await cell.evaluate((td) => {
      const r = document.createRange();
      r.selectNodeContents(td);
      const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
      return tops.size;
    });
    assert.equal(lines, 1);
    // a cut value shows whole on hover
    const notes = page.locator('#preview td', { hasText: 'Strong backend profile' }).first();
    assert.equal(await notes.getAttribute('title'), NOTES);
    const notesLines = await notes.evaluate((td) => {
      const r = document.createRange();
      r.selectNodeContents(td);
      return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size;
    });
    assert.equal(notesLines, 1);
    await shot(page, 'ui-dataset-wide.png');
  });
});
