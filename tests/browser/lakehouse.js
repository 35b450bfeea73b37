// lakehouse.js — what the browser tests share (not a test file itself):
// a free loopback port, `lakehouse serve` started on it with a fresh data
// directory and awaited until healthy, and Debian's chromium launched with
// the flags this machine's closed network needs.
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const DEPS = process.env.DEPS_DIR || path.join(ROOT, 'deps');
const { chromium } = require(path.join(DEPS, 'node', 'node_modules', 'playwright-core'));
const BINARY = process.env.LAKEHOUSE_BIN || path.join(ROOT, 'build', 'lakehouse');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Start `lakehouse serve` on `port` with data in `dataDir`; every byte it
// prints goes to onOutput. Resolves with the process once /health answers
// 200 (bounded by `ms`); rejects with what it printed otherwise.
async function startServe(port, dataDir, onOutput, ms = 20000) {
  let printed = '';
  const proc = spawn(BINARY, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir],
                     { stdio: ['ignore', 'pipe', 'pipe'] });
  const take = (d) => { printed += d; onOutput(d); };
  proc.stdout.on('data', take);
  proc.stderr.on('data', take);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      if (r.status === 200) return proc;
    } catch (e) { /* not up yet */ }
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('lakehouse serve did not become healthy:\n' + printed);
}

// Debian's chromium, headless, without the background networking this
// machine refuses; `extraArgs` adds flags (e.g. --host-resolver-rules).
function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           ...extraArgs],
  });
}

module.exports = { ROOT, DEPS, BINARY, freePort, startServe, launchChromium };
