// app_helpers.test.js — the pure helpers of the UI's script
// (src/gateway/ui_static/app.js), loaded in node without a browser: the
// dataset name the upload form derives from a file's name (ADR 0123). It is
// the CLI's rule (cli_name_from_file, tests/unit/test_cli.c has the same
// cases), and its results are names the lakehouse accepts:
// [A-Za-z_][A-Za-z0-9_]{0,63}.
'use strict';
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const app = require(path.join(__dirname, '..', '..', 'src', 'gateway', 'ui_static', 'app.js'));
const VALID = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

describe('datasetNameFromFile', () => {
  const name = (f) => app.datasetNameFromFile(f);

  it('names a file as `lakehouse ingest FILE` does', () => {
    const cases = [
      ['candidates.csv', 'candidates'],
      ['/tmp/exports/Staff List (2024).csv', 'Staff_List_2024'],
      ['2024-sales.csv', '_2024_sales'],
      ['data.tar.csv', 'data_tar'],
      ['noext', 'noext'],
      ['.hidden', 'hidden'],
      ['résumé.csv', 'r_sum'],
      ['first__last.csv', 'first__last'],
      ['dir.v2/time-sheets.CSV', 'time_sheets'],
      ['./a.b/c', 'c'],
    ];
    for (const [file, want] of cases) assert.equal(name(file), want, file);
  });

  it('keeps the case, drops a Windows folder, makes runs of other characters one "_"', () => {
    assert.equal(name('Weekly Timesheets 2026-03 (final).csv'), 'Weekly_Timesheets_2026_03_final');
    assert.equal(name('C:\\Users\\sam\\Downloads\\Recruiters.csv'), 'Recruiters');
    assert.equal(name('  q1 -- export!!.csv'), 'q1_export');
    assert.equal(name('_private.csv'), '_private');
  });

  it('keeps 64 characters, the "_" before a digit included', () => {
    assert.equal(name('a'.repeat(150) + '.csv'), 'a'.repeat(64));
    const n = name('9' + 'a'.repeat(149) + '.csv');
    assert.equal(n.length, 64);
    assert.equal(n.slice(0, 2), '_9');
  });

  it('gives "" when nothing usable is left', () => {
    for (const f of ['', '---.csv', 'dir/', '日本語.csv', null, undefined])
      assert.equal(name(f), '', String(f));
  });

  it('only ever gives valid names or ""', () => {
    const samples = ['a', 'Z.csv', '9', '_', '__x__.tsv', 'ünïcode ✓ data.csv', '(1).csv',
                     'x'.repeat(63) + '.csv', '1' + 'y'.repeat(80), 'tab\there.csv', '.csv'];
    for (const f of samples) {
      const n = name(f);
      assert.ok(n === '' || VALID.test(n), `${JSON.stringify(f)} -> ${JSON.stringify(n)}`);
    }
  });
});
