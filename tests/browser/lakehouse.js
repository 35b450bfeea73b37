// lakehouse.js — what the browser tests share (not a test file itself):
// a free loopback port, `lakehouse serve` started on it with a fresh data
// directory and awaited until healthy, and Debian's chromium launched with
// the flags this machine's closed network needs.
'use strict';
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const DEPS = process.env.DEPS_DIR || path.join(ROOT, 'deps');
const { chromium } = require(path.join(DEPS, 'node', 'node_modules', 'playwright-core'));
const BINARY = process.env.LAKEHOUSE_BIN || path.join(ROOT, 'build', 'lakehouse');

function ephemeralLow() {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]) || 32768;
  } catch (e) {
    return 32768;
  }
}

function tryListen(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(0));
    s.listen(port, '127.0.0.1', () => {
      const got = s.address().port;
      s.close(() => resolve(got));
    });
  });
}

// A port free a moment ago, below the kernel's ephemeral range: a port
// inside it can be taken by a client's own connect() (see free_port in
// tests/integration/lhtest.py).
async function freePort() {
  const high = ephemeralLow();
  const low = Math.max(1024, high - 12000);
  for (let i = 0; i < 200; i++) {
    const port = await tryListen(low + crypto.randomInt(high - low));
    if (port) return port;
  }
  return tryListen(0);
}

// Start `lakehouse serve` on `port` with data in `dataDir`; every byte it
// prints goes to onOutput; `env` adds environment variables (e.g. tokens).
// Resolves with the process once /health answers 200 (bounded by `ms`);
// rejects with what it printed otherwise.
async function startServe(port, dataDir, onOutput, ms = 20000, env = {}) {
  let printed = '';
  const proc = spawn(BINARY, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir],
                     { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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
