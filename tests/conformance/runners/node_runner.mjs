#!/usr/bin/env node
// Conformance runner for the Node.js binding (tests/conformance/PROTOCOL.md):
// one JSON request per stdin line, one JSON response per stdout line.
//
//   node tests/conformance/runners/node_runner.mjs
//
// Needs bindings/node's dependencies installed (npm ci there) and libwsprune
// findable (WSPRUNE_LIBRARY or LD_LIBRARY_PATH).
import readline from 'node:readline';
import * as w from '../../../bindings/node/index.mjs';

// Protocol option names -> the binding's; an absent key stays absent (unset).
const OPTION_NAMES = {
  older_than_hours: 'olderThanHours',
  max_total_bytes: 'maxTotalBytes',
  max_sessions: 'maxSessions',
  min_free_bytes: 'minFreeBytes',
  max_deletions: 'maxDeletions',
  min_age_hours: 'minAgeHours',
  dry_run: 'dryRun',
  jobs: 'jobs',
  single_host: 'singleHost',
  min_free_percent: 'minFreePercent',
  high_watermark_percent: 'highWatermarkPercent',
  low_watermark_percent: 'lowWatermarkPercent',
  high_inode_watermark_percent: 'highInodeWatermarkPercent',
  low_inode_watermark_percent: 'lowInodeWatermarkPercent',
  label_selector: 'labelSelector',
  per_owner: 'perOwner',
  max_sessions_per_owner: 'maxSessionsPerOwner',
  max_bytes_per_owner: 'maxBytesPerOwner',
  as_of: 'asOf',
};

// Times (until, expires_at, as_of) arrive as RFC 3339 strings: a Date each.
const TIMES = new Set(['as_of', 'until', 'expires_at']);

class NotExpressible extends Error {}

// The session options of a create or open: dir_mode (an octal string) ->
// dirMode, adopt, reserved; an absent key stays absent (unset).
function sessionOptions(op) {
  const out = {};
  if (op.dir_mode !== undefined) out.dirMode = parseInt(op.dir_mode, 8);
  if (op.adopt !== undefined) out.adopt = op.adopt;
  if (op.reserved !== undefined) out.reserved = op.reserved;
  if (op.idle_ttl_seconds !== undefined) out.idleTtlSeconds = op.idle_ttl_seconds;
  if (op.expires_at !== undefined) out.expiresAt = new Date(op.expires_at);
  if (op.labels !== undefined) out.labels = op.labels;
  return out;
}

function pruneOptions(options = {}) {
  const out = {};
  for (const [key, value] of Object.entries(options)) {
    const name = OPTION_NAMES[key];
    if (!name) throw new NotExpressible(`unknown prune option ${key}`);
    // JSON numbers above 2^53 (a byte count such as 2^60) go in as BigInt,
    // which the binding takes for 64-bit fields; JSON.parse has already made
    // them doubles, exact for the powers of two the scenarios use.
    out[name] = TIMES.has(key)
      ? new Date(value)
      : Number.isInteger(value) && !Number.isSafeInteger(value)
        ? BigInt(value)
        : value;
  }
  return out;
}

async function perform(root, op, events) {
  switch (op.kind) {
    case 'create':
      return { id: w.createSession(root, op.id ?? undefined, sessionOptions(op)) };
    case 'open':
      return w.openSession(root, op.id ?? undefined, sessionOptions(op));
    case 'migrate': {
      const r = w.migrateSessions(root, { dryRun: Boolean(op.dry_run) });
      return { registered: r.registered.map((m) => m.id), skipped: r.skipped.map((s) => s.id), dry_run: r.dryRun };
    }
    case 'touch':
      return { outcome: w.touchSession(root, op.id) };
    case 'acquire': {
      const lease = w.acquire(root, op.id);
      lease.release(Boolean(op.release_touch));
      return { touched: lease.touchOutcome };
    }
    case 'delete':
      return {
        reclaimed_bytes: w.deleteSession(root, op.id, { singleHost: Boolean(op.single_host), force: Boolean(op.force) }),
      };
    case 'pin':
      w.pinSession(root, op.id, op.until === undefined ? {} : { until: new Date(op.until) });
      return {};
    case 'unpin':
      w.unpinSession(root, op.id);
      return {};
    case 'label':
      return { labels: w.setLabels(root, op.id, op.changes ?? []) };
    case 'set_ttl': {
      const { idleTtlSeconds, expiresAt } = sessionOptions(op);
      const o = {};
      if (idleTtlSeconds !== undefined) o.idleTtlSeconds = idleTtlSeconds;
      if (expiresAt !== undefined) o.expiresAt = expiresAt;
      w.setSessionTtl(root, op.id, o);
      return {};
    }
    case 'info': {
      const info = w.sessionInfo(root, op.id);
      return { state: info.state, size_bytes: info.sizeBytes, in_use: info.inUse };
    }
    case 'stats': {
      const s = w.workspaceStats(root, { measureSizes: Boolean(op.measure_sizes) });
      const fs = s.filesystem;
      return {
        sessions: s.sessions,
        leased: s.leased,
        total_bytes: s.totalBytes,
        idle_sessions: s.idle.map((b) => b.sessions),
        idle_bytes: s.totalBytes === null ? null : s.idle.map((b) => b.bytes),
        oldest_idle_hours: s.oldestIdleSeconds === null ? null : Math.floor(s.oldestIdleSeconds / 3600),
        filesystem_consistent: fs.sizeBytes > 0 && fs.availableBytes <= fs.sizeBytes && fs.freeInodes <= fs.inodes,
      };
    }
    case 'list': {
      const listed = w.listSessions(root);
      return {
        sessions: Object.fromEntries(listed.map((s) => [s.sessionId, s.state])),
        labels: Object.fromEntries(listed.map((s) => [s.sessionId, s.labels])),
      };
    }
    case 'repair':
      return { repaired: w.repairSessions(root, { dryRun: Boolean(op.dry_run) }).repaired.length };
    case 'prune': {
      const r = await w.pruneSessions(root, pruneOptions(op.options));
      return {
        deleted: r.deleted,
        rules: r.rules,
        skipped: Object.fromEntries(r.skipped.map((s) => [s.id, s.reason])),
        errors: r.errors.map((e) => e.id),
        interrupted: r.interrupted,
        unmet_targets: r.unmetTargets,
        unmet: r.unmet,
        deleted_bytes: Object.fromEntries(Object.entries(r.details).map(([id, d]) => [id, d.bytes])),
        reclaimed_bytes: r.reclaimedBytes,
        dry_run: r.dryRun,
      };
    }
    default:
      throw new NotExpressible(`unknown op ${op.kind}`);
  }
}

async function handle(line) {
  const events = [];
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    return { status: 'runner_error', message: `bad request line: ${e.message}`, result: null, events };
  }
  w.setLogger((e) => events.push(e.name));
  try {
    const result = await perform(request.root, request.op, events);
    return { status: 'ok', message: '', result, events };
  } catch (e) {
    if (e instanceof NotExpressible) return { not_expressible: e.message };
    if (e instanceof w.WsPruneError) return { status: e.code, message: e.message, result: null, events };
    return { status: 'runner_error', message: String(e && e.stack ? e.stack : e), result: null, events };
  } finally {
    w.setLogger(null);
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === '') continue;
  process.stdout.write(JSON.stringify(await handle(line)) + '\n');
}
