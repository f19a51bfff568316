import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as w from '../index.mjs';
import { tempRoot, makeSession, remaining } from './helpers.mjs';

test('unset options are the library defaults (age rule 24 h)', async (t) => {
  const root = tempRoot(t);
  const old = makeSession(root, { ageHours: 48, sizeBytes: 100 });
  const recent = makeSession(root, { ageHours: 1 });
  const res = await w.pruneSessions(root);
  assert.deepEqual(res.deleted, [old]);
  assert.deepEqual(res.rules, { [old]: 'older_than' });
  assert.ok(res.reclaimedBytes >= 100);
  assert.equal(res.dryRun, false);
  assert.match(res.summary, /^Pruned 1 session/);
  assert.deepEqual(remaining(root), [recent]);
  assert.equal(w.defaultPruneOptions().olderThanHours, 24);
});

test('defaultPruneOptions reads every default from wsprune_prune_options_init', () => {
  const d = w.defaultPruneOptions();
  assert.deepEqual(Object.keys(d).sort(), ['dryRun', 'jobs', 'lockTimeoutMs', 'minAgeHours', 'olderThanHours']);
  assert.equal(typeof d.minAgeHours, 'number');
  assert.equal(d.dryRun, false);
});

test('dry run deletes nothing and reports what would go', (t) => {
  const root = tempRoot(t);
  const old = makeSession(root, { ageHours: 30, sizeBytes: 50 });
  const res = w.pruneSessionsSync(root, { olderThanHours: 24, dryRun: true });
  assert.deepEqual(res.deleted, [old]);
  assert.equal(res.dryRun, true);
  assert.match(res.summary, /^Would prune 1 session/);
  assert.deepEqual(remaining(root), [old]);
});

test('olderThanHours: 0 takes every idle session; null turns the age rule off', async (t) => {
  const root = tempRoot(t);
  const a = makeSession(root, { ageHours: 0.01 });
  assert.deepEqual((await w.pruneSessions(root, { olderThanHours: null, dryRun: true })).deleted, []);
  assert.deepEqual((await w.pruneSessions(root, { olderThanHours: 0 })).deleted, [a]);
});

test('skips carry reasons: legacy, corrupted, in use', async (t) => {
  const root = tempRoot(t);
  const legacy = makeSession(root, { metadata: 'legacy' });
  const corrupted = makeSession(root, { metadata: 'corrupted' });
  const leased = makeSession(root, { ageHours: 48 });
  const lease = w.acquire(root, leased);
  t.after(() => lease.release());
  const res = await w.pruneSessions(root, { olderThanHours: 0 });
  const reasons = Object.fromEntries(res.skipped.map((s) => [s.id, s.reason]));
  assert.deepEqual(reasons, { [legacy]: 'missing_metadata', [corrupted]: 'corrupted_metadata', [leased]: 'in_use' });
  assert.deepEqual(res.deleted, []);
  assert.deepEqual(res.errors, []);
});

test('capacity rules evict the oldest first and record the rule', async (t) => {
  const root = tempRoot(t);
  const oldest = makeSession(root, { ageHours: 10, sizeBytes: 1000 });
  const middle = makeSession(root, { ageHours: 5, sizeBytes: 1000 });
  const newest = makeSession(root, { ageHours: 2, sizeBytes: 1000 });
  const bySessions = await w.pruneSessions(root, { olderThanHours: null, maxSessions: 2, dryRun: true });
  assert.deepEqual(bySessions.deleted, [oldest]);
  assert.deepEqual(bySessions.rules, { [oldest]: 'max_sessions' });
  // Room for one session: sizes are what each takes on disk (8 KiB on tmpfs, 12 KiB on ext4).
  const bySize = w.pruneSessionsSync(root, { olderThanHours: null, maxTotalBytes: 14000n, minAgeHours: 0 });
  assert.deepEqual(bySize.deleted.sort(), [oldest, middle].sort());
  assert.equal(bySize.rules[oldest], 'max_total_bytes');
  // Each deleted session's rule, bytes and idle age, from the result.
  const d = bySize.details[oldest];
  assert.equal(d.rule, 'max_total_bytes');
  assert.ok(Math.abs(d.ageHours - 10) < 0.1, `${d.ageHours}`);
  assert.equal(bySize.details[oldest].bytes + bySize.details[middle].bytes, bySize.reclaimedBytes);
  assert.ok(d.bytes >= 1000);
  assert.deepEqual(remaining(root), [newest]);
});

test('minAgeHours is a floor for the capacity rules; maxDeletions limits', async (t) => {
  const root = tempRoot(t);
  makeSession(root, { ageHours: 0.1 });
  makeSession(root, { ageHours: 0.2 });
  const floor = await w.pruneSessions(root, { olderThanHours: null, maxSessions: 1, minAgeHours: 1, dryRun: true });
  assert.deepEqual(floor.deleted, []);
  // The unmet target's target and actual value come with the result.
  assert.deepEqual(floor.unmet, [{ rule: 'max_sessions', target: 1, actual: 2 }]);
  const old = [makeSession(root, { ageHours: 50 }), makeSession(root, { ageHours: 60 })];
  const limited = await w.pruneSessions(root, { olderThanHours: 24, maxDeletions: 1, dryRun: true });
  assert.equal(limited.deleted.length, 1);
  assert.ok(old.includes(limited.deleted[0]));
});

test('invalid options are InvalidArgumentError, never "delete more"', async (t) => {
  const root = tempRoot(t);
  const id = makeSession(root, { ageHours: 48 });
  for (const opts of [
    { maxSessions: 0 }, { maxTotalBytes: 0 }, { minFreeBytes: 0n }, { maxDeletions: 0 },
    { olderThanHours: -1 }, { olderThanHours: NaN }, { olderThanHours: Infinity }, { minAgeHours: -1 },
    { olderThanHours: '24' }, { maxSessions: 1.5 }, { maxSessions: -3 }, { jobs: -1 }, { dryRun: 'yes' },
    { olderThan: 24 }, { lockTimeoutMs: 2 ** 32 },
  ]) {
    await assert.rejects(w.pruneSessions(root, opts), (e) => e instanceof w.InvalidArgumentError
      && e.code === 'invalid_argument', JSON.stringify(opts, (k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    assert.throws(() => w.pruneSessionsSync(root, opts), w.InvalidArgumentError);
  }
  assert.throws(() => w.pruneSessionsSync(root, { maxSessions: 0 }), /omit it to turn the rule off/);
  assert.deepEqual(remaining(root), [id]);
});

test('a missing root gives an empty result; a file root is an error', async (t) => {
  const root = tempRoot(t);
  const res = await w.pruneSessions(path.join(root, 'missing'));
  assert.deepEqual([res.deleted, res.skipped, res.errors, res.reclaimedBytes], [[], [], [], 0]);
  fs.mkdirSync(root, { recursive: true });
  const file = path.join(root, 'file');
  fs.writeFileSync(file, 'x');
  await assert.rejects(w.pruneSessions(file), w.WsPruneError);
});

test('a second prune of the root waits, then BusyError after lockTimeoutMs', async (t) => {
  const root = tempRoot(t);
  for (let i = 0; i < 50; i++) makeSession(root, { ageHours: 48, sizeBytes: 10 });
  // Two async prunes on two worker threads: one takes the lock, the other
  // either waits for it (0 ms timeout: fails at once) or came first.
  const results = await Promise.allSettled([
    w.pruneSessions(root, { olderThanHours: 24, jobs: 1 }),
    w.pruneSessions(root, { olderThanHours: 24, jobs: 1, lockTimeoutMs: 0 }),
  ]);
  const ok = results.filter((r) => r.status === 'fulfilled');
  assert.ok(ok.length >= 1);
  for (const r of results) {
    if (r.status === 'rejected') assert.equal(r.reason.code, 'busy');
  }
  assert.equal(ok.reduce((n, r) => n + r.value.deleted.length, 0), 50);
  assert.deepEqual(remaining(root), []);
});

test('the async prune returns at once and keeps the event loop running', async (t) => {
  const root = tempRoot(t);
  for (let i = 0; i < 200; i++) makeSession(root, { ageHours: 48, sizeBytes: 1 });
  const events = [];
  w.setLogger((e) => events.push(e.name));
  t.after(() => w.setLogger(null));
  let loopRan = false;
  setImmediate(() => { loopRan = true; });
  const p = w.pruneSessions(root, { olderThanHours: 24, jobs: 1 });
  // A synchronous prune would have delivered every event by now.
  assert.deepEqual(events, []);
  const res = await p;
  assert.equal(loopRan, true);
  assert.equal(res.deleted.length, 200);
  assert.equal(events.filter((n) => n === 'session.prune.deleted').length, 200);
  assert.deepEqual(remaining(root), []);
});
