import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as w from '../index.mjs';
import { tempRoot, makeSession } from './helpers.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('createSession makes a new UUIDv4 session with metadata, creating the root', (t) => {
  const root = tempRoot(t);
  const id = w.createSession(root);
  assert.match(id, UUID);
  const meta = JSON.parse(fs.readFileSync(path.join(root, id, '.metadata.json'), 'utf8'));
  assert.equal(meta.session_id, id);
  assert.equal(meta.created_at, meta.updated_at);
});

test('createSession with an id; an existing one is AlreadyExistsError', (t) => {
  const root = tempRoot(t);
  const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
  assert.equal(w.createSession(root, id), id);
  assert.throws(() => w.createSession(root, id), (e) => e instanceof w.AlreadyExistsError
    && e instanceof w.WsPruneError && e.code === 'already_exists' && e.status === 4);
});

test('bad ids are InvalidSessionIdError and touch nothing outside the root', (t) => {
  const root = tempRoot(t);
  w.createSession(root);
  for (const bad of ['../etc', '..', '/etc/passwd', 'a/b', '0f8fad5b-d9cb-469f-a165-70867728950e\0x', 42]) {
    assert.throws(() => w.touchSession(root, bad), w.InvalidSessionIdError, String(bad));
    assert.throws(() => w.acquire(root, bad), w.InvalidSessionIdError);
    assert.throws(() => w.deleteSession(root, bad), w.InvalidSessionIdError);
    assert.throws(() => w.sessionInfo(root, bad), w.InvalidSessionIdError);
  }
  assert.deepEqual(fs.readdirSync(path.dirname(root)), ['ws']);
});

test('lone surrogates are refused, never merged into one session as U+FFFD', (t) => {
  const root = tempRoot(t);
  w.createSession(root);
  for (const bad of ['t\uD800', 't\uDBFF', 't\uDC00', '\uDFFFx']) {
    assert.throws(() => w.createSession(root, bad), w.InvalidSessionIdError, JSON.stringify(bad));
    assert.throws(() => w.openSession(root, bad), w.InvalidSessionIdError);
    assert.throws(() => w.touchSession(root, bad), w.InvalidSessionIdError);
  }
  assert.throws(() => w.createSession(root + '\uD800'), w.InvalidArgumentError);
  assert.throws(() => w.pruneSessionsSync(root + '\uDC00'), w.InvalidArgumentError);
  // The first session only (and the host directory, .wsprune).
  assert.equal(fs.readdirSync(root).filter((n) => !n.startsWith('.')).length, 1);
  // A well-formed pair is an ordinary character.
  assert.equal(w.createSession(root, 't\uD83D\uDE00'), 't\u{1F600}');
});

test('bad roots are InvalidArgumentError', () => {
  assert.throws(() => w.createSession(''), (e) => e.code === 'invalid_argument');
  assert.throws(() => w.createSession('/tmp/x\0y'), w.InvalidArgumentError);
  assert.throws(() => w.touchSession(undefined, 'x'), w.InvalidArgumentError);
});

test('touchSession updates updated_at; missing is NotFoundError; legacy and corrupted are fine', (t) => {
  const root = tempRoot(t);
  const id = makeSession(root, { ageHours: 5 });
  const before = w.sessionInfo(root, id).updatedAt;
  assert.equal(w.touchSession(root, id), 'updated');
  const after = w.sessionInfo(root, id).updatedAt;
  assert.ok(after > before, `${after} > ${before}`);
  assert.ok(Date.now() - after.getTime() < 60_000);
  assert.throws(() => w.touchSession(root, '11111111-1111-4111-8111-111111111111'), (e) => e.code === 'not_found');
  assert.equal(w.touchSession(root, makeSession(root, { metadata: 'legacy' })), 'legacy');
  const corrupted = makeSession(root, { metadata: 'corrupted' });
  assert.equal(w.touchSession(root, corrupted), 'corrupted');
  assert.equal(fs.readFileSync(path.join(root, corrupted, '.metadata.json'), 'utf8'), '{not json');
});

test('acquire: a leased session is skipped by prune; release(true) touches; release is idempotent', (t) => {
  const root = tempRoot(t);
  const id = makeSession(root, { ageHours: 48 });
  const lease = w.acquire(root, id);
  assert.equal(lease.sessionId, id);
  assert.equal(lease.root, root);
  assert.equal(w.sessionInfo(root, id).inUse, true);
  const res = w.pruneSessionsSync(root, { olderThanHours: 24 });
  assert.deepEqual(res.deleted, []);
  assert.deepEqual(res.skipped, [{ id, reason: 'in_use' }]);
  assert.equal(lease.released, false);
  assert.equal(lease.touchOutcome, null);
  assert.equal(lease.release(true), true);
  assert.equal(lease.touchOutcome, 'updated');
  assert.equal(lease.released, true);
  assert.equal(lease.release(true), false);
  assert.equal(w.sessionInfo(root, id).inUse, false);
  assert.ok(Date.now() - w.sessionInfo(root, id).updatedAt.getTime() < 60_000, 'release(true) touched');
  assert.throws(() => w.acquire(root, '11111111-1111-4111-8111-111111111111'), w.NotFoundError);
});

test('Symbol.dispose releases without touching (where the runtime has it)', { skip: typeof Symbol.dispose !== 'symbol' && 'no Symbol.dispose' }, (t) => {
  const root = tempRoot(t);
  const id = makeSession(root, { ageHours: 48 });
  const lease = w.acquire(root, id);
  lease[Symbol.dispose]();
  assert.equal(lease.released, true);
  assert.equal(w.sessionInfo(root, id).inUse, false);
  assert.ok(Date.now() - w.sessionInfo(root, id).updatedAt.getTime() > 47 * 3600e3, 'not touched');
  lease[Symbol.dispose](); // a second dispose is harmless
});

test('deleteSession returns the bytes freed; leased is BusyError; missing is NotFoundError', (t) => {
  const root = tempRoot(t);
  const id = makeSession(root, { sizeBytes: 1000 });
  const size = w.sessionInfo(root, id).sizeBytes;
  assert.ok(size >= 1000);
  const lease = w.acquire(root, id);
  assert.throws(() => w.deleteSession(root, id), (e) => e instanceof w.BusyError && e.code === 'busy');
  lease.release();
  assert.equal(w.deleteSession(root, id, { waitMs: 100 }), size);
  assert.equal(fs.existsSync(path.join(root, id)), false);
  assert.throws(() => w.deleteSession(root, id), w.NotFoundError);
  assert.throws(() => w.deleteSession(root, id, { waitMs: -1 }), w.InvalidArgumentError);
});

test('sessionInfo reports state, timestamps and size', (t) => {
  const root = tempRoot(t);
  const ok = makeSession(root, { ageHours: 2, sizeBytes: 10 });
  const info = w.sessionInfo(root, ok);
  assert.equal(info.state, 'ok');
  assert.equal(info.id, ok);
  assert.ok(Math.abs(Date.now() - 2 * 3600e3 - info.updatedAt.getTime()) < 60_000);
  assert.ok(info.sizeBytes >= 10);
  const legacy = makeSession(root, { metadata: 'legacy' });
  assert.deepEqual({ ...w.sessionInfo(root, legacy), sizeBytes: 0 },
    { id: legacy, state: 'legacy', createdAt: null, updatedAt: null, sizeBytes: 0, inUse: false });
  assert.equal(w.sessionInfo(root, makeSession(root, { metadata: 'corrupted' })).state, 'corrupted');
  assert.throws(() => w.sessionInfo(root, '11111111-1111-4111-8111-111111111111'), w.NotFoundError);
});

test('repairSessions gives legacy and corrupted sessions metadata (dry run first)', (t) => {
  const root = tempRoot(t);
  const legacy = makeSession(root, { metadata: 'legacy', sizeBytes: 1 });
  const corrupted = makeSession(root, { metadata: 'corrupted' });
  makeSession(root);
  const dry = w.repairSessions(root, { dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.deepEqual(dry.repaired.map((r) => r.id).sort(), [legacy, corrupted].sort());
  assert.equal(w.sessionInfo(root, legacy).state, 'legacy');
  const done = w.repairSessions(root);
  assert.equal(done.dryRun, false);
  const prev = Object.fromEntries(done.repaired.map((r) => [r.id, r.previousState]));
  assert.deepEqual(prev, { [legacy]: 'legacy', [corrupted]: 'corrupted' });
  assert.deepEqual(done.errors, []);
  assert.equal(w.sessionInfo(root, legacy).state, 'ok');
  assert.throws(() => w.repairSessions(path.join(root, 'missing')), w.NotFoundError);
});

test('openSession: create-or-open', (t) => {
  const root = tempRoot(t);
  const first = w.openSession(root);
  assert.equal(first.created, true);
  assert.deepEqual(w.openSession(root, first.id), { id: first.id, created: false });
  const legacy = makeSession(root, { metadata: 'legacy' });
  // A directory without metadata is adopted only when asked (docs/host-state.md).
  assert.throws(() => w.openSession(root, legacy), w.NotFoundError);
  assert.equal(w.openSession(root, legacy, { adopt: true }).created, false);
  assert.equal(w.sessionInfo(root, legacy).state, 'ok');
});

test('version, statusName, libraryPath', () => {
  assert.match(w.version(), /^\d+\.\d+\.\d+/);
  assert.equal(w.statusName(3), 'WSPRUNE_STATUS_NOT_FOUND');
  assert.equal(w.statusName(99), 'WSPRUNE_STATUS_UNKNOWN');
  assert.ok(w.libraryPath().length > 0);
  assert.deepEqual(w.STATUS_CODES.slice(0, 3), ['ok', 'invalid_argument', 'invalid_session_id']);
});

test('the CommonJS entry point is the same module instance', async () => {
  const { createRequire } = await import('node:module');
  const cjs = createRequire(import.meta.url)('../index.cjs');
  assert.equal(cjs.setLogger, w.setLogger);
  assert.equal(cjs.WsPruneError, w.WsPruneError);
  assert.equal((await import('../index.mjs')).default, cjs);
  // index.mjs names every export of the CommonJS module.
  const esm = await import('../index.mjs');
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort());
});

test('an unreachable unreleased lease is released by the garbage collector', (t) => {
  const root = tempRoot(t);
  const id = makeSession(root);
  const script = `
    const w = require(${JSON.stringify(new URL('../index.cjs', import.meta.url).pathname)});
    const [root, id] = process.argv.slice(1);
    (() => { w.acquire(root, id); })();
    const held = w.sessionInfo(root, id).inUse;
    setTimeout(() => {
      globalThis.gc();
      setTimeout(() => console.log(JSON.stringify({ held, after: w.sessionInfo(root, id).inUse })), 50);
    }, 10);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script, root, id], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { held: true, after: false });
});

test('listSessions: every session sorted by id, measured, with Dates; not sessions are left out', (t) => {
  const root = tempRoot(t);
  const ok = makeSession(root, { id: '11111111-1111-4111-8111-111111111111', ageHours: 2, sizeBytes: 1000 });
  const legacy = makeSession(root, { id: '22222222-2222-4222-8222-222222222222', metadata: 'legacy' });
  const corrupted = makeSession(root, { id: '00000000-0000-4000-8000-000000000000', metadata: 'corrupted' });
  const custom = w.createSession(root, 'build-42');
  fs.mkdirSync(path.join(root, 'not-a-session')); // a custom-id name without metadata
  fs.mkdirSync(path.join(root, '.hidden'));
  fs.mkdirSync(path.join(root, 'site-packages'));
  const lease = w.acquire(root, legacy);
  t.after(() => lease.release());

  const list = w.listSessions(root);
  assert.deepEqual(list.map((s) => s.sessionId), [corrupted, ok, legacy, custom].sort());
  const byId = Object.fromEntries(list.map((s) => [s.sessionId, s]));
  const meta = JSON.parse(fs.readFileSync(path.join(root, ok, '.metadata.json'), 'utf8'));
  assert.ok(byId[ok].updatedAt instanceof Date);
  assert.equal(byId[ok].updatedAt.getTime(), new Date(meta.updated_at).getTime());
  assert.equal(byId[ok].createdAt.getTime(), new Date(meta.created_at).getTime());
  assert.ok(Math.abs(byId[ok].ageHours - 2) < 0.1, String(byId[ok].ageHours));
  assert.equal(byId[ok].sizeBytes, w.sessionInfo(root, ok).sizeBytes);
  assert.ok(byId[ok].sizeBytes >= 1000);
  assert.deepEqual([byId[ok].state, byId[ok].inUse, byId[ok].problem], ['ok', false, null]);
  assert.deepEqual([byId[legacy].state, byId[legacy].inUse, byId[legacy].createdAt, byId[legacy].updatedAt, byId[legacy].ageHours],
    ['legacy', true, null, null, null]);
  assert.equal(byId[corrupted].state, 'corrupted');
  assert.equal(typeof byId[corrupted].problem, 'string');
  assert.equal(typeof byId[corrupted].sizeBytes, 'number');
  assert.equal(byId[custom].state, 'ok');
});

test('listSessions: an unreadable session has an unknown size and a problem', (t) => {
  if (process.getuid?.() === 0) return t.skip('root reads every directory');
  const root = tempRoot(t);
  const id = makeSession(root, { sizeBytes: 10 });
  fs.chmodSync(path.join(root, id), 0o000);
  t.after(() => fs.chmodSync(path.join(root, id), 0o755));
  const [s] = w.listSessions(root);
  assert.deepEqual([s.sessionId, s.state, s.sizeBytes], [id, 'unreadable', null]);
  assert.equal(typeof s.problem, 'string');
});

test('listSessions: a missing root is NotFoundError, a bad one InvalidArgumentError', (t) => {
  const root = tempRoot(t);
  assert.throws(() => w.listSessions(root), w.NotFoundError);
  assert.throws(() => w.listSessions(''), w.InvalidArgumentError);
  assert.throws(() => w.listSessions(`${root}\0x`), w.InvalidArgumentError);
  fs.mkdirSync(root);
  assert.deepEqual(w.listSessions(root), []);
});

test('readMetadata: the metadata as stored, every field and the writer\'s timestamp format', (t) => {
  const root = tempRoot(t);
  const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
  fs.mkdirSync(path.join(root, id), { recursive: true });
  const stored = {
    session_id: id, created_at: '2026-11-25T01:47:00.123456+00:00', updated_at: '2026-11-25T02:00:00.000001+00:00',
    version: 1, runtime: { name: 'py', tags: ['a'] },
  };
  fs.writeFileSync(path.join(root, id, '.metadata.json'), JSON.stringify(stored));
  const before = fs.statSync(path.join(root, id, '.metadata.json')).mtimeMs;
  // Any spelling of the UUID finds it; sessionId is the name it was found under.
  const r = w.readMetadata(root, id.toUpperCase());
  assert.deepEqual(r, { sessionId: id, state: 'ok', metadata: stored, problem: null });
  assert.equal(fs.statSync(path.join(root, id, '.metadata.json')).mtimeMs, before);
});

test('readMetadata: legacy and corrupted sessions; missing and bad ids', (t) => {
  const root = tempRoot(t);
  const legacy = makeSession(root, { metadata: 'legacy' });
  const corrupted = makeSession(root, { metadata: 'corrupted' });
  fs.mkdirSync(path.join(root, 'custom-dir'));
  assert.deepEqual(w.readMetadata(root, legacy), { sessionId: legacy, state: 'legacy', metadata: null, problem: null });
  assert.deepEqual(w.readMetadata(root, 'custom-dir'), { sessionId: 'custom-dir', state: 'legacy', metadata: null, problem: null });
  const c = w.readMetadata(root, corrupted);
  assert.deepEqual([c.sessionId, c.state, c.metadata], [corrupted, 'corrupted', null]);
  assert.equal(typeof c.problem, 'string');
  assert.ok(c.problem.length > 0);
  assert.throws(() => w.readMetadata(root, '3b1f8c1e-0000-4000-8000-000000000000'), w.NotFoundError);
  assert.throws(() => w.readMetadata(path.join(root, 'missing'), legacy), w.NotFoundError);
  for (const bad of ['../etc', '..', 'a/b', 42]) assert.throws(() => w.readMetadata(root, bad), w.InvalidSessionIdError);
});
