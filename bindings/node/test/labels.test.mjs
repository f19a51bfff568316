// Label selectors and per-owner caps through the Node binding: the options
// reach the library, and its refusals come back as InvalidArgumentError.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as w from '../index.mjs';
import { tempRoot, remaining } from './helpers.mjs';

/** A registered session whose record carries `labels`, last used `ageHours` ago. */
function labelled(root, labels, ageHours) {
  const id = w.createSession(root);
  const file = path.join(root, '.wsprune', 'sessions', id);
  const record = JSON.parse(fs.readFileSync(file, 'utf8'));
  const when = new Date(Date.now() - ageHours * 3600e3).toISOString().replace('Z', '000Z');
  Object.assign(record, { created_at: when, updated_at: when, labels });
  fs.writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  return id;
}

test('a label selector limits the prune to the sessions it matches', async (t) => {
  const root = tempRoot(t);
  const alice = labelled(root, { owner: 'alice' }, 48);
  const bob = labelled(root, { owner: 'bob', tier: 'pro' }, 48);
  const res = await w.pruneSessions(root, { labelSelector: 'owner=alice' });
  assert.deepEqual(res.deleted, [alice]);
  assert.deepEqual(remaining(root), [bob]);
});

test('per-owner caps evict within each owner', async (t) => {
  const root = tempRoot(t);
  const a = [10, 9, 8].map((h) => labelled(root, { owner: 'alice' }, h));
  const b = labelled(root, { owner: 'bob' }, 30);
  const res = await w.pruneSessions(root, {
    olderThanHours: null, minAgeHours: 0, perOwner: 'owner', maxSessionsPerOwner: 2,
  });
  assert.deepEqual(res.deleted, [a[0]]);
  assert.deepEqual(res.rules, { [a[0]]: 'max_sessions_per_owner' });
  assert.ok(remaining(root).includes(b));
});

test('bad label options are InvalidArgumentError', async (t) => {
  const root = tempRoot(t);
  const id = labelled(root, { owner: 'alice' }, 48);
  for (const opts of [
    { labelSelector: '' },
    { labelSelector: 'owner=al ice' },
    { labelSelector: 'owner\0x' },
    { labelSelector: 'owner=\uD800' },
    { maxSessionsPerOwner: 2 },
    { perOwner: 'owner', maxSessionsPerOwner: 0 },
  ]) {
    await assert.rejects(w.pruneSessions(root, opts), w.InvalidArgumentError, JSON.stringify(opts));
  }
  assert.deepEqual(remaining(root), [id]);
});

test('labels are set at create and open and changed with setLabels', async (t) => {
  const root = tempRoot(t);
  const id = w.createSession(root, null, { labels: { owner: 'alice', tier: 'free' } });
  const record = () => JSON.parse(fs.readFileSync(path.join(root, '.wsprune', 'sessions', id), 'utf8')).labels;
  assert.deepEqual(record(), { owner: 'alice', tier: 'free' });
  assert.deepEqual(w.openSession(root, id, { labels: { tier: 'pro' } }), { id, created: false });
  assert.deepEqual(w.setLabels(root, id, ['gpu=', 'tier-']), { owner: 'alice', gpu: '' });
  assert.deepEqual(record(), { owner: 'alice', gpu: '' });
  for (const bad of [['own er=x'], ['owner'], ['x\0'], ['x=\uD800']]) {
    assert.throws(() => w.setLabels(root, id, bad), w.InvalidArgumentError, JSON.stringify(bad));
  }
  assert.throws(() => w.createSession(root, 's1', { labels: { 'bad key': 'x' } }), w.InvalidArgumentError);
  assert.ok(!fs.existsSync(path.join(root, 's1')));
  assert.throws(() => w.setLabels(root, 'missing', ['a=b']), w.NotFoundError);
});
