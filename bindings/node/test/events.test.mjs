import test from 'node:test';
import assert from 'node:assert/strict';
import * as w from '../index.mjs';
import { tempRoot, makeSession } from './helpers.mjs';

function oldSessions(root, n) {
  for (let i = 0; i < n; i++) makeSession(root, { ageHours: 48, sizeBytes: 10 });
}

test('events of a synchronous call: {level, name, fields}', (t) => {
  const root = tempRoot(t);
  const events = [];
  w.setLogger((e) => events.push(e));
  t.after(() => w.setLogger(null));
  const id = w.createSession(root);
  const created = events.find((e) => e.name === 'session.metadata.created');
  assert.ok(created, JSON.stringify(events));
  assert.equal(created.level, 'info');
  assert.equal(created.fields.session_id, id);
  w.setLogger(null);
  w.touchSession(root, id);
  assert.equal(events.filter((e) => e.name === 'session.metadata.updated').length, 0, 'off after setLogger(null)');
});

for (const mode of ['sync', 'async']) {
  test(`${mode} prune with worker threads: every event arrives, in order, before the result`, async (t) => {
    const root = tempRoot(t);
    oldSessions(root, 40);
    const events = [];
    w.setLogger((e) => events.push(e));
    t.after(() => w.setLogger(null));
    const opts = { olderThanHours: 24, jobs: 4 };
    const res = mode === 'sync' ? w.pruneSessionsSync(root, opts) : await w.pruneSessions(root, opts);
    assert.equal(res.deleted.length, 40);
    const names = events.map((e) => e.name);
    assert.equal(names[0], 'session.prune.started');
    assert.equal(names.at(-1), 'session.prune.completed');
    const deleted = events.filter((e) => e.name === 'session.prune.deleted');
    assert.deepEqual(deleted.map((e) => e.fields.session_id).sort(), [...res.deleted].sort());
    assert.equal(events.at(-1).fields.deleted_count, 40);
    assert.equal(events.at(-1).fields.reclaimed_bytes, res.reclaimedBytes);
  });
}

test('a logger that throws: the event is dropped with a warning, the prune carries on', async (t) => {
  const root = tempRoot(t);
  oldSessions(root, 10);
  const warnings = [];
  const onWarning = (warning) => warnings.push(warning);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  w.setLogger(() => { throw new Error('logger bug'); });
  t.after(() => w.setLogger(null));
  const res = await w.pruneSessions(root, { olderThanHours: 24, jobs: 4 });
  assert.equal(res.deleted.length, 10);
  assert.equal(w.pruneSessionsSync(root, { olderThanHours: 24 }).deleted.length, 0);
  await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  assert.equal(warnings.length, 1, 'one warning per logger, not per event');
  assert.equal(warnings[0].name, 'WsPruneLoggerWarning');
  assert.match(warnings[0].message, /logger bug/);
});

test('replacing or removing the logger mid-prune (sync and async): no crash, no deadlock', async (t) => {
  const root = tempRoot(t);
  for (const mode of ['sync', 'async']) {
    oldSessions(root, 30);
    const first = [];
    const second = [];
    const logSecond = (e) => second.push(e.name);
    w.setLogger((e) => {
      first.push(e.name);
      if (first.length === 3) w.setLogger(logSecond);
    });
    const opts = { olderThanHours: 24, jobs: 4 };
    const res = mode === 'sync' ? w.pruneSessionsSync(root, opts) : await w.pruneSessions(root, opts);
    assert.equal(res.deleted.length, 30, mode);
    assert.equal(first.length, 3, mode);
    assert.equal(second.at(-1), 'session.prune.completed', mode);

    // Turned off mid-prune: later events are dropped.
    oldSessions(root, 30);
    const third = [];
    w.setLogger((e) => { third.push(e.name); if (third.length === 2) w.setLogger(null); });
    const res2 = mode === 'sync' ? w.pruneSessionsSync(root, opts) : await w.pruneSessions(root, opts);
    assert.equal(res2.deleted.length, 30, mode);
    assert.equal(third.length, 2, mode);
  }
  // Events work again afterwards.
  const again = [];
  w.setLogger((e) => again.push(e.name));
  t.after(() => w.setLogger(null));
  w.createSession(root);
  assert.ok(again.includes('session.metadata.created'));
});

test('setLogger refuses what is not a function', () => {
  assert.throws(() => w.setLogger('console'), TypeError);
  w.setLogger(undefined);
});

test('a sync prune while an async prune delivers events: BusyError after its timeout, no deadlock', async (t) => {
  // The README's caution: the async prune holds the root's lock and waits
  // for the JS thread to take its next event; the sync prune blocks the JS
  // thread waiting for that lock, so it times out, then the async one finishes.
  const root = tempRoot(t);
  oldSessions(root, 500);
  let n = 0;
  w.setLogger(() => { n++; });
  t.after(() => w.setLogger(null));
  const p = w.pruneSessions(root, { olderThanHours: 24, jobs: 1 });
  while (n < 3) await new Promise((r) => setImmediate(r));
  const t0 = Date.now();
  assert.throws(() => w.pruneSessionsSync(root, { olderThanHours: 24, lockTimeoutMs: 200 }), w.BusyError);
  assert.ok(Date.now() - t0 >= 150);
  const res = await p;
  assert.equal(res.deleted.length, 500);
});
