import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as w from '../index.mjs';
import { tempRoot, makeSession } from './helpers.mjs';

test('workspaceStats counts states and leases, buckets idle times, measures sizes only when asked', (t) => {
  const root = tempRoot(t);
  makeSession(root, { ageHours: 30, sizeBytes: 4000 });
  const young = makeSession(root, { ageHours: 0.1 });
  makeSession(root, { metadata: 'legacy' });
  const lease = w.acquire(root, young);
  try {
    const s = w.workspaceStats(root, { measureSizes: true });
    assert.deepEqual(s.sessions, { ok: 2, legacy: 1, corrupted: 0, unreadable: 0 });
    assert.equal(s.leased, 1);
    assert.deepEqual(s.idle.map((b) => b.sessions), [1, 0, 0, 1, 0, 0]);
    assert.deepEqual(s.idle.map((b) => b.upperSeconds), [3600, 21600, 86400, 604800, 2592000, Infinity]);
    assert.ok(s.totalBytes >= 4000 && s.idle[3].bytes >= 4000, JSON.stringify(s));
    assert.ok(Math.abs(s.oldestIdleSeconds - 30 * 3600) < 120);
    assert.ok(s.filesystem.sizeBytes > 0 && s.filesystem.availableBytes <= s.filesystem.sizeBytes);
    const quick = w.workspaceStats(root);
    assert.equal(quick.totalBytes, null);
    assert.ok(quick.idle.every((b) => b.bytes === null));
  } finally {
    lease.release(false);
  }
  assert.throws(() => w.workspaceStats(path.join(root, 'missing')), w.NotFoundError);
  assert.throws(() => w.workspaceStats(root, { measureSizes: 1 }), w.InvalidArgumentError);
});
