// The conformance runner (tests/conformance/runners/node_runner.mjs) speaks
// the protocol: one response line per request line, statuses as named there.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempRoot, makeSession } from './helpers.mjs';

const runner = fileURLToPath(new URL('../../../tests/conformance/runners/node_runner.mjs', import.meta.url));

function exchange(requests) {
  const r = spawnSync(process.execPath, [runner], {
    input: requests.map((x) => JSON.stringify(x)).join('\n') + '\n', encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

test('the conformance runner answers each request line', { skip: !fs.existsSync(runner) && 'runner not in this tree' }, (t) => {
  const root = tempRoot(t);
  const old = makeSession(root, { ageHours: 48, sizeBytes: 10 });
  const recent = makeSession(root, { ageHours: 1 });
  const [bad, capZero, prune, touch, info] = exchange([
    { root, op: { kind: 'touch', id: '../etc' } },
    { root, op: { kind: 'prune', options: { max_sessions: 0 } } },
    { root, op: { kind: 'prune', options: {} } },
    { root, op: { kind: 'touch', id: recent } },
    { root, op: { kind: 'info', id: recent } },
  ]);
  assert.equal(bad.status, 'invalid_session_id');
  assert.equal(capZero.status, 'invalid_argument');
  assert.equal(prune.status, 'ok');
  assert.deepEqual(prune.result.deleted, [old]);
  assert.deepEqual(prune.result.rules, { [old]: 'older_than' });
  assert.ok(prune.events.includes('session.prune.deleted'));
  assert.deepEqual(touch.result, { outcome: 'updated' });
  assert.deepEqual(info.result, { state: 'ok', size_bytes: info.result.size_bytes, in_use: false });
});
