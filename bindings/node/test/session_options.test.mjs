// The session options (directory mode, adopt, reserved names) and migrate,
// on a real filesystem.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  createSession, openSession, migrateSessions,
  InvalidArgumentError, InvalidSessionIdError, NotFoundError,
} from '../index.mjs';
import { tempRoot } from './helpers.mjs';

const mode = (p) => fs.lstatSync(p).mode & 0o7777;
const registered = (root, id) => fs.existsSync(path.join(root, '.wsprune', 'sessions', id));

test('dirMode: unset is 0700, an explicit mode is used, bad ones create nothing', (t) => {
  const old = process.umask(0o022);
  t.after(() => process.umask(old));
  const root = tempRoot(t);
  assert.equal(createSession(root, 'plain'), 'plain');
  assert.equal(mode(path.join(root, 'plain')), 0o700);
  createSession(root, 'empty-options', {});
  assert.equal(mode(path.join(root, 'empty-options')), 0o700);
  createSession(root, 'shared', { dirMode: 0o750 });
  assert.equal(mode(path.join(root, 'shared')), 0o750);
  assert.deepEqual(openSession(root, 'fresh', { dirMode: 0o710 }), { id: 'fresh', created: true });
  assert.equal(mode(path.join(root, 'fresh')), 0o710);
  for (const bad of [0, 0o644, 0o1777, -1, 1.5, '0750', 0o300]) {
    assert.throws(() => createSession(root, 'bad', { dirMode: bad }), InvalidArgumentError, String(bad));
    assert.ok(!fs.existsSync(path.join(root, 'bad')));
  }
  assert.throws(() => createSession(root, 'x', { adopt: true }), InvalidArgumentError);
  assert.throws(() => createSession(root, 'x', { dirmode: 0o700 }), InvalidArgumentError);
});

test('adopt is needed for a directory without metadata; reserved names are never sessions', (t) => {
  const root = tempRoot(t);
  fs.mkdirSync(path.join(root, 'scratch'), { recursive: true });
  fs.mkdirSync(path.join(root, 'pip-cache'));
  assert.throws(() => openSession(root, 'scratch'), NotFoundError);
  assert.throws(() => openSession(root, 'scratch', { adopt: false }), NotFoundError);
  assert.ok(!registered(root, 'scratch'));
  assert.deepEqual(openSession(root, 'scratch', { adopt: true }), { id: 'scratch', created: false });
  assert.ok(registered(root, 'scratch'));
  assert.throws(() => openSession(root, 'pip-cache', { adopt: true, reserved: ['pip-cache', 'models'] }), InvalidSessionIdError);
  assert.throws(() => createSession(root, 'models', { reserved: ['models'] }), InvalidSessionIdError);
  assert.ok(!registered(root, 'pip-cache') && !fs.existsSync(path.join(root, 'models')));
  for (const bad of ['pip-cache', ['a\0b'], ['\ud800'], [1]]) {
    assert.throws(() => openSession(root, 'x1', { reserved: bad }), InvalidArgumentError);
  }
  assert.throws(() => openSession(root, 'x1', { adopt: 'yes' }), InvalidArgumentError);
});

test('migrateSessions: a dry run registers nothing, then valid and legacy are registered, corrupted skipped', (t) => {
  const root = tempRoot(t);
  const legacy = '11111111-2222-4333-8444-555555555555';
  const broken = '22222222-2222-4333-8444-555555555555';
  fs.mkdirSync(path.join(root, 'old-nb'), { recursive: true });
  fs.writeFileSync(path.join(root, 'old-nb', '.metadata.json'), JSON.stringify({
    session_id: 'old-nb', created_at: '2020-01-01T00:00:00+00:00', updated_at: '2020-01-02T00:00:00+00:00',
  }));
  fs.mkdirSync(path.join(root, legacy));
  fs.mkdirSync(path.join(root, broken));
  fs.writeFileSync(path.join(root, broken, '.metadata.json'), '{broken');
  const dry = migrateSessions(root, { dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.deepEqual(dry.registered.map((m) => m.id).sort(), [legacy, 'old-nb']);
  assert.deepEqual(dry.skipped.map((s) => s.id), [broken]);
  assert.ok(!registered(root, legacy) && !registered(root, 'old-nb'));
  const real = migrateSessions(root);
  const old = real.registered.find((m) => m.id === 'old-nb');
  assert.ok(old.hadMetadata && old.updatedAt.startsWith('2020-01-02'));
  assert.ok(registered(root, legacy) && registered(root, 'old-nb') && !registered(root, broken));
  assert.deepEqual(migrateSessions(root).registered, []);
  assert.throws(() => migrateSessions(path.join(root, 'missing')), NotFoundError);
  assert.throws(() => migrateSessions(root, { dryRun: 1 }), InvalidArgumentError);
});
