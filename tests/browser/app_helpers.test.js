// app_helpers.test.js — the pure helpers of the UI's script
// (src/gateway/ui_static/app.js), loaded in node without a browser: the
// dataset name the upload form derives from a file's name (ADR 0123). Its
// results must be names the lakehouse accepts: [A-Za-z_][A-Za-z0-9_]{0,63}.
'use strict';
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const app = require(path.join(__dirname, '..', '..', 'src', 'gateway', 'ui_static', 'app.js'));
const VALID = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

describe('datasetNameFromFile', () => {
  const name = (f) => app.datasetNameFromFile(f);

  it('keeps a plain name, without its extension, in lower case', () => {
    assert.equal(name('candidates.csv'), 'candidates');
    assert.equal(name('Candidates.CSV'), 'candidates');
    assert.equal(name('timesheets'), 'timesheets');
    assert.equal(name('placements_2026.csv'), 'placements_2026');
  });

  it('turns each run of other characters into one underscore, none at the ends', () => {
    assert.equal(name('Timesheets 2026-03 (final).csv'), 'timesheets_2026_03_final');
    assert.equal(name('  q1 -- export!!.csv'), 'q1_export');
    assert.equal(name('a.b.c.csv'), 'a_b_c');
    assert.equal(name('my__table.csv'), 'my__table');   // underscores of its own stay
  });

  it('drops the folder, a compression suffix and accents', () => {
    assert.equal(name('C:\\Users\\sam\\Downloads\\Recruiters.csv'), 'recruiters');
    assert.equal(name('/home/sam/exports/clients.csv'), 'clients');
    assert.equal(name('clients.csv.gz'), 'clients');
    assert.equal(name('Café Société.csv'), 'cafe_societe');
  });

  it('starts with an underscore before a digit and keeps 64 characters', () => {
    assert.equal(name('2026 timesheets.csv'), '_2026_timesheets');
    const long = name('x'.repeat(100) + '.csv');
    assert.equal(long, 'x'.repeat(64));
  });

  it('gives "" when nothing usable is left', () => {
    for (const f of ['', '.csv', '---.csv', '日本語.csv', null, undefined])
      assert.equal(name(f), '', String(f));
  });

  it('only ever gives valid names or ""', () => {
    const samples = ['a', 'Z.csv', '9', '_', '__x__.tsv', 'ünïcode ✓ data.csv', '(1).csv',
                     'x'.repeat(63) + '.csv', '1' + 'y'.repeat(80), 'tab\there.csv'];
    for (const f of samples) {
      const n = name(f);
      assert.ok(n === '' || VALID.test(n), `${JSON.stringify(f)} -> ${JSON.stringify(n)}`);
    }
  });
});
