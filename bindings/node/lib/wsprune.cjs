'use strict';
// The public API: idiomatic JS over the C ABI (include/wsprune.h). No
// wsprune logic lives here: every decision is the library's.

const { native, koffi } = require('./native.cjs');
const errors = require('./errors.cjs');
const { setLogger, trackAsync } = require('./events.cjs');
const { toNative, defaultPruneOptions, singleHostFlag, micros } = require('./options.cjs');
const { SessionDetails, SessionOptions, FLAG_FORCE } = require('./native.cjs');

const { InvalidArgumentError, InvalidSessionIdError, errorFor } = errors;
const ID_BUFFER = 256; // custom ids are up to 255 bytes, plus the NUL
const STATES = ['ok', 'legacy', 'corrupted', 'unreadable'];

function fns() {
  return native().fns;
}

// Strings go to C as NUL-terminated UTF-8: one with a NUL would be silently
// cut there, and a lone UTF-16 surrogate would be encoded as U+FFFD (so that
// "t\uD800", "t\uDBFF" and "t\uDC00" would all name session "t\uFFFD"):
// both are refused here, as Java and Python do.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function wellFormed(s) {
  return typeof s.isWellFormed === 'function' ? s.isWellFormed() : !LONE_SURROGATE.test(s);
}

function checkRoot(root) {
  if (typeof root !== 'string') throw new InvalidArgumentError('wsprune: the workspace root must be a string');
  if (root.includes('\0')) throw new InvalidArgumentError('wsprune: the workspace root contains a NUL byte');
  if (!wellFormed(root)) throw new InvalidArgumentError('wsprune: the workspace root is not valid Unicode (a lone surrogate)');
  return root;
}

function checkId(id) {
  if (typeof id !== 'string') throw new InvalidSessionIdError('wsprune: a session id must be a string');
  if (id.includes('\0')) throw new InvalidSessionIdError('wsprune: the session id contains a NUL byte');
  if (!wellFormed(id)) throw new InvalidSessionIdError('wsprune: the session id is not valid Unicode (a lone surrogate)');
  return id;
}

/** Throws the WsPruneError for a failed call, freeing the C error. */
function check(status, errOut) {
  if (status === 0) return;
  const f = fns();
  const err = errOut[0];
  const message = err ? f.wsprune_error_message(err) : f.wsprune_status_name(status);
  if (err) f.wsprune_error_free(err);
  throw errorFor(status, message);
}

function cString(buf) {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

const SESSION_KEYS = new Set(['dirMode', 'adopt', 'reserved', 'idleTtlSeconds', 'expiresAt', 'labels']);

/**
 * The session options as a wsprune_session_options object, or null when
 * none is set (the calls without options are used then). Unset is the
 * library's default: dirMode 0700, adopt false, no reserved name.
 */
function sessionOptions(options, what) {
  if (options == null) return null;
  if (typeof options !== 'object') throw new InvalidArgumentError(`wsprune: ${what} options must be an object`);
  for (const key of Object.keys(options)) {
    if (!SESSION_KEYS.has(key) || (key === 'adopt' && what === 'createSession')) {
      throw new InvalidArgumentError(`wsprune: unknown ${what} option ${JSON.stringify(key)}`);
    }
  }
  const { dirMode, adopt, reserved, idleTtlSeconds, expiresAt, labels } = options;
  const unset = [dirMode, adopt, reserved, idleTtlSeconds, expiresAt, labels].every((v) => v === undefined);
  if (unset) return null;
  const opts = {};
  const status = fns().wsprune_session_options_init(opts, koffi.sizeof(SessionOptions));
  if (status !== 0) throw new InvalidArgumentError(`wsprune: wsprune_session_options_init failed (status ${status})`);
  if (dirMode !== undefined) {
    // 0 is the C struct's unset; JS can tell 0 from absent, and mode 0 is no mode the owner can use.
    if (typeof dirMode !== 'number' || !Number.isInteger(dirMode) || dirMode <= 0 || dirMode > 0o777) {
      throw new InvalidArgumentError(`wsprune: dirMode must be permission bits such as 0o750 with rwx for the owner, got ${dirMode}`);
    }
    opts.dir_mode = dirMode;
  }
  if (adopt !== undefined) {
    if (typeof adopt !== 'boolean') throw new InvalidArgumentError('wsprune: adopt must be a boolean');
    opts.adopt = adopt;
  }
  if (reserved !== undefined) {
    if (!Array.isArray(reserved)) throw new InvalidArgumentError('wsprune: reserved must be an array of names');
    for (const name of reserved) {
      if (typeof name !== 'string' || name.includes('\0') || !name.isWellFormed()) {
        throw new InvalidArgumentError(`wsprune: reserved name ${JSON.stringify(name)}: a string without NUL or lone surrogates`);
      }
    }
    if (reserved.length > 0) {
      opts.reserved = reserved;
      opts.reserved_count = reserved.length;
    }
  }
  if (idleTtlSeconds !== undefined) opts.idle_ttl_seconds = ttlSeconds(idleTtlSeconds);
  if (expiresAt !== undefined) opts.expires_at_us = micros('expiresAt', expiresAt);
  if (labels !== undefined) {
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
      throw new InvalidArgumentError('wsprune: labels must be an object of strings, e.g. { owner: "alice" }');
    }
    // "key=value" strings, checked by the library (docs/contract.md, "Labels").
    const texts = Object.entries(labels).map(([k, v]) => {
      if (typeof v !== 'string') throw new InvalidArgumentError(`wsprune: label ${JSON.stringify(k)}: its value must be a string`);
      return cText(`${k}=${v}`, 'label');
    });
    if (texts.length > 0) {
      opts.labels = texts;
      opts.labels_count = texts.length;
    }
  }
  return opts;
}

/** An idle TTL in whole seconds, at least 1 (0 would be "none" in C). */
function ttlSeconds(v) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError(`wsprune: idleTtlSeconds must be a whole number of seconds >= 1, got ${v}`);
  }
  return v;
}

/**
 * Pins session `id`: no prune rule deletes it while the pin holds (a prune
 * reports it skipped, reason "pinned"), and deleteSession needs
 * `{ force: true }`. `options.until` (a Date, later than now) ends the pin;
 * absent: until unpinSession.
 */
function pinSession(root, id, options = {}) {
  checkRoot(root);
  checkId(id);
  const until = options.until === undefined ? 0n : micros('until', options.until);
  const err = [null];
  check(fns().wsprune_session_pin(root, id, until, err), err);
}

/** Removes the session's pin (an unpinned session is fine). */
function unpinSession(root, id) {
  checkRoot(root);
  checkId(id);
  const err = [null];
  check(fns().wsprune_session_unpin(root, id, err), err);
}

/**
 * Replaces the session's own TTL: `idleTtlSeconds` (>= 1) and `expiresAt`
 * (a Date); a prune deletes it once either has passed, whatever its age
 * rule, never while it is leased or pinned. Neither given removes the TTL.
 */
function setSessionTtl(root, id, options = {}) {
  checkRoot(root);
  checkId(id);
  for (const key of Object.keys(options)) {
    if (key !== 'idleTtlSeconds' && key !== 'expiresAt') {
      throw new InvalidArgumentError(`wsprune: unknown setSessionTtl option ${JSON.stringify(key)}`);
    }
  }
  const idle = options.idleTtlSeconds === undefined ? 0 : ttlSeconds(options.idleTtlSeconds);
  const at = options.expiresAt === undefined ? 0n : micros('expiresAt', options.expiresAt);
  const err = [null];
  check(fns().wsprune_session_set_ttl(root, id, idle, at, err), err);
}

/** A string for C, refused when C cannot carry it as it is (a NUL, a lone surrogate). */
function cText(s, what) {
  if (typeof s !== 'string' || s.includes('\0') || !s.isWellFormed()) {
    throw new InvalidArgumentError(`wsprune: ${what} ${JSON.stringify(s)}: a string without NUL or lone surrogates`);
  }
  return s;
}

/**
 * Sets ("key=value") and removes ("key-") labels of a registered session, in
 * order, all checked before any is made; returns its labels (an object).
 */
function setLabels(root, id, changes) {
  checkRoot(root);
  checkId(id);
  if (!Array.isArray(changes)) throw new InvalidArgumentError('wsprune: changes must be an array of "key=value" or "key-"');
  const texts = changes.map((c) => cText(c, 'label change'));
  const json = [null];
  const err = [null];
  check(fns().wsprune_session_set_labels(root, id, texts, texts.length, json, err), err);
  return takeJson(json[0]);
}

/**
 * Creates a session (a new random UUID if `id` is omitted); returns its id.
 * `options`: `dirMode` (the directory's mode, default 0o700), `reserved`
 * (more names that are never sessions).
 */
function createSession(root, id, options) {
  checkRoot(root);
  if (id != null) checkId(id);
  const opts = sessionOptions(options, 'createSession');
  const buf = Buffer.alloc(ID_BUFFER);
  const err = [null];
  const f = fns();
  const status = opts
    ? f.wsprune_session_create_with_options(root, id ?? null, opts, buf, buf.length, err)
    : f.wsprune_session_create(root, id ?? null, buf, buf.length, err);
  check(status, err);
  return cString(buf);
}

/**
 * Opens session `id`, creating it if missing (a new UUID if `id` is
 * omitted). A directory that is neither registered nor holds valid metadata
 * is NotFoundError unless `options.adopt`; `dirMode` and `reserved` as for
 * createSession.
 */
function openSession(root, id, options) {
  checkRoot(root);
  if (id != null) checkId(id);
  const opts = sessionOptions(options, 'openSession');
  const buf = Buffer.alloc(ID_BUFFER);
  const created = [false];
  const err = [null];
  const f = fns();
  const status = opts
    ? f.wsprune_session_open_with_options(root, id ?? null, opts, buf, buf.length, created, err)
    : f.wsprune_session_open(root, id ?? null, buf, buf.length, created, err);
  check(status, err);
  return { id: cString(buf), created: Boolean(created[0]) };
}

/** What a touch did, by the C ABI's WSPRUNE_TOUCH_* value. */
const TOUCH_OUTCOMES = { 0: 'updated', 1: 'legacy', 2: 'corrupted' };

/**
 * Sets the session's updated_at to now (legacy and corrupted metadata are not
 * errors) and returns what it did: 'updated', 'legacy' or 'corrupted'.
 */
function touchSession(root, id) {
  checkRoot(root);
  checkId(id);
  const err = [null];
  const outcome = [-1];
  check(fns().wsprune_session_touch_outcome(root, id, outcome, err), err);
  return TOUCH_OUTCOMES[outcome[0]];
}

// A lease dropped without release() is released (without touching) when
// garbage-collected: a safety net only, the collector decides when.
const leaseFinalizer = new FinalizationRegistry((holder) => {
  if (holder.ptr) {
    const ptr = holder.ptr;
    holder.ptr = null;
    fns().wsprune_lease_release(ptr, false, [null]);
  }
});

class Lease {
  #holder;

  constructor(root, sessionId, ptr) {
    this.root = root;
    this.sessionId = sessionId;
    this.#holder = { ptr };
    leaseFinalizer.register(this, this.#holder, this);
  }

  /** Whether release() has been called. */
  get released() {
    return this.#holder.ptr === null;
  }

  /** What release(true) did: 'updated', 'legacy' or 'corrupted'; null before, or after release(false). */
  touchOutcome = null;

  /**
   * Releases the lease, first refreshing updated_at if `touch` is true. The
   * lock is released even if the touch fails (then the error is thrown).
   * Returns true, or false (doing nothing) if the lease was already released.
   */
  release(touch = false) {
    const ptr = this.#holder.ptr;
    if (!ptr) return false;
    this.#holder.ptr = null;
    leaseFinalizer.unregister(this);
    const err = [null];
    const outcome = [-1];
    check(fns().wsprune_lease_release_outcome(ptr, Boolean(touch), outcome, err), err);
    this.touchOutcome = TOUCH_OUTCOMES[outcome[0]] ?? null;
    return true;
  }
}
if (typeof Symbol.dispose === 'symbol') {
  // `using lease = acquire(...)` releases without touching at scope exit.
  Lease.prototype[Symbol.dispose] = function dispose() {
    this.release(false);
  };
}

/** Takes a shared lease on the session (a prune skips it as "in_use"). */
function acquire(root, id) {
  checkRoot(root);
  checkId(id);
  const out = [null];
  const err = [null];
  check(fns().wsprune_session_acquire(root, id, out, err), err);
  return new Lease(root, id, out[0]);
}

function strings(r, countFn, itemFn) {
  const f = fns();
  const n = Number(f[countFn](r));
  const out = [];
  for (let i = 0; i < n; i++) out.push(f[itemFn](r, i));
  return out;
}

/** Copies a C prune result into a plain object and frees it. */
function readResult(r) {
  const f = fns();
  try {
    const deleted = strings(r, 'wsprune_prune_result_deleted_count', 'wsprune_prune_result_deleted_id');
    const rules = {};
    const details = {};
    deleted.forEach((id, i) => {
      rules[id] = f.wsprune_prune_result_deleted_rule(r, i);
      details[id] = {
        rule: rules[id],
        bytes: Number(f.wsprune_prune_result_deleted_bytes(r, i)),
        ageHours: f.wsprune_prune_result_deleted_age_hours(r, i),
      };
    });
    const interrupted = strings(r, 'wsprune_prune_result_interrupted_count', 'wsprune_prune_result_interrupted_name');
    const interruptedBytes = {};
    interrupted.forEach((name, i) => { interruptedBytes[name] = Number(f.wsprune_prune_result_interrupted_bytes(r, i)); });
    const unmetTargets = strings(r, 'wsprune_prune_result_unmet_target_count', 'wsprune_prune_result_unmet_target');
    const unmet = unmetTargets.map((rule, i) => ({
      rule,
      target: Number(f.wsprune_prune_result_unmet_target_value(r, i)),
      actual: Number(f.wsprune_prune_result_unmet_actual(r, i)),
    }));
    const skipped = [];
    const nSkipped = Number(f.wsprune_prune_result_skipped_count(r));
    for (let i = 0; i < nSkipped; i++) {
      skipped.push({ id: f.wsprune_prune_result_skipped_id(r, i), reason: f.wsprune_prune_result_skipped_reason(r, i) });
    }
    const errs = [];
    const nErrors = Number(f.wsprune_prune_result_error_count(r));
    for (let i = 0; i < nErrors; i++) {
      errs.push({ id: f.wsprune_prune_result_error_id(r, i), message: f.wsprune_prune_result_error_message(r, i) });
    }
    return {
      deleted,
      rules,
      skipped,
      errors: errs,
      interrupted,
      unmetTargets,
      details,
      interruptedBytes,
      unmet,
      reclaimedBytes: Number(f.wsprune_prune_result_reclaimed_bytes(r)),
      dryRun: f.wsprune_prune_result_dry_run(r),
      summary: f.wsprune_prune_result_summary(r),
    };
  } finally {
    f.wsprune_prune_result_free(r);
  }
}

/** Prunes synchronously (blocks the event loop: for scripts). */
function pruneSessionsSync(root, options) {
  checkRoot(root);
  const opts = toNative(options);
  const err = [null];
  const r = fns().wsprune_prune_sessions_with_options(root, opts, err);
  if (!r) check(fns().wsprune_error_status(err[0]), err);
  return readResult(r);
}

/** Prunes on a worker thread; resolves with the result. Events reach the logger on the JS thread. */
async function pruneSessions(root, options) {
  checkRoot(root);
  const opts = toNative(options);
  const err = [null];
  const f = fns();
  const r = await trackAsync(() => new Promise((resolve, reject) => {
    f.wsprune_prune_sessions_with_options.async(root, opts, err, (e, res) => (e ? reject(e) : resolve(res)));
  }));
  if (!r) check(f.wsprune_error_status(err[0]), err);
  return readResult(r);
}

/** Deletes one session now, whatever its age; returns the bytes freed. */
function deleteSession(root, id, options = {}) {
  checkRoot(root);
  checkId(id);
  const waitMs = options.waitMs ?? 0;
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > 2 ** 32 - 1) {
    throw new InvalidArgumentError(`wsprune: waitMs must be an integer from 0 to 4294967295, got ${waitMs}`);
  }
  if (options.force !== undefined && typeof options.force !== 'boolean') {
    throw new InvalidArgumentError('wsprune: force must be a boolean');
  }
  const flags = singleHostFlag(options.singleHost) | (options.force ? FLAG_FORCE : 0);
  const bytes = [0];
  const err = [null];
  check(fns().wsprune_session_delete_with_flags(root, id, waitMs, flags, bytes, err), err);
  return Number(bytes[0]);
}

function dateFromMicros(us) {
  return new Date(Number(BigInt(us) / 1000n));
}

/** What is known about a session: state, timestamps (null unless state is "ok"), size, inUse. */
function sessionInfo(root, id) {
  checkRoot(root);
  checkId(id);
  const d = { struct_size: koffi.sizeof(SessionDetails) };
  const err = [null];
  check(fns().wsprune_session_info(root, id, d, err), err);
  const state = STATES[d.state] ?? `state_${d.state}`;
  return {
    id,
    state,
    createdAt: state === 'ok' ? dateFromMicros(d.created_at_us) : null,
    updatedAt: state === 'ok' ? dateFromMicros(d.updated_at_us) : null,
    sizeBytes: Number(d.size_bytes),
    inUse: Boolean(d.in_use),
  };
}

/** Parses a `char *` JSON document the library handed over, and frees it. */
function takeJson(ptr) {
  try {
    return JSON.parse(koffi.decode(ptr, 'char', -1));
  } finally {
    fns().wsprune_string_free(ptr);
  }
}

function dateOrNull(text) {
  return text == null ? null : new Date(text);
}

/**
 * Every session under the root (what a prune would consider), sorted by id,
 * each measured: the objects of `wsprune ls --json` with camelCase keys and
 * Dates. sizeBytes is null when unknown (an "unreadable" session; why is in
 * `problem`). NotFoundError if the root is missing.
 */
function listSessions(root) {
  checkRoot(root);
  const json = [null];
  const err = [null];
  check(fns().wsprune_list_sessions(root, json, err), err);
  return takeJson(json[0]).map((s) => ({
    sessionId: s.session_id,
    createdAt: dateOrNull(s.created_at),
    updatedAt: dateOrNull(s.updated_at),
    ageHours: s.age_hours,
    sizeBytes: s.size_bytes,
    state: s.state,
    inUse: s.in_use,
    problem: s.problem,
    labels: s.labels ?? null,
  }));
}

/**
 * The session's metadata as stored, measuring and locking nothing:
 * `metadata` is the file's object for state "ok" (every field, timestamps as
 * the writer wrote them), else null; `problem` says why for "corrupted".
 */
function readMetadata(root, id) {
  checkRoot(root);
  checkId(id);
  const json = [null];
  const err = [null];
  check(fns().wsprune_session_read_metadata(root, id, json, err), err);
  const d = takeJson(json[0]);
  return { sessionId: d.session_id, state: d.state, metadata: d.metadata, problem: d.problem };
}

/** Writes metadata for legacy and corrupted sessions (explicit, never implicit). */
function repairSessions(root, options = {}) {
  checkRoot(root);
  const dryRun = options.dryRun ?? false;
  if (typeof dryRun !== 'boolean') throw new InvalidArgumentError('wsprune: dryRun must be a boolean');
  const f = fns();
  const count = [0];
  const json = [null];
  const err = [null];
  check(f.wsprune_repair_sessions(root, dryRun, count, json, err), err);
  const parsed = takeJson(json[0]);
  return {
    repaired: parsed.repaired.map((x) => ({ id: x.session_id, previousState: x.previous_state, updatedAt: x.updated_at })),
    errors: Object.entries(parsed.errors).map(([id, message]) => ({ id, message })),
    dryRun: parsed.dry_run,
  };
}

/**
 * Registers the sessions older writers left (the reference implementation,
 * wsprune 0.3): valid metadata is trusted once, a UUID directory without
 * metadata is dated now; corrupted metadata and locked directories are
 * skipped. `options.dryRun`: register nothing, report.
 */
function migrateSessions(root, options = {}) {
  checkRoot(root);
  const dryRun = options.dryRun ?? false;
  if (typeof dryRun !== 'boolean') throw new InvalidArgumentError('wsprune: dryRun must be a boolean');
  const json = [null];
  const err = [null];
  check(fns().wsprune_migrate_sessions(root, dryRun, json, err), err);
  const parsed = takeJson(json[0]);
  return {
    registered: parsed.registered.map((x) => ({ id: x.session_id, hadMetadata: x.had_metadata, updatedAt: x.updated_at })),
    skipped: Object.entries(parsed.skipped).map(([id, reason]) => ({ id, reason })),
    dryRun: parsed.dry_run,
  };
}

/** The library's version, e.g. "0.3.0". */
function version() {
  return fns().wsprune_version();
}

/** The path (or name, for the system loader) libwsprune was loaded from. */
const STATS_MEASURE_SIZES = 1; // WSPRUNE_STATS_MEASURE_SIZES
const STATS_IDLE_BUCKETS = 6; // WSPRUNE_STATS_IDLE_BUCKETS: 1 h, 6 h, 24 h, 7 d, 30 d, +Inf

/**
 * The root's statistics: sessions by state, leases, idle-time buckets, the
 * oldest idle time and the filesystem's capacity; with `measureSizes` also
 * the sessions' sizes (a walk of each). Reads only. See index.d.ts, WorkspaceStats.
 */
function workspaceStats(root, options = {}) {
  checkRoot(root);
  const measureSizes = options.measureSizes ?? false;
  if (typeof measureSizes !== 'boolean') throw new InvalidArgumentError('wsprune: measureSizes must be a boolean');
  const f = fns();
  const err = [null];
  const s = f.wsprune_workspace_stats(root, measureSizes ? STATS_MEASURE_SIZES : 0, err);
  if (!s) check(f.wsprune_error_status(err[0]), err);
  try {
    const sized = f.wsprune_stats_sizes_measured(s);
    const n = (v) => Number(v);
    const idle = [];
    for (let i = 0; i < STATS_IDLE_BUCKETS; i++) {
      idle.push({
        upperSeconds: f.wsprune_stats_idle_bucket_upper_seconds(s, i),
        sessions: n(f.wsprune_stats_idle_bucket_sessions(s, i)),
        bytes: sized ? n(f.wsprune_stats_idle_bucket_bytes(s, i)) : null,
      });
    }
    const oldest = f.wsprune_stats_oldest_idle_seconds(s);
    return {
      collectedAt: new Date(Math.floor(n(f.wsprune_stats_collected_at_us(s)) / 1000)),
      sessions: Object.fromEntries(STATES.map((name, i) => [name, n(f.wsprune_stats_sessions(s, i))])),
      leased: n(f.wsprune_stats_leased(s)),
      totalBytes: sized ? n(f.wsprune_stats_total_bytes(s)) : null,
      idle,
      oldestIdleSeconds: oldest >= 0 ? oldest : null,
      filesystem: {
        sizeBytes: n(f.wsprune_stats_fs_size_bytes(s)),
        availableBytes: n(f.wsprune_stats_fs_available_bytes(s)),
        inodes: n(f.wsprune_stats_fs_inodes(s)),
        freeInodes: n(f.wsprune_stats_fs_free_inodes(s)),
      },
    };
  } finally {
    f.wsprune_stats_free(s);
  }
}

function libraryPath() {
  return native().path;
}

/** The C name of a status value, e.g. statusName(3) === "WSPRUNE_STATUS_NOT_FOUND". */
function statusName(status) {
  return fns().wsprune_status_name(status);
}

/**
 * The koffi functions of every C function in include/wsprune.h, by C name:
 * for what the API above does not wrap. The C ownership rules apply as
 * written in the header.
 */
function nativeFunctions() {
  return { ...fns() };
}

/**
 * Whether the binding has C function `name` (every function of the header:
 * a library that lacks one is refused when it is loaded).
 */
function hasNativeFunction(name) {
  return typeof fns()[name] === 'function';
}

module.exports = {
  createSession,
  openSession,
  pinSession,
  unpinSession,
  setSessionTtl,
  touchSession,
  acquire,
  Lease,
  pruneSessions,
  pruneSessionsSync,
  deleteSession,
  sessionInfo,
  listSessions,
  workspaceStats,
  readMetadata,
  repairSessions,
  migrateSessions,
  setLabels,
  setLogger,
  defaultPruneOptions,
  version,
  libraryPath,
  statusName,
  hasNativeFunction,
  nativeFunctions,
  STATUS_CODES: errors.STATUS_CODES,
  WsPruneError: errors.WsPruneError,
  InvalidArgumentError: errors.InvalidArgumentError,
  InvalidSessionIdError: errors.InvalidSessionIdError,
  NotFoundError: errors.NotFoundError,
  AlreadyExistsError: errors.AlreadyExistsError,
  BusyError: errors.BusyError,
  IoError: errors.IoError,
  PanicError: errors.PanicError,
  WsPruneLibraryError: errors.WsPruneLibraryError,
};
