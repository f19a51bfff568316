// Compiled by `tsc --noEmit` only: the declarations must accept the README's usage.
import { acquire, createSession, pruneSessions, setLogger, WsPruneError, type PruneResult } from 'wsprune';
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
