#!/usr/bin/env node
// The overhead of one touch and one create through the Node binding against
// the same call from C, measured side by side in one run (docs/binding-benchmarks.md,
// "Node.js binding overhead").
//
//   node bindings/node/bench/overhead.mjs [--rounds 5] [--touches 20000] [--creates 2000]
//
// Builds c_ops.c against the repository's include/ and target/release/
// (cargo build --release first), or against WSPRUNE_LIBRARY's directory.
// Rounds alternate C and Node so that machine noise hits both alike; the
// report gives medians and p99 over every call, and the Node/C ratio.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean)
  .map((a) => a.trim().split(/\s+/)).map(([k, v]) => [k, Number(v)]));
const rounds = args.rounds ?? 5;
const touches = args.touches ?? 20000;
const creates = args.creates ?? 2000;

const lib = process.env.WSPRUNE_LIBRARY ?? path.join(repo, 'target/release/libwsprune.so');
process.env.WSPRUNE_LIBRARY = lib;
const w = await import('../index.mjs');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsprune-node-bench-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const cOps = path.join(tmp, 'c_ops');
// Both sides load the very same file: the C program through its SONAME,
// linked to a symlink (target/release has no libwsprune.so.0).
const libDir = path.join(tmp, 'lib');
fs.mkdirSync(libDir);
for (const name of ['libwsprune.so', 'libwsprune.so.0']) fs.symlinkSync(fs.realpathSync(lib), path.join(libDir, name));
execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', cOps, path.join(here, 'c_ops.c'),
  `-I${path.join(repo, 'include')}`, `-L${libDir}`, `-Wl,-rpath,${libDir}`, '-lwsprune']);

function cRun(...argv) {
  const out = execFileSync(cOps, argv.map(String), { encoding: 'utf8', maxBuffer: 1 << 26 });
  return out.trim().split('\n').map(Number);
}

function nodeRun(count, op) {
  const lat = new Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    op();
    lat[i] = Number(process.hrtime.bigint() - t0);
  }
  return lat;
}

const samples = { touch: { c: [], node: [] }, create: { c: [], node: [] } };
const root = path.join(tmp, 'ws');
const id = w.createSession(root);
nodeRun(1000, () => w.touchSession(root, id)); // warm up koffi and the caches
for (let r = 0; r < rounds; r++) {
  samples.touch.c.push(...cRun('touch', root, id, touches));
  samples.touch.node.push(...nodeRun(touches, () => w.touchSession(root, id)));
  const cRoot = path.join(tmp, `c${r}`);
  const nRoot = path.join(tmp, `n${r}`);
  w.createSession(cRoot);
  w.createSession(nRoot);
  samples.create.c.push(...cRun('create', cRoot, creates));
  samples.create.node.push(...nodeRun(creates, () => w.createSession(nRoot)));
  fs.rmSync(cRoot, { recursive: true });
  fs.rmSync(nRoot, { recursive: true });
}

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const us = (ns) => (ns / 1000).toFixed(1);
console.log(`wsprune ${w.version()}, node ${process.version}, koffi; ${rounds} rounds of ${touches} touches and ${creates} creates each, C and Node alternating`);
console.log('| operation | through | median (µs) | p99 (µs) | Node / C (medians) |');
console.log('| --- | --- | --- | --- | --- |');
for (const op of ['touch', 'create']) {
  const c = quantile(samples[op].c, 0.5);
  const n = quantile(samples[op].node, 0.5);
  console.log(`| ${op} | C (\`wsprune_session_${op}\`) | ${us(c)} | ${us(quantile(samples[op].c, 0.99))} | 1.00x |`);
  console.log(`| ${op} | Node (\`${op === 'touch' ? 'touchSession' : 'createSession'}\`) | ${us(n)} | ${us(quantile(samples[op].node, 0.99))} | ${(n / c).toFixed(2)}x |`);
}
