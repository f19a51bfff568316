//! Conformance runner for the C ABI (tests/conformance/PROTOCOL.md): reads a
//! JSON request per stdin line, answers a JSON line, calling only the
//! functions `include/wsprune.h` declares.
//!
//! The functions are looked up with `dlopen`/`dlsym` in the shared library
//! `$WSPRUNE_LIBRARY` (the installed `libwsprune.so`), not linked from the
//! crate: the runner then exercises exactly the exported symbols a C program
//! links against. The structs are the crate's `ffi` definitions, from
//! which the header is generated (so their layout is the header's).
//!
//! Mapping: an absent option keeps `wsprune_prune_options_init`'s value;
//! `older_than_hours: null` is `use_older_than = false`. The touch outcome
//! (legacy, corrupted, updated) comes from `wsprune_session_touch_outcome`
//! and `wsprune_lease_release_outcome`, never from events.
//!
//! The session options (`dir_mode`, `adopt`, `reserved`) go through
//! `wsprune_session_options` and the `_with_options` calls when a request
//! has any of them, else through `wsprune_session_create`/`_open`.
//!
//! `label_selector` and `per_owner` are C strings the struct borrows (absent: NULL).
//!
//! Times (`until`, `expires_at`, `as_of`) arrive as RFC 3339 strings and go
//! to C as microseconds since the Unix epoch (0: none); `idle_ttl_seconds`
//! into `wsprune_session_options.idle_ttl_seconds` or
//! `wsprune_session_set_ttl`; `force` is `WSPRUNE_FLAG_FORCE`.
//!
//! Not expressible on this surface:
//! - an explicit 0 for `max_total_bytes`, `max_sessions`, `min_free_bytes`,
//!   `max_deletions` and the percentages (`min_free_percent`, the
//!   watermarks): the struct's zero value is "unset" (docs/contract.md);
//! - an idle TTL of 0 (`idle_ttl_seconds: 0`): 0 is "none" in C.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::{BufRead, Write};
use std::sync::Mutex;

use serde_json::{json, Map, Value};
use wsprune::ffi::{wsprune_prune_options, wsprune_session_details, wsprune_session_options};

type Err = *mut c_void;
type LogFn = extern "C" fn(*mut c_void, c_int, *const c_char, *const c_char);

/// The C ABI's functions, resolved once from the shared library.
struct Api {
    error_message: unsafe extern "C" fn(Err) -> *const c_char,
    error_free: unsafe extern "C" fn(Err),
    string_free: unsafe extern "C" fn(*mut c_char),
    status_name: unsafe extern "C" fn(c_int) -> *const c_char,
    pin: unsafe extern "C" fn(*const c_char, *const c_char, i64, *mut Err) -> c_int,
    unpin: unsafe extern "C" fn(*const c_char, *const c_char, *mut Err) -> c_int,
    set_ttl: unsafe extern "C" fn(*const c_char, *const c_char, u64, i64, *mut Err) -> c_int,
    set_labels: unsafe extern "C" fn(
        *const c_char,
        *const c_char,
        *const *const c_char,
        usize,
        *mut *mut c_char,
        *mut Err,
    ) -> c_int,
    create: unsafe extern "C" fn(*const c_char, *const c_char, *mut c_char, usize, *mut Err) -> c_int,
    open: unsafe extern "C" fn(*const c_char, *const c_char, *mut c_char, usize, *mut bool, *mut Err) -> c_int,
    session_options_init: unsafe extern "C" fn(*mut wsprune_session_options, usize) -> c_int,
    create_with: unsafe extern "C" fn(
        *const c_char,
        *const c_char,
        *const wsprune_session_options,
        *mut c_char,
        usize,
        *mut Err,
    ) -> c_int,
    open_with: unsafe extern "C" fn(
        *const c_char,
        *const c_char,
        *const wsprune_session_options,
        *mut c_char,
        usize,
        *mut bool,
        *mut Err,
    ) -> c_int,
    migrate: unsafe extern "C" fn(*const c_char, bool, *mut *mut c_char, *mut Err) -> c_int,
    list: unsafe extern "C" fn(*const c_char, *mut *mut c_char, *mut Err) -> c_int,
    touch: unsafe extern "C" fn(*const c_char, *const c_char, *mut i32, *mut Err) -> c_int,
    acquire: unsafe extern "C" fn(*const c_char, *const c_char, *mut *mut c_void, *mut Err) -> c_int,
    release: unsafe extern "C" fn(*mut c_void, bool, *mut i32, *mut Err) -> c_int,
    delete: unsafe extern "C" fn(*const c_char, *const c_char, u32, u64, *mut u64, *mut Err) -> c_int,
    info: unsafe extern "C" fn(*const c_char, *const c_char, *mut wsprune_session_details, *mut Err) -> c_int,
    repair: unsafe extern "C" fn(*const c_char, bool, *mut usize, *mut *mut c_char, *mut Err) -> c_int,
    options_init: unsafe extern "C" fn(*mut wsprune_prune_options, usize) -> c_int,
    prune: unsafe extern "C" fn(*const c_char, *const wsprune_prune_options, *mut Err) -> *mut c_void,
    error_status: unsafe extern "C" fn(Err) -> c_int,
    count: [unsafe extern "C" fn(*const c_void) -> usize; 3], // deleted, skipped, error
    deleted_id: unsafe extern "C" fn(*const c_void, usize) -> *const c_char,
    deleted_rule: unsafe extern "C" fn(*const c_void, usize) -> *const c_char,
    skipped_id: unsafe extern "C" fn(*const c_void, usize) -> *const c_char,
    skipped_reason: unsafe extern "C" fn(*const c_void, usize) -> *const c_char,
    error_id: unsafe extern "C" fn(*const c_void, usize) -> *const c_char,
    reclaimed: unsafe extern "C" fn(*const c_void) -> u64,
    deleted_bytes: unsafe extern "C" fn(*const c_void, usize) -> u64,
    unmet_count: unsafe extern "C" fn(*const c_void) -> usize,
    unmet_rule: unsafe extern "C" fn(*const c_void, usize) -> *const c_char,
    unmet_target: unsafe extern "C" fn(*const c_void, usize) -> u64,
    unmet_actual: unsafe extern "C" fn(*const c_void, usize) -> u64,
    dry_run: unsafe extern "C" fn(*const c_void) -> bool,
    stats: unsafe extern "C" fn(*const c_char, u64, *mut Err) -> *mut c_void,
    stats_sessions: unsafe extern "C" fn(*const c_void, c_int) -> u64,
    stats_leased: unsafe extern "C" fn(*const c_void) -> u64,
    stats_sized: unsafe extern "C" fn(*const c_void) -> bool,
    stats_total: unsafe extern "C" fn(*const c_void) -> u64,
    stats_bucket: [unsafe extern "C" fn(*const c_void, usize) -> u64; 2], // sessions, bytes
    stats_oldest: unsafe extern "C" fn(*const c_void) -> f64,
    stats_fs: [unsafe extern "C" fn(*const c_void) -> u64; 4], // size, available, inodes, free inodes
    stats_free: unsafe extern "C" fn(*mut c_void),
    to_json: unsafe extern "C" fn(*const c_void) -> *mut c_char,
    result_free: unsafe extern "C" fn(*mut c_void),
    set_log: unsafe extern "C" fn(Option<LogFn>, *mut c_void),
}

/// Resolves `name` in `lib`, or exits naming it.
unsafe fn sym<T: Copy>(lib: *mut c_void, name: &str) -> T {
    let c = CString::new(name).expect("symbol name");
    let p = libc::dlsym(lib, c.as_ptr());
    if p.is_null() {
        eprintln!("c_abi runner: libwsprune does not export {name}");
        std::process::exit(2);
    }
    std::mem::transmute_copy(&p)
}

impl Api {
    unsafe fn load() -> Api {
        let path = std::env::var("WSPRUNE_LIBRARY").unwrap_or_else(|_| "target/release/libwsprune.so".into());
        let c = CString::new(path.clone()).expect("library path");
        let lib = libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if lib.is_null() {
            eprintln!(
                "c_abi runner: cannot dlopen {path}: {:?}",
                CStr::from_ptr(libc::dlerror())
            );
            std::process::exit(2);
        }
        Api {
            error_message: sym(lib, "wsprune_error_message"),
            error_free: sym(lib, "wsprune_error_free"),
            string_free: sym(lib, "wsprune_string_free"),
            status_name: sym(lib, "wsprune_status_name"),
            pin: sym(lib, "wsprune_session_pin"),
            unpin: sym(lib, "wsprune_session_unpin"),
            set_ttl: sym(lib, "wsprune_session_set_ttl"),
            set_labels: sym(lib, "wsprune_session_set_labels"),
            create: sym(lib, "wsprune_session_create"),
            open: sym(lib, "wsprune_session_open"),
            session_options_init: sym(lib, "wsprune_session_options_init"),
            create_with: sym(lib, "wsprune_session_create_with_options"),
            open_with: sym(lib, "wsprune_session_open_with_options"),
            migrate: sym(lib, "wsprune_migrate_sessions"),
            list: sym(lib, "wsprune_list_sessions"),
            touch: sym(lib, "wsprune_session_touch_outcome"),
            acquire: sym(lib, "wsprune_session_acquire"),
            release: sym(lib, "wsprune_lease_release_outcome"),
            delete: sym(lib, "wsprune_session_delete_with_flags"),
            info: sym(lib, "wsprune_session_info"),
            repair: sym(lib, "wsprune_repair_sessions"),
            options_init: sym(lib, "wsprune_prune_options_init"),
            prune: sym(lib, "wsprune_prune_sessions_with_options"),
            error_status: sym(lib, "wsprune_error_status"),
            count: [
                sym(lib, "wsprune_prune_result_deleted_count"),
                sym(lib, "wsprune_prune_result_skipped_count"),
                sym(lib, "wsprune_prune_result_error_count"),
            ],
            deleted_id: sym(lib, "wsprune_prune_result_deleted_id"),
            deleted_rule: sym(lib, "wsprune_prune_result_deleted_rule"),
            skipped_id: sym(lib, "wsprune_prune_result_skipped_id"),
            skipped_reason: sym(lib, "wsprune_prune_result_skipped_reason"),
            error_id: sym(lib, "wsprune_prune_result_error_id"),
            reclaimed: sym(lib, "wsprune_prune_result_reclaimed_bytes"),
            deleted_bytes: sym(lib, "wsprune_prune_result_deleted_bytes"),
            unmet_count: sym(lib, "wsprune_prune_result_unmet_target_count"),
            unmet_rule: sym(lib, "wsprune_prune_result_unmet_target"),
            unmet_target: sym(lib, "wsprune_prune_result_unmet_target_value"),
            unmet_actual: sym(lib, "wsprune_prune_result_unmet_actual"),
            dry_run: sym(lib, "wsprune_prune_result_dry_run"),
            stats: sym(lib, "wsprune_workspace_stats"),
            stats_sessions: sym(lib, "wsprune_stats_sessions"),
            stats_leased: sym(lib, "wsprune_stats_leased"),
            stats_sized: sym(lib, "wsprune_stats_sizes_measured"),
            stats_total: sym(lib, "wsprune_stats_total_bytes"),
            stats_bucket: [
                sym(lib, "wsprune_stats_idle_bucket_sessions"),
                sym(lib, "wsprune_stats_idle_bucket_bytes"),
            ],
            stats_oldest: sym(lib, "wsprune_stats_oldest_idle_seconds"),
            stats_fs: [
                sym(lib, "wsprune_stats_fs_size_bytes"),
                sym(lib, "wsprune_stats_fs_available_bytes"),
                sym(lib, "wsprune_stats_fs_inodes"),
                sym(lib, "wsprune_stats_fs_free_inodes"),
            ],
            stats_free: sym(lib, "wsprune_stats_free"),
            to_json: sym(lib, "wsprune_prune_result_to_json"),
            result_free: sym(lib, "wsprune_prune_result_free"),
            set_log: sym(lib, "wsprune_set_log_callback"),
        }
    }
}

static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

extern "C" fn on_event(_: *mut c_void, _level: c_int, name: *const c_char, _fields: *const c_char) {
    // SAFETY: the library passes a NUL-terminated string borrowed for the call.
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned();
    EVENTS.lock().unwrap().push(name);
}

fn events() -> Vec<String> {
    EVENTS.lock().unwrap().clone()
}

/// An operation's failure: the status name (lowercase) and message.
struct Failure(String, String);

fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: wsprune returns NUL-terminated strings valid until the owner is freed.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn cstr(s: &str) -> Result<CString, Failure> {
    // An interior NUL cannot cross a C string: the C caller could not pass it either.
    CString::new(s).map_err(|_| Failure("not_expressible".into(), "a C string cannot hold NUL".into()))
}

impl Api {
    /// Turns a status and its error into `Ok(())` or a Failure (freeing the error).
    fn check(&self, st: c_int, err: Err) -> Result<(), Failure> {
        if st == 0 {
            return Ok(());
        }
        // SAFETY: the error is owned by us and freed once; the name is static.
        unsafe {
            let msg = text((self.error_message)(err));
            (self.error_free)(err);
            let name = text((self.status_name)(st));
            Err(Failure(name.trim_start_matches("WSPRUNE_STATUS_").to_lowercase(), msg))
        }
    }

    /// The scenario's name for a `WSPRUNE_TOUCH_*` outcome.
    fn touch_outcome(code: i32) -> Value {
        match code {
            0 => json!("updated"),
            1 => json!("legacy"),
            2 => json!("corrupted"),
            _ => Value::Null,
        }
    }

    fn run(&self, root: &CStr, op: &Value) -> Result<Value, Failure> {
        let id = op.get("id").and_then(Value::as_str);
        let cid = id.map(cstr).transpose()?;
        let idp = cid.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        let mut err: Err = std::ptr::null_mut();
        // SAFETY: (every call below) arguments are valid C strings and out
        // pointers to live locals, as the header requires.
        unsafe {
            match op["kind"].as_str().unwrap_or("") {
                "create" => {
                    let mut buf = vec![0 as c_char; 512];
                    let (b, n) = (buf.as_mut_ptr(), buf.len());
                    let st = match self.session_options(op)? {
                        Some(o) => (self.create_with)(root.as_ptr(), idp, &o.opts, b, n, &mut err),
                        None => (self.create)(root.as_ptr(), idp, b, n, &mut err),
                    };
                    self.check(st, err)?;
                    Ok(json!({"id": text(buf.as_ptr())}))
                }
                "open" => {
                    let mut buf = vec![0 as c_char; 512];
                    let (b, n) = (buf.as_mut_ptr(), buf.len());
                    let mut created = false;
                    let st = match self.session_options(op)? {
                        Some(o) => (self.open_with)(root.as_ptr(), idp, &o.opts, b, n, &mut created, &mut err),
                        None => (self.open)(root.as_ptr(), idp, b, n, &mut created, &mut err),
                    };
                    self.check(st, err)?;
                    Ok(json!({"id": text(buf.as_ptr()), "created": created}))
                }
                "migrate" => {
                    let mut js: *mut c_char = std::ptr::null_mut();
                    let dry = op["dry_run"].as_bool().unwrap_or(false);
                    self.check((self.migrate)(root.as_ptr(), dry, &mut js, &mut err), err)?;
                    let r: Value = serde_json::from_str(&text(js)).unwrap_or(Value::Null);
                    (self.string_free)(js);
                    let registered: Vec<Value> = r["registered"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|m| m["session_id"].clone())
                        .collect();
                    let skipped: Vec<&String> = r["skipped"].as_object().into_iter().flat_map(|m| m.keys()).collect();
                    Ok(json!({"registered": registered, "skipped": skipped, "dry_run": r["dry_run"]}))
                }
                "touch" => {
                    let mut outcome = -1;
                    self.check((self.touch)(root.as_ptr(), idp, &mut outcome, &mut err), err)?;
                    Ok(json!({"outcome": Self::touch_outcome(outcome)}))
                }
                "acquire" => {
                    let mut lease: *mut c_void = std::ptr::null_mut();
                    self.check((self.acquire)(root.as_ptr(), idp, &mut lease, &mut err), err)?;
                    let touch = op["release_touch"].as_bool().unwrap_or(false);
                    let mut outcome = -1;
                    self.check((self.release)(lease, touch, &mut outcome, &mut err), err)?;
                    Ok(json!({"touched": Self::touch_outcome(outcome)}))
                }
                "delete" => {
                    let mut n = 0u64;
                    let mut flags = 0;
                    if op["single_host"].as_bool().unwrap_or(false) {
                        flags |= wsprune::ffi::WSPRUNE_FLAG_SINGLE_HOST;
                    }
                    if op["force"].as_bool().unwrap_or(false) {
                        flags |= wsprune::ffi::WSPRUNE_FLAG_FORCE;
                    }
                    self.check((self.delete)(root.as_ptr(), idp, 0, flags, &mut n, &mut err), err)?;
                    Ok(json!({"reclaimed_bytes": n}))
                }
                "pin" => {
                    let until = micros(op, "until")?;
                    self.check((self.pin)(root.as_ptr(), idp, until, &mut err), err)?;
                    Ok(json!({}))
                }
                "unpin" => {
                    self.check((self.unpin)(root.as_ptr(), idp, &mut err), err)?;
                    Ok(json!({}))
                }
                "set_ttl" => {
                    let (idle, at) = (idle_ttl(op)?, micros(op, "expires_at")?);
                    self.check((self.set_ttl)(root.as_ptr(), idp, idle, at, &mut err), err)?;
                    Ok(json!({}))
                }
                "label" => {
                    let changes = strings(op.get("changes"))?;
                    let ptrs: Vec<*const c_char> = changes.iter().map(|c| c.as_ptr()).collect();
                    let mut js: *mut c_char = std::ptr::null_mut();
                    self.check(
                        (self.set_labels)(root.as_ptr(), idp, ptrs.as_ptr(), ptrs.len(), &mut js, &mut err),
                        err,
                    )?;
                    let labels: Value = serde_json::from_str(&text(js)).unwrap_or(Value::Null);
                    (self.string_free)(js);
                    Ok(json!({ "labels": labels }))
                }
                "info" => {
                    let mut d: wsprune_session_details = std::mem::zeroed();
                    d.struct_size = std::mem::size_of::<wsprune_session_details>();
                    self.check((self.info)(root.as_ptr(), idp, &mut d, &mut err), err)?;
                    let state = ["ok", "legacy", "corrupted", "unreadable"]
                        .get(d.state as usize)
                        .copied();
                    Ok(json!({"state": state.unwrap_or("unknown"), "size_bytes": d.size_bytes, "in_use": d.in_use}))
                }
                "repair" => {
                    let (mut n, mut js) = (0usize, std::ptr::null_mut());
                    let dry = op["dry_run"].as_bool().unwrap_or(false);
                    self.check((self.repair)(root.as_ptr(), dry, &mut n, &mut js, &mut err), err)?;
                    (self.string_free)(js);
                    Ok(json!({"repaired": n}))
                }
                "list" => {
                    let mut js: *mut c_char = std::ptr::null_mut();
                    self.check((self.list)(root.as_ptr(), &mut js, &mut err), err)?;
                    let listed: Value = serde_json::from_str(&text(js)).unwrap_or(Value::Null);
                    (self.string_free)(js);
                    let (mut sessions, mut labels) = (Map::new(), Map::new());
                    for s in listed.as_array().into_iter().flatten() {
                        sessions.insert(s["session_id"].as_str().unwrap_or("").into(), s["state"].clone());
                        labels.insert(s["session_id"].as_str().unwrap_or("").into(), s["labels"].clone());
                    }
                    Ok(json!({ "sessions": sessions, "labels": labels }))
                }
                "prune" => self.prune(root, &op["options"]),
                "stats" => {
                    let flags = u64::from(op["measure_sizes"].as_bool().unwrap_or(false));
                    let s = (self.stats)(root.as_ptr(), flags, &mut err);
                    if s.is_null() {
                        let st = (self.error_status)(err);
                        self.check(if st == 0 { 1 } else { st }, err)?;
                    }
                    let sized = (self.stats_sized)(s);
                    let buckets = |k: usize| (0..6).map(|i| (self.stats_bucket[k])(s, i)).collect::<Vec<u64>>();
                    let oldest = (self.stats_oldest)(s);
                    let [size, avail, inodes, free] = self.stats_fs.map(|f| f(s));
                    let v = json!({
                        "sessions": {
                            "ok": (self.stats_sessions)(s, 0),
                            "legacy": (self.stats_sessions)(s, 1),
                            "corrupted": (self.stats_sessions)(s, 2),
                            "unreadable": (self.stats_sessions)(s, 3),
                        },
                        "leased": (self.stats_leased)(s),
                        "total_bytes": sized.then(|| (self.stats_total)(s)),
                        "idle_sessions": buckets(0),
                        "idle_bytes": sized.then(|| buckets(1)),
                        "oldest_idle_hours": (oldest >= 0.0).then(|| (oldest / 3600.0).floor() as u64),
                        "filesystem_consistent": size > 0 && avail <= size && free <= inodes,
                    });
                    (self.stats_free)(s);
                    Ok(v)
                }
                other => Err(Failure("bad_request".into(), format!("unknown op {other:?}"))),
            }
        }
    }

    /// The request's session options as a `wsprune_session_options` (with
    /// the strings it points to), or None when the request sets none.
    unsafe fn session_options(&self, op: &Value) -> Result<Option<SessionOptions>, Failure> {
        let keys = [
            "dir_mode",
            "adopt",
            "reserved",
            "idle_ttl_seconds",
            "expires_at",
            "labels",
        ];
        if keys.iter().all(|k| op.get(*k).is_none()) {
            return Ok(None);
        }
        let mut o = SessionOptions {
            opts: std::mem::zeroed(),
            _names: Vec::new(),
            _ptrs: Vec::new(),
            _labels: Vec::new(),
            _label_ptrs: Vec::new(),
        };
        let size = std::mem::size_of::<wsprune_session_options>();
        self.check((self.session_options_init)(&mut o.opts, size), std::ptr::null_mut())?;
        if let Some(m) = op.get("dir_mode").and_then(Value::as_str) {
            o.opts.dir_mode =
                u32::from_str_radix(m, 8).map_err(|_| Failure("bad_request".into(), format!("dir_mode {m:?}")))?;
        }
        o.opts.adopt = op.get("adopt").and_then(Value::as_bool).unwrap_or(false);
        for name in op.get("reserved").and_then(Value::as_array).into_iter().flatten() {
            o._names.push(cstr(name.as_str().unwrap_or(""))?);
        }
        o._ptrs = o._names.iter().map(|c| c.as_ptr()).collect();
        if !o._ptrs.is_empty() {
            o.opts.reserved = o._ptrs.as_ptr();
            o.opts.reserved_count = o._ptrs.len();
        }
        // Labels as the C ABI takes them: "key=value" strings.
        let texts: Vec<Value> = op
            .get("labels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| Value::from(format!("{k}={}", v.as_str().unwrap_or(""))))
            .collect();
        o._labels = strings(Some(&Value::Array(texts)))?;
        o._label_ptrs = o._labels.iter().map(|c| c.as_ptr()).collect();
        if !o._label_ptrs.is_empty() {
            o.opts.labels = o._label_ptrs.as_ptr();
            o.opts.labels_count = o._label_ptrs.len();
        }
        o.opts.idle_ttl_seconds = idle_ttl(op)?;
        o.opts.expires_at_us = micros(op, "expires_at")?;
        Ok(Some(o))
    }

    unsafe fn prune(&self, root: &CStr, o: &Value) -> Result<Value, Failure> {
        let mut opts: wsprune_prune_options = std::mem::zeroed();
        let size = std::mem::size_of::<wsprune_prune_options>();
        self.check((self.options_init)(&mut opts, size), std::ptr::null_mut())?;
        match o.get("older_than_hours") {
            None => {}
            Some(Value::Null) => opts.use_older_than = false,
            Some(h) => opts.older_than_hours = hours(h)?,
        }
        if let Some(h) = o.get("min_age_hours") {
            opts.min_age_hours = hours(h)?;
        }
        for (key, field) in [
            ("max_total_bytes", &mut opts.max_total_bytes),
            ("max_sessions", &mut opts.max_sessions),
            ("min_free_bytes", &mut opts.min_free_bytes),
            ("max_deletions", &mut opts.max_deletions),
            ("max_sessions_per_owner", &mut opts.max_sessions_per_owner),
            ("max_bytes_per_owner", &mut opts.max_bytes_per_owner),
        ] {
            match o.get(key).map(Value::as_u64) {
                None => {}
                Some(Some(0)) => {
                    return Err(Failure(
                        "not_expressible".into(),
                        format!("{key} 0 is the C struct's unset"),
                    ));
                }
                Some(Some(n)) => *field = n,
                Some(None) => return Err(Failure("bad_request".into(), format!("{key} must be an integer"))),
            }
        }
        for (key, field) in [
            ("min_free_percent", &mut opts.min_free_percent),
            ("high_watermark_percent", &mut opts.high_watermark_percent),
            ("low_watermark_percent", &mut opts.low_watermark_percent),
            ("high_inode_watermark_percent", &mut opts.high_inode_watermark_percent),
            ("low_inode_watermark_percent", &mut opts.low_inode_watermark_percent),
        ] {
            match o.get(key).map(Value::as_f64) {
                None => {}
                Some(Some(0.0)) => {
                    return Err(Failure(
                        "not_expressible".into(),
                        format!("{key} 0 is the C struct's unset"),
                    ));
                }
                Some(Some(p)) => *field = p,
                Some(None) => return Err(Failure("bad_request".into(), format!("{key} must be a number"))),
            }
        }
        if let Some(j) = o.get("jobs").and_then(Value::as_u64) {
            opts.jobs = j as u32;
        }
        opts.dry_run = o.get("dry_run").and_then(Value::as_bool).unwrap_or(false);
        if o.get("single_host").and_then(Value::as_bool).unwrap_or(false) {
            opts.flags |= wsprune::ffi::WSPRUNE_FLAG_SINGLE_HOST;
        }
        opts.as_of_us = micros(o, "as_of")?;
        // The label strings, borrowed by the struct for the call.
        let selector = c_string_opt(o, "label_selector")?;
        let per_owner = c_string_opt(o, "per_owner")?;
        if let Some(s) = &selector {
            opts.label_selector = s.as_ptr();
        }
        if let Some(s) = &per_owner {
            opts.per_owner = s.as_ptr();
        }
        let mut err: Err = std::ptr::null_mut();
        let r = (self.prune)(root.as_ptr(), &opts, &mut err);
        if r.is_null() {
            let st = (self.error_status)(err);
            self.check(if st == 0 { 1 } else { st }, err)?;
        }
        let list = |n: usize, f: unsafe extern "C" fn(*const c_void, usize) -> *const c_char| -> Vec<String> {
            (0..n).map(|i| text(f(r, i))).collect()
        };
        let [nd, ns, ne] = self.count.map(|f| f(r));
        let deleted = list(nd, self.deleted_id);
        let rules: Map<String, Value> = deleted
            .iter()
            .cloned()
            .zip(list(nd, self.deleted_rule).into_iter().map(Value::from))
            .collect();
        let skipped: Map<String, Value> = list(ns, self.skipped_id)
            .into_iter()
            .zip(list(ns, self.skipped_reason).into_iter().map(Value::from))
            .collect();
        let deleted_bytes: Map<String, Value> = deleted
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), Value::from((self.deleted_bytes)(r, i))))
            .collect();
        let unmet: Vec<Value> = (0..(self.unmet_count)(r))
            .map(|i| {
                json!({"rule": text((self.unmet_rule)(r, i)), "target": (self.unmet_target)(r, i),
                       "actual": (self.unmet_actual)(r, i)})
            })
            .collect();
        let mut out = json!({
            "deleted": deleted, "rules": rules, "skipped": skipped, "errors": list(ne, self.error_id),
            "reclaimed_bytes": (self.reclaimed)(r), "dry_run": (self.dry_run)(r),
            "deleted_bytes": deleted_bytes, "unmet": unmet,
        });
        // The lists the contract adds have no accessors in this header yet:
        // they are read from the C ABI's own JSON of the result, when present.
        let js = (self.to_json)(r);
        let full: Value = serde_json::from_str(&text(js)).unwrap_or(Value::Null);
        (self.string_free)(js);
        (self.result_free)(r);
        if let Some(v) = full.get("interrupted") {
            out["interrupted"] = v.clone();
        }
        if let Some(Value::Array(ts)) = full.get("unmet_targets") {
            let names: Vec<Value> = ts.iter().map(|t| t.get("rule").unwrap_or(t).clone()).collect();
            out["unmet_targets"] = Value::Array(names);
        }
        Ok(out)
    }
}

/// A `wsprune_session_options` and the strings its `reserved` points to
/// (kept alive with it).
struct SessionOptions {
    opts: wsprune_session_options,
    _names: Vec<CString>,
    _ptrs: Vec<*const c_char>,
    _labels: Vec<CString>,
    _label_ptrs: Vec<*const c_char>,
}

/// A JSON array of strings as C strings (absent: none); a NUL cannot be passed.
fn strings(v: Option<&Value>) -> Result<Vec<CString>, Failure> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| cstr(s.as_str().unwrap_or("")))
        .collect()
}

/// Hours from the neutral vocabulary: a number, or "NaN", "Infinity", "-Infinity".
fn hours(v: &Value) -> Result<f64, Failure> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| Failure("bad_request".into(), "hours".into())),
        Value::String(s) => s
            .parse::<f64>()
            .map_err(|_| Failure("bad_request".into(), format!("hours {s:?}"))),
        _ => Err(Failure("bad_request".into(), format!("hours {v}"))),
    }
}

fn handle(api: &Api, line: &str) -> Value {
    let req: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        // A lone UTF-16 surrogate has no UTF-8 encoding: a C caller cannot pass one.
        // (serde_json: "lone leading surrogate in hex escape", or "unexpected end of hex escape")
        Err(e) if e.to_string().contains("surrogate") || e.to_string().contains("hex escape") => {
            return json!({"not_expressible": "a C string holds UTF-8 bytes: a lone surrogate has no encoding"})
        }
        Err(e) => return json!({"status": "bad_request", "message": e.to_string()}),
    };
    let op = &req["op"];
    let root = match cstr(req["root"].as_str().unwrap_or("")) {
        Ok(r) => r,
        Err(Failure(s, m)) if s == "not_expressible" => return json!({"not_expressible": m}),
        Err(Failure(s, m)) => return json!({"status": s, "message": m}),
    };
    EVENTS.lock().unwrap().clear();
    match api.run(&root, op) {
        Ok(result) => json!({"status": "ok", "message": "", "result": result, "events": events()}),
        Err(Failure(s, m)) if s == "not_expressible" => json!({"not_expressible": m}),
        Err(Failure(s, m)) => json!({"status": s, "message": m, "result": null, "events": events()}),
    }
}

fn main() {
    // SAFETY: loading the library and installing a callback that outlives every call.
    let api = unsafe { Api::load() };
    // SAFETY: `on_event` has the callback's signature and lives for the whole process.
    unsafe { (api.set_log)(Some(on_event), std::ptr::null_mut()) };
    let stdout = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let mut out = stdout.lock();
        let _ = writeln!(out, "{}", handle(&api, &line));
        let _ = out.flush();
    }
}

/// The string option `key` of `o` as a C string (absent: `None`); a NUL in it
/// cannot be passed (C would cut the string there).
fn c_string_opt(o: &Value, key: &str) -> Result<Option<CString>, Failure> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => CString::new(s.as_str()).map(Some).map_err(|_| {
            Failure(
                "not_expressible".into(),
                format!("{key} holds a NUL, which a C string cannot"),
            )
        }),
        Some(_) => Err(Failure("bad_request".into(), format!("{key} must be a string"))),
    }
}

/// The RFC 3339 time `op[key]` in microseconds since the Unix epoch; 0 when absent.
fn micros(op: &Value, key: &str) -> Result<i64, Failure> {
    match op.get(key).and_then(Value::as_str) {
        None => Ok(0),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.timestamp_micros())
            .map_err(|e| Failure("bad_request".into(), format!("{key} {t:?}: {e}"))),
    }
}

/// `op.idle_ttl_seconds` (absent: 0, none); an explicit 0 is C's "none": not expressible.
fn idle_ttl(op: &Value) -> Result<u64, Failure> {
    match op.get("idle_ttl_seconds").map(Value::as_u64) {
        None => Ok(0),
        Some(Some(0)) => Err(Failure(
            "not_expressible".into(),
            "idle_ttl_seconds 0 is the C ABI's \"none\"".into(),
        )),
        Some(Some(n)) => Ok(n),
        Some(None) => Err(Failure(
            "bad_request".into(),
            "idle_ttl_seconds must be an integer".into(),
        )),
    }
}
