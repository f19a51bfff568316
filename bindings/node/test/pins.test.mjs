// Pins, per-session TTLs and the look-ahead (docs/contract.md) through the
// Node binding: each call reaches the host's record, and a prune decides by it.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  createSession, pinSession, unpinSession, setSessionTtl, pruneSessionsSync, deleteSession,
  InvalidArgumentError, NotFoundError,
} from '../index.mjs';
import { tempRoot } from './helpers.mjs';

const record = (root, id) => JSON.parse(fs.readFileSync(path.join(root, '.wsprune', 'sessions', id), 'utf8'));
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

test('a TTL set at creation or later is in the record and deletes the session', (t) => {
  const root = tempRoot(t);
  const expires = new Date(Date.now() + 2 * 3600 * 1000);
  createSession(root, 'ttl', { idleTtlSeconds: 3600, expiresAt: expires });
  assert.equal(record(root, 'ttl').idle_ttl_seconds, 3600);
  assert.ok(record(root, 'ttl').expires_at.startsWith(expires.toISOString().slice(0, 19)));
  setSessionTtl(root, 'ttl', { idleTtlSeconds: 1 });
  assert.equal(record(root, 'ttl').expires_at, undefined);
  createSession(root, 'keep');
  for (const bad of [0, 0.5, -1, '1h']) {
    assert.throws(() => setSessionTtl(root, 'keep', { idleTtlSeconds: bad }), InvalidArgumentError, String(bad));
  }
  sleep(1200);
  const r = pruneSessionsSync(root, { olderThanHours: null, maxDeletions: 5 });
  assert.deepEqual(r.rules, { ttl: 'ttl' });
  setSessionTtl(root, 'keep', {});
  assert.equal(record(root, 'keep').idle_ttl_seconds, undefined);
});

test('a pinned session is skipped, seen expiring by the look-ahead, deleted only with force', (t) => {
  const root = tempRoot(t);
  createSession(root, 'p', { idleTtlSeconds: 1 });
  pinSession(root, 'p', { until: new Date(Date.now() + 3600 * 1000) });
  assert.equal(record(root, 'p').pinned, true);
  sleep(1200);
  let r = pruneSessionsSync(root, {});
  assert.deepEqual(r.deleted, []);
  assert.deepEqual(r.skipped, [{ id: 'p', reason: 'pinned' }]);
  const asOf = new Date(Date.now() + 2 * 3600 * 1000);
  r = pruneSessionsSync(root, { dryRun: true, asOf });
  assert.deepEqual(r.rules, { p: 'ttl' });
  assert.throws(() => pruneSessionsSync(root, { asOf }), InvalidArgumentError);
  assert.throws(() => deleteSession(root, 'p'), (e) => e instanceof InvalidArgumentError && /pinned/.test(e.message));
  unpinSession(root, 'p');
  pinSession(root, 'p');
  assert.ok(deleteSession(root, 'p', { force: true }) > 0);
  assert.throws(() => pinSession(root, 'p'), NotFoundError);
  assert.throws(() => pinSession(root, 'p', { until: 'tomorrow' }), InvalidArgumentError);
});
