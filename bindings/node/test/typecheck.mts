// Compiled by `tsc --noEmit` only: the declarations must accept the README's usage.
import { acquire, createSession, listSessions, pruneSessions, readMetadata, setLogger, WsPruneError, type PruneResult } from 'wsprune';
declare function show(...values: unknown[]): void; // no @types/node: the binding needs none

const root = '/tmp/ws';
setLogger((e) => show(e.level, e.name, e.fields));
const id: string = createSession(root);
const lease = acquire(root, id);
lease.release(true);
const res: PruneResult = await pruneSessions(root, { olderThanHours: null, maxTotalBytes: 50n << 30n, jobs: 8 });
for (const s of res.skipped) show(s.id, s.reason);
try {
  createSession(root, id);
} catch (e) {
  if (e instanceof WsPruneError && e.code === 'already_exists') show(e.status);
}
for (const s of listSessions(root)) show(s.sessionId, s.state, s.updatedAt?.toISOString(), s.sizeBytes ?? '?');
const stored = readMetadata(root, id);
if (stored.state === 'ok' && stored.metadata) show(stored.metadata.updated_at);
