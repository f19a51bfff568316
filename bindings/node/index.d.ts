// Type declarations of the wsprune Node.js binding (ESM and CommonJS).

/** Lowercase status names, indexed by the C status value (docs/contract.md). */
export type StatusCode =
  | 'ok' | 'invalid_argument' | 'invalid_session_id' | 'not_found'
  | 'already_exists' | 'busy' | 'io' | 'panic';
export const STATUS_CODES: readonly StatusCode[];

/** A failed library call: `code` is the status name, `status` the C value. */
export class WsPruneError extends Error {
  readonly code: StatusCode | `status_${number}`;
  readonly status: number;
  constructor(message: string, code: string, status: number);
}
export class InvalidArgumentError extends WsPruneError { constructor(message: string); readonly code: 'invalid_argument'; }
export class InvalidSessionIdError extends WsPruneError { constructor(message: string); readonly code: 'invalid_session_id'; }
export class NotFoundError extends WsPruneError { constructor(message: string); readonly code: 'not_found'; }
export class AlreadyExistsError extends WsPruneError { constructor(message: string); readonly code: 'already_exists'; }
export class BusyError extends WsPruneError { constructor(message: string); readonly code: 'busy'; }
export class IoError extends WsPruneError { constructor(message: string); readonly code: 'io'; }
export class PanicError extends WsPruneError { constructor(message: string); readonly code: 'panic'; }

/** libwsprune could not be loaded, is not libwsprune, or is older than the binding (the message names the missing functions). */
export class WsPruneLibraryError extends Error {
  readonly code: 'ERR_WSPRUNE_LIBRARY';
  constructor(message: string);
}

/** Creates a session (a new random UUID when `id` is omitted) and returns its id. */
/** Session options; every key absent is the library's default (dirMode 0o700, adopt false, no reserved name). */
export interface SessionOptions {
  /** Mode of a new session directory before the umask: permission bits with rwx for the owner. */
  dirMode?: number;
  /** openSession only: adopt a directory that is neither registered nor holds valid metadata. */
  adopt?: boolean;
  /** More names that are never sessions, besides site-packages. */
  reserved?: string[];
  /** The session's own idle timeout, in whole seconds (>= 1): a prune deletes it once idle this long,
   * whatever its age rule. Given to an open of an existing session, with expiresAt it replaces its TTL. */
  idleTtlSeconds?: number;
  /** The session's absolute expiry. */
  expiresAt?: Date;
  /** Labels ({ owner: "alice" }): a new session gets them; an open of an existing one sets them, keeping its others. */
  labels?: Record<string, string>;
}
/** Pins a session: no prune rule deletes it while pinned (until `until`, or unpinSession). */
export function pinSession(root: string, id: string, options?: { until?: Date }): void;
/** Removes a session's pin. */
export function unpinSession(root: string, id: string): void;
/** Replaces a session's own TTL; neither option removes it. */
export function setSessionTtl(root: string, id: string, options?: { idleTtlSeconds?: number; expiresAt?: Date }): void;
export function createSession(root: string, id?: string | null, options?: Omit<SessionOptions, 'adopt'>): string;
/** Opens session `id`, creating it if missing (a legacy directory gets fresh metadata). */
export function openSession(root: string, id?: string | null, options?: SessionOptions): { id: string; created: boolean };
export type TouchOutcome = 'updated' | 'legacy' | 'corrupted';
/** Sets updated_at to now; legacy and corrupted metadata are not errors. Returns what it did. */
export function touchSession(root: string, id: string): TouchOutcome;
/** Takes a shared lease on the session; a prune skips it as "in_use". */
export function acquire(root: string, id: string): Lease;

export class Lease {
  readonly root: string;
  readonly sessionId: string;
  /** Whether release() has been called. */
  readonly released: boolean;
  /** Releases (touching first if asked); false if it was already released. */
  release(touch?: boolean): boolean;
  /** What release(true) did; null before, or after release(false). */
  readonly touchOutcome: TouchOutcome | null;
  /** Present where the runtime defines Symbol.dispose: releases without touching. */
  [Symbol.dispose]?(): void;
}

export interface PruneOptions {
  /** Age rule threshold in hours; undefined: the library default (24 h); null: the age rule is off. */
  olderThanHours?: number | null;
  /** Floor for the capacity rules, in hours; undefined: the library default; 0: no floor. */
  minAgeHours?: number;
  /** Capacity rules and deletion limit: omit to turn off; 0 is an InvalidArgumentError. */
  maxTotalBytes?: number | bigint;
  maxSessions?: number | bigint;
  minFreeBytes?: number | bigint;
  maxDeletions?: number | bigint;
  /** Evict until this percentage of the filesystem is available, in (0, 100]; omit to turn off; 0 is an
   * InvalidArgumentError. One rule with minFreeBytes (the larger target wins). */
  minFreePercent?: number;
  /** Once the filesystem is this full (percent of bytes used, as the prune begins), evict least recently
   * used sessions down to lowWatermarkPercent; below it nothing. In (0, 100]; omit to turn off. */
  highWatermarkPercent?: number;
  /** What a crossed highWatermarkPercent evicts down to, in (0, high]; undefined: the high watermark. */
  lowWatermarkPercent?: number;
  /** As highWatermarkPercent, for the filesystem's inodes. */
  highInodeWatermarkPercent?: number;
  /** As lowWatermarkPercent, for the filesystem's inodes. */
  lowInodeWatermarkPercent?: number;
  dryRun?: boolean;
  /** Sessions handled concurrently; 0 or undefined: automatic. */
  jobs?: number;
  /** Wait for another prune of the root, in ms; undefined: the library default (30 s); 0: do not wait. */
  lockTimeoutMs?: number;
  /** Declares that no other host uses the root: a root on NFS, SMB, 9p or FUSE is pruned (with a
   * "workspace.shared_filesystem" warning event) instead of an InvalidArgumentError. Default false. */
  singleHost?: boolean;
  /** Only sessions whose labels match are candidates for any rule (and count towards maxTotalBytes and
   * maxSessions): "owner=alice,tier!=pro", "gpu", "!spot" (docs/contract.md, "Labels"); undefined: every
   * session; "" is an InvalidArgumentError. */
  labelSelector?: string;
  /** The label naming a session's owner, for maxSessionsPerOwner and maxBytesPerOwner (e.g. "owner"). */
  perOwner?: string;
  /** Each owner keeps at most this many sessions, its least recently used going first; needs perOwner. */
  maxSessionsPerOwner?: number | bigint;
  /** Each owner's least recently used sessions go until its sessions take at most this many bytes. */
  maxBytesPerOwner?: number | bigint;
  /** The look-ahead (dryRun only, else InvalidArgumentError): what a prune at this time would delete. */
  asOf?: Date;
}

export type Rule =
  | 'older_than'
  | 'max_total_bytes'
  | 'max_sessions'
  | 'min_free_bytes'
  | 'interrupted'
  | 'watermark'
  | 'inode_watermark'
  | 'max_sessions_per_owner'
  | 'max_bytes_per_owner'
  | 'ttl'
  | (string & {});
export type SkipReason = 'missing_metadata' | 'corrupted_metadata' | 'corrupted_timestamp' | 'in_use' | 'pinned' | (string & {});

export interface PruneResult {
  /** Deleted (in a dry run: would be) session ids. */
  deleted: string[];
  /** The rule that selected each deleted session. */
  rules: Record<string, Rule>;
  skipped: { id: string; reason: SkipReason }[];
  /** Sessions that failed; the prune carried on. */
  errors: { id: string; message: string }[];
  /** Leftover trash directories of interrupted deletions finished now. */
  interrupted: string[];
  /** Capacity targets still not met. */
  unmetTargets: string[];
  /** What the prune recorded about each deleted session: its rule, bytes freed and idle age (since 0.4.0). */
  details: Record<string, { rule: Rule; bytes: number; ageHours: number }>;
  /** Bytes each finished trash directory freed (since 0.4.0). */
  interruptedBytes: Record<string, number>;
  /** Target and actual value of each of unmetTargets, same order (since 0.4.0). */
  unmet: { rule: Rule; target: number; actual: number }[];
  reclaimedBytes: number;
  dryRun: boolean;
  /** The library's human summary, e.g. "Pruned 2 sessions (1 skipped, 0 errors), reclaimed 1.4 MB". */
  summary: string;
}

/** Prunes on a worker thread (the event loop keeps running). */
export function pruneSessions(root: string, options?: PruneOptions): Promise<PruneResult>;
/** Prunes on the calling thread (blocks the event loop: for scripts). */
export function pruneSessionsSync(root: string, options?: PruneOptions): PruneResult;
/** The library's defaults, read from wsprune_prune_options_init. */
export function defaultPruneOptions(): Required<Pick<PruneOptions, 'minAgeHours' | 'dryRun' | 'jobs' | 'lockTimeoutMs'>> & { olderThanHours: number | null };

/** Deletes one session now, whatever its age; returns the bytes freed. BusyError if still leased after waitMs. */
/** One idle-time bucket: sessions idle for at most `upperSeconds` (Infinity for the last), not cumulative. */
export interface IdleBucket { upperSeconds: number; sessions: number; bytes: number | null; }
/** A root's statistics (workspaceStats). Byte counts are null unless `measureSizes`. */
export interface WorkspaceStats {
  collectedAt: Date;
  sessions: { ok: number; legacy: number; corrupted: number; unreadable: number };
  leased: number;
  totalBytes: number | null;
  /** Sessions whose last use is known, by idle time: at most 1 h, 6 h, 24 h, 7 d, 30 d, and longer. */
  idle: IdleBucket[];
  oldestIdleSeconds: number | null;
  filesystem: { sizeBytes: number; availableBytes: number; inodes: number; freeInodes: number };
}
/** Gathers a root's statistics (reads only); `measureSizes` also walks every session to sum its size. */
export function workspaceStats(root: string, options?: { measureSizes?: boolean }): WorkspaceStats;
export function deleteSession(root: string, id: string, options?: { waitMs?: number; singleHost?: boolean; force?: boolean }): number;

export type SessionState = 'ok' | 'legacy' | 'corrupted' | 'unreadable';
export interface SessionInfo {
  id: string;
  state: SessionState;
  /** null unless state is "ok". */
  createdAt: Date | null;
  updatedAt: Date | null;
  sizeBytes: number;
  inUse: boolean;
}
export function sessionInfo(root: string, id: string): SessionInfo;

/** One session of listSessions (the form of `wsprune ls --json`). */
export interface SessionListing {
  sessionId: string;
  /** null unless state is "ok". */
  createdAt: Date | null;
  updatedAt: Date | null;
  /** Hours since updatedAt; null when it is unknown. */
  ageHours: number | null;
  /** null when unknown (state "unreadable"). */
  sizeBytes: number | null;
  state: SessionState;
  inUse: boolean;
  /** Why the session is corrupted or unreadable; null otherwise. */
  problem: string | null;
  /** Its labels, from its host-owned record ({} when none); null when they cannot be read. */
  labels: Record<string, string> | null;
}
/** Every session under the root, sorted by id, each measured. NotFoundError if the root is missing. */
export function listSessions(root: string): SessionListing[];

/** A session's metadata as stored (readMetadata). */
export interface StoredMetadata {
  /** The name the session was found under. */
  sessionId: string;
  state: 'ok' | 'legacy' | 'corrupted';
  /** The file's object with every field as stored (timestamps as written) when state is "ok"; else null. */
  metadata: Record<string, unknown> | null;
  /** Why, when state is "corrupted"; else null. */
  problem: string | null;
}
/** Reads a session's metadata as stored, measuring and locking nothing. NotFoundError if missing. */
export function readMetadata(root: string, id: string): StoredMetadata;

export interface RepairResult {
  repaired: { id: string; previousState: string; updatedAt: string }[];
  errors: { id: string; message: string }[];
  dryRun: boolean;
}
export function repairSessions(root: string, options?: { dryRun?: boolean }): RepairResult;
export interface MigrateResult {
  registered: { id: string; hadMetadata: boolean; updatedAt: string }[];
  skipped: { id: string; reason: string }[];
  dryRun: boolean;
}
export function migrateSessions(root: string, options?: { dryRun?: boolean }): MigrateResult;
/** Sets ("key=value") and removes ("key-") labels of a registered session, in order; returns its labels. */
export function setLabels(root: string, id: string, changes: string[]): Record<string, string>;

export type Level = 'debug' | 'info' | 'warning' | 'error';
export interface WsPruneEvent {
  level: Level;
  name: string;
  fields: Record<string, unknown>;
}
/** One process-wide receiver of the library's events; null or undefined turns them off. */
export function setLogger(fn: ((event: WsPruneEvent) => void) | null | undefined): void;

export function version(): string;
export function libraryPath(): string;
export function statusName(status: number): string;
export function hasNativeFunction(name: string): boolean;
/** The koffi function of every C function, by C name. */
export function nativeFunctions(): Record<string, (...args: any[]) => any>;

declare const wsprune: {
  createSession: typeof createSession;
  openSession: typeof openSession;
  pinSession: typeof pinSession;
  unpinSession: typeof unpinSession;
  setSessionTtl: typeof setSessionTtl;
  touchSession: typeof touchSession;
  acquire: typeof acquire;
  Lease: typeof Lease;
  pruneSessions: typeof pruneSessions;
  pruneSessionsSync: typeof pruneSessionsSync;
  deleteSession: typeof deleteSession;
  sessionInfo: typeof sessionInfo;
  listSessions: typeof listSessions;
  workspaceStats: typeof workspaceStats;
  readMetadata: typeof readMetadata;
  repairSessions: typeof repairSessions;
  migrateSessions: typeof migrateSessions;
  setLabels: typeof setLabels;
  setLogger: typeof setLogger;
  defaultPruneOptions: typeof defaultPruneOptions;
  version: typeof version;
  libraryPath: typeof libraryPath;
  statusName: typeof statusName;
  hasNativeFunction: typeof hasNativeFunction;
  nativeFunctions: typeof nativeFunctions;
  STATUS_CODES: typeof STATUS_CODES;
  WsPruneError: typeof WsPruneError;
  InvalidArgumentError: typeof InvalidArgumentError;
  InvalidSessionIdError: typeof InvalidSessionIdError;
  NotFoundError: typeof NotFoundError;
  AlreadyExistsError: typeof AlreadyExistsError;
  BusyError: typeof BusyError;
  IoError: typeof IoError;
  PanicError: typeof PanicError;
  WsPruneLibraryError: typeof WsPruneLibraryError;
};
export default wsprune;
