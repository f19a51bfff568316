'use strict';
// Finding libwsprune and declaring every C function of include/wsprune.h
// through koffi (prebuilt binaries: no compiler needed by users).

const path = require('node:path');
const fs = require('node:fs');
const koffi = require('koffi');
const { WsPruneLibraryError } = require('./errors.cjs');

const LIB_FILE = process.platform === 'darwin' ? 'libwsprune.dylib'
  : process.platform === 'win32' ? 'wsprune.dll' : 'libwsprune.so';
// What the system loader is asked for: the SONAME first (what `make install`
// provides), then the development name.
const SYSTEM_NAMES = process.platform === 'linux' ? ['libwsprune.so.0', 'libwsprune.so'] : [LIB_FILE];

/** Candidate paths, in lookup order: WSPRUNE_LIBRARY, the package directory, the system loader. */
function candidates() {
  const list = [];
  if (process.env.WSPRUNE_LIBRARY) list.push({ from: 'WSPRUNE_LIBRARY', path: process.env.WSPRUNE_LIBRARY });
  const pkgDir = path.resolve(__dirname, '..');
  list.push({ from: 'package directory', path: path.join(pkgDir, LIB_FILE) });
  for (const name of SYSTEM_NAMES) list.push({ from: 'system loader', path: name });
  return list;
}

function loadLibrary() {
  const tried = [];
  for (const c of candidates()) {
    // A path (not a bare name) that does not exist: skip without asking dlopen.
    if (c.path.includes('/') && !fs.existsSync(c.path)) {
      tried.push(`${c.path} (${c.from}): no such file`);
      if (c.from === 'WSPRUNE_LIBRARY') break; // an explicit choice is never silently replaced
      continue;
    }
    let lib;
    try {
      lib = koffi.load(c.path);
    } catch (e) {
      tried.push(`${c.path} (${c.from}): ${String(e.message).split('\n')[0]}`);
      if (c.from === 'WSPRUNE_LIBRARY') break;
      continue;
    }
    try {
      return { lib, path: c.path, fns: declare(lib) };
    } catch (e) {
      lib.unload?.();
      tried.push(`${c.path} (${c.from}): ${String(e.message).split('\n')[0]}`);
      if (c.from === 'WSPRUNE_LIBRARY') break;
    }
  }
  throw new WsPruneLibraryError(
    'wsprune: cannot load libwsprune; tried:\n  ' + tried.join('\n  ') +
    '\nInstall it (make install PREFIX=...) and set WSPRUNE_LIBRARY to the .so, ' +
    'or add its directory to LD_LIBRARY_PATH.');
}

// Types shared by the declarations.
const wsprune_error = koffi.opaque('wsprune_error');
const wsprune_lease = koffi.opaque('wsprune_lease');
const wsprune_prune_result = koffi.opaque('wsprune_prune_result');
const wsprune_stats = koffi.opaque('wsprune_stats');
koffi.alias('wsprune_status', 'int');
koffi.alias('wsprune_level', 'int');

const PruneOptions = koffi.struct('wsprune_prune_options', {
  struct_size: 'size_t',
  older_than_hours: 'double',
  min_age_hours: 'double',
  max_total_bytes: 'uint64_t',
  max_sessions: 'uint64_t',
  min_free_bytes: 'uint64_t',
  max_deletions: 'uint64_t',
  jobs: 'uint32_t',
  lock_timeout_ms: 'uint32_t',
  use_older_than: 'bool',
  dry_run: 'bool',
  flags: 'uint64_t',
  min_free_percent: 'double',
  high_watermark_percent: 'double',
  low_watermark_percent: 'double',
  high_inode_watermark_percent: 'double',
  low_inode_watermark_percent: 'double',
  label_selector: 'const char *',
  per_owner: 'const char *',
  max_sessions_per_owner: 'uint64_t',
  max_bytes_per_owner: 'uint64_t',
  as_of_us: 'int64_t',
});

/** wsprune_prune_options.flags / wsprune_session_delete_with_flags: no other host uses the root. */
const FLAG_SINGLE_HOST = 1;
/** wsprune_session_delete_with_flags: delete the session even if it is pinned. */
const FLAG_FORCE = 2;

const SessionDetails = koffi.struct('wsprune_session_details', {
  struct_size: 'size_t',
  created_at_us: 'int64_t',
  updated_at_us: 'int64_t',
  size_bytes: 'uint64_t',
  state: 'int32_t',
  in_use: 'bool',
});

const SessionOptions = koffi.struct('wsprune_session_options', {
  struct_size: 'size_t',
  dir_mode: 'uint32_t',
  adopt: 'bool',
  reserved: 'const char **',
  reserved_count: 'size_t',
  idle_ttl_seconds: 'uint64_t',
  expires_at_us: 'int64_t',
  labels: 'const char **',
  labels_count: 'size_t',
});

const LogFn = koffi.proto('void wsprune_log_fn(void *user_data, wsprune_level level, const char *event, const char *fields_json)');

// Every function of include/wsprune.h, as koffi prototypes. Owned `char *`
// results are declared `void *` so that the binding keeps the pointer to free.
// test/header.test.mjs checks this list against the header.
const PROTOTYPES = [
  'const char *wsprune_status_name(int status)',
  'const char *wsprune_version()',
  'wsprune_status wsprune_error_status(const wsprune_error *error)',
  'const char *wsprune_error_message(const wsprune_error *error)',
  'void wsprune_error_free(wsprune_error *error)',
  'void wsprune_string_free(void *s)',
  'wsprune_status wsprune_session_create(const char *workspace_root, const char *session_id, _Out_ uint8_t *out_id, size_t out_id_len, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_touch(const char *workspace_root, const char *session_id, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_acquire(const char *workspace_root, const char *session_id, _Out_ wsprune_lease **out_lease, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_lease_release(wsprune_lease *lease, bool touch, _Out_ wsprune_error **error)',
  'wsprune_prune_result *wsprune_prune_sessions(const char *workspace_root, double older_than_hours, bool dry_run, _Out_ wsprune_error **error)',
  'size_t wsprune_prune_result_deleted_count(const wsprune_prune_result *r)',
  'const char *wsprune_prune_result_deleted_id(const wsprune_prune_result *r, size_t i)',
  'size_t wsprune_prune_result_skipped_count(const wsprune_prune_result *r)',
  'const char *wsprune_prune_result_skipped_id(const wsprune_prune_result *r, size_t i)',
  'const char *wsprune_prune_result_skipped_reason(const wsprune_prune_result *r, size_t i)',
  'size_t wsprune_prune_result_error_count(const wsprune_prune_result *r)',
  'const char *wsprune_prune_result_error_id(const wsprune_prune_result *r, size_t i)',
  'const char *wsprune_prune_result_error_message(const wsprune_prune_result *r, size_t i)',
  'uint64_t wsprune_prune_result_reclaimed_bytes(const wsprune_prune_result *r)',
  'bool wsprune_prune_result_dry_run(const wsprune_prune_result *r)',
  'const char *wsprune_prune_result_summary(const wsprune_prune_result *r)',
  'void *wsprune_prune_result_to_json(const wsprune_prune_result *r)',
  'void wsprune_prune_result_free(wsprune_prune_result *r)',
  'void wsprune_set_log_callback(wsprune_log_fn *cb, void *user_data)',
  'wsprune_status wsprune_prune_options_init(_Inout_ wsprune_prune_options *opts, size_t size)',
  'wsprune_prune_result *wsprune_prune_sessions_with_options(const char *workspace_root, const wsprune_prune_options *options, _Out_ wsprune_error **error)',
  'const char *wsprune_prune_result_deleted_rule(const wsprune_prune_result *r, size_t i)',
  'wsprune_status wsprune_session_delete(const char *workspace_root, const char *session_id, uint32_t wait_ms, _Out_ uint64_t *out_reclaimed_bytes, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_delete_with_flags(const char *workspace_root, const char *session_id, uint32_t wait_ms, uint64_t flags, _Out_ uint64_t *out_reclaimed_bytes, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_pin(const char *workspace_root, const char *session_id, int64_t until_us, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_unpin(const char *workspace_root, const char *session_id, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_set_ttl(const char *workspace_root, const char *session_id, uint64_t idle_ttl_seconds, int64_t expires_at_us, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_info(const char *workspace_root, const char *session_id, _Inout_ wsprune_session_details *out, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_repair_sessions(const char *workspace_root, bool dry_run, _Out_ size_t *out_repaired, _Out_ void **out_json, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_open(const char *workspace_root, const char *session_id, _Out_ uint8_t *out_id, size_t out_id_len, _Out_ bool *out_created, _Out_ wsprune_error **error)',
  'size_t wsprune_prune_result_unmet_target_count(const wsprune_prune_result *r)',
  'const char *wsprune_prune_result_unmet_target(const wsprune_prune_result *r, size_t i)',
  'size_t wsprune_prune_result_interrupted_count(const wsprune_prune_result *r)',
  'const char *wsprune_prune_result_interrupted_name(const wsprune_prune_result *r, size_t i)',
  'wsprune_status wsprune_list_sessions(const char *workspace_root, _Out_ void **out_json, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_read_metadata(const char *workspace_root, const char *session_id, _Out_ void **out_json, _Out_ wsprune_error **error)',
  'uint64_t wsprune_prune_result_deleted_bytes(const wsprune_prune_result *r, size_t i)',
  'double wsprune_prune_result_deleted_age_hours(const wsprune_prune_result *r, size_t i)',
  'uint64_t wsprune_prune_result_interrupted_bytes(const wsprune_prune_result *r, size_t i)',
  'uint64_t wsprune_prune_result_unmet_target_value(const wsprune_prune_result *r, size_t i)',
  'uint64_t wsprune_prune_result_unmet_actual(const wsprune_prune_result *r, size_t i)',
  'wsprune_status wsprune_session_touch_outcome(const char *workspace_root, const char *session_id, _Out_ int32_t *out_outcome, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_lease_release_outcome(wsprune_lease *lease, bool touch, _Out_ int32_t *out_outcome, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_options_init(_Inout_ wsprune_session_options *opts, size_t size)',
  'wsprune_status wsprune_session_create_with_options(const char *workspace_root, const char *session_id, const wsprune_session_options *opts, _Out_ uint8_t *out_id, size_t out_id_len, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_open_with_options(const char *workspace_root, const char *session_id, const wsprune_session_options *opts, _Out_ uint8_t *out_id, size_t out_id_len, _Out_ bool *out_created, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_migrate_sessions(const char *workspace_root, bool dry_run, _Out_ void **out_json, _Out_ wsprune_error **error)',
  'wsprune_status wsprune_session_set_labels(const char *workspace_root, const char *session_id, const char * const *changes, size_t changes_count, _Out_ void **out_json, _Out_ wsprune_error **error)',
  'wsprune_stats *wsprune_workspace_stats(const char *workspace_root, uint64_t flags, _Out_ wsprune_error **error)',
  'uint64_t wsprune_stats_sessions(const wsprune_stats *s, int state)',
  'uint64_t wsprune_stats_leased(const wsprune_stats *s)',
  'bool wsprune_stats_sizes_measured(const wsprune_stats *s)',
  'uint64_t wsprune_stats_total_bytes(const wsprune_stats *s)',
  'double wsprune_stats_idle_bucket_upper_seconds(const wsprune_stats *s, size_t i)',
  'uint64_t wsprune_stats_idle_bucket_sessions(const wsprune_stats *s, size_t i)',
  'uint64_t wsprune_stats_idle_bucket_bytes(const wsprune_stats *s, size_t i)',
  'double wsprune_stats_oldest_idle_seconds(const wsprune_stats *s)',
  'uint64_t wsprune_stats_fs_size_bytes(const wsprune_stats *s)',
  'uint64_t wsprune_stats_fs_available_bytes(const wsprune_stats *s)',
  'uint64_t wsprune_stats_fs_inodes(const wsprune_stats *s)',
  'uint64_t wsprune_stats_fs_free_inodes(const wsprune_stats *s)',
  'int64_t wsprune_stats_collected_at_us(const wsprune_stats *s)',
  'void wsprune_stats_free(wsprune_stats *s)',
];

function nameOf(proto) {
  return /([A-Za-z_0-9]+)\(/.exec(proto)[1];
}

// Declares every prototype. An older libwsprune lacks the newer functions:
// that is one error naming all of them and the library's version (koffi's
// own message names only the first, and says nothing of versions).
function declare(lib) {
  const fns = {};
  const missing = [];
  for (const p of PROTOTYPES) {
    try {
      fns[nameOf(p)] = lib.func(p);
    } catch {
      missing.push(nameOf(p));
    }
  }
  if (!fns.wsprune_version) throw new Error('not libwsprune (no wsprune_version)');
  if (missing.length > 0) {
    throw new Error(`libwsprune ${fns.wsprune_version()} lacks ${missing.join(', ')}: install a newer libwsprune`);
  }
  return fns;
}

let loaded = null;

/** The loaded library ({lib, path, fns}); loads it on first use. */
function native() {
  if (!loaded) loaded = loadLibrary();
  return loaded;
}

module.exports = {
  koffi,
  native,
  candidates,
  PROTOTYPES,
  nameOf,
  PruneOptions,
  SessionOptions,
  SessionDetails,
  LogFn,
  FLAG_SINGLE_HOST,
  FLAG_FORCE,
  types: { wsprune_error, wsprune_lease, wsprune_prune_result, wsprune_stats },
};
