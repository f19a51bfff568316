'use strict';
// Prune options: JS object -> wsprune_prune_options, starting from the
// library's own defaults (wsprune_prune_options_init), so no default is
// decided here (docs/contract.md).

const { native, koffi, PruneOptions, FLAG_SINGLE_HOST } = require('./native.cjs');
const { InvalidArgumentError } = require('./errors.cjs');

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 2 ** 32 - 1;
const CAPS = {
  maxTotalBytes: 'max_total_bytes',
  maxSessions: 'max_sessions',
  minFreeBytes: 'min_free_bytes',
  maxDeletions: 'max_deletions',
  maxSessionsPerOwner: 'max_sessions_per_owner',
  maxBytesPerOwner: 'max_bytes_per_owner',
};
// String options, borrowed by the struct for the call.
const STRINGS = {
  labelSelector: 'label_selector',
  perOwner: 'per_owner',
};
const PERCENTS = {
  minFreePercent: 'min_free_percent',
  highWatermarkPercent: 'high_watermark_percent',
  lowWatermarkPercent: 'low_watermark_percent',
  highInodeWatermarkPercent: 'high_inode_watermark_percent',
  lowInodeWatermarkPercent: 'low_inode_watermark_percent',
};
const KNOWN = new Set([
  'olderThanHours',
  'minAgeHours',
  'dryRun',
  'jobs',
  'lockTimeoutMs',
  'singleHost',
  'asOf',
  ...Object.keys(CAPS),
  ...Object.keys(PERCENTS),
  ...Object.keys(STRINGS),
]);

/** The library's defaults, as a fresh wsprune_prune_options object. */
function libraryDefaults() {
  const opts = {};
  const status = native().fns.wsprune_prune_options_init(opts, koffi.sizeof(PruneOptions));
  if (status !== 0) throw new InvalidArgumentError(`wsprune: wsprune_prune_options_init failed (status ${status})`);
  return opts;
}

function hours(name, v) {
  // NaN, negative and infinite numbers go to the library, which refuses them
  // with its own message; only a non-number is refused here.
  if (typeof v !== 'number') throw new InvalidArgumentError(`wsprune: ${name} must be a number of hours, got ${typeof v}`);
  return v;
}

function cap(name, v) {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`wsprune: ${name} must be a positive integer, got ${v}`);
    if (!Number.isSafeInteger(v)) throw new InvalidArgumentError(`wsprune: ${name} ${v} is beyond 2^53: pass a BigInt`);
  } else if (typeof v === 'bigint') {
    if (v < 0n || v > U64_MAX) throw new InvalidArgumentError(`wsprune: ${name} ${v} is out of the uint64 range`);
  } else {
    throw new InvalidArgumentError(`wsprune: ${name} must be a positive integer, got ${typeof v}`);
  }
  // 0 is unset in C; JS can tell 0 from absent, so a 0 here is a mistake.
  if (v == 0) throw new InvalidArgumentError(`wsprune: ${name}: 0 is not a cap (omit it to turn the rule off)`);
  return v;
}

function percent(name, v) {
  // The range ((0, 100], low <= high) is the library's to check; 0 is unset
  // in C, and JS can tell 0 from absent, so a 0 here is a mistake.
  if (typeof v !== 'number') throw new InvalidArgumentError(`wsprune: ${name} must be a percentage, got ${typeof v}`);
  if (v === 0) throw new InvalidArgumentError(`wsprune: ${name}: 0% is not a rule (omit it to turn the rule off)`);
  return v;
}

function text(name, v) {
  // What the string means (an empty selector is refused) is the library's to
  // check; what a C string cannot carry as it is is refused here.
  if (typeof v !== 'string' || v.includes('\0') || !v.isWellFormed()) {
    throw new InvalidArgumentError(`wsprune: ${name} must be a string without NUL or lone surrogates`);
  }
  return v;
}

function u32(name, v) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > U32_MAX) {
    throw new InvalidArgumentError(`wsprune: ${name} must be an integer from 0 to ${U32_MAX}, got ${v}`);
  }
  return v;
}

/** Converts a JS options object (see index.d.ts, PruneOptions) to the C struct. */
function toNative(options) {
  if (options == null) options = {};
  if (typeof options !== 'object') throw new InvalidArgumentError('wsprune: prune options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidArgumentError(`wsprune: unknown prune option ${JSON.stringify(key)}`);
  }
  const o = libraryDefaults();
  const { olderThanHours, minAgeHours, dryRun, jobs, lockTimeoutMs } = options;
  if (olderThanHours === null) {
    o.use_older_than = false;
  } else if (olderThanHours !== undefined) {
    o.use_older_than = true;
    o.older_than_hours = hours('olderThanHours', olderThanHours);
  }
  if (minAgeHours !== undefined) o.min_age_hours = hours('minAgeHours', minAgeHours);
  for (const [js, c] of Object.entries(CAPS)) {
    if (options[js] !== undefined) o[c] = cap(js, options[js]);
  }
  for (const [js, c] of Object.entries(PERCENTS)) {
    if (options[js] !== undefined) o[c] = percent(js, options[js]);
  }
  for (const [js, c] of Object.entries(STRINGS)) {
    if (options[js] !== undefined) o[c] = text(js, options[js]);
  }
  if (dryRun !== undefined) {
    if (typeof dryRun !== 'boolean') throw new InvalidArgumentError('wsprune: dryRun must be a boolean');
    o.dry_run = dryRun;
  }
  if (jobs !== undefined) o.jobs = u32('jobs', jobs);
  if (lockTimeoutMs !== undefined) o.lock_timeout_ms = u32('lockTimeoutMs', lockTimeoutMs);
  o.flags = singleHostFlag(options.singleHost);
  if (options.asOf !== undefined) o.as_of_us = micros('asOf', options.asOf);
  return o;
}

/**
 * A Date as the C ABI takes a time: microseconds since the Unix epoch (0
 * is "none" in C, so the epoch itself becomes 1 µs later).
 */
function micros(name, d) {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) {
    throw new InvalidArgumentError(`wsprune: ${name} must be a valid Date`);
  }
  const us = BigInt(d.getTime()) * 1000n;
  return us === 0n ? 1n : us;
}

/** The WSPRUNE_FLAG_* bits of a `singleHost` option (undefined: false). */
function singleHostFlag(singleHost) {
  if (singleHost === undefined) return 0;
  if (typeof singleHost !== 'boolean') throw new InvalidArgumentError('wsprune: singleHost must be a boolean');
  return singleHost ? FLAG_SINGLE_HOST : 0;
}

/** The library's defaults in the binding's vocabulary. */
function defaultPruneOptions() {
  const o = libraryDefaults();
  return {
    olderThanHours: o.use_older_than ? o.older_than_hours : null,
    minAgeHours: o.min_age_hours,
    dryRun: o.dry_run,
    jobs: o.jobs,
    lockTimeoutMs: o.lock_timeout_ms,
  };
}

module.exports = { toNative, defaultPruneOptions, singleHostFlag, micros };
