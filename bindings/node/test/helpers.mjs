// Shared test helpers: temporary workspaces on the real filesystem and
// sessions written in wsprune's metadata format with a chosen age.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

export function tempRoot(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsprune-node-'));
  t.after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return path.join(dir, 'ws');
}

function iso(date) {
  // 27 bytes, microseconds: 2026-11-25T01:47:00.123456Z
  return date.toISOString().replace('Z', '000Z');
}

/** Writes session `id` (a new UUID by default) updated `ageHours` ago, with `sizeBytes` of data. */
export function makeSession(root, { id = randomUUID(), ageHours = 0, sizeBytes = 0, metadata = 'ok' } = {}) {
  const dir = path.join(root, id);
  fs.mkdirSync(dir, { recursive: true });
  const when = new Date(Date.now() - ageHours * 3600e3);
  if (metadata === 'ok') {
    fs.writeFileSync(path.join(dir, '.metadata.json'), JSON.stringify({
      session_id: id, created_at: iso(when), updated_at: iso(when), version: 1,
    }));
  } else if (metadata === 'corrupted') {
    fs.writeFileSync(path.join(dir, '.metadata.json'), '{not json');
  }
  if (sizeBytes > 0) fs.writeFileSync(path.join(dir, 'data.bin'), Buffer.alloc(sizeBytes, 1));
  return id;
}

export function remaining(root) {
  return fs.readdirSync(root).filter((n) => !n.startsWith('.')).sort();
}
