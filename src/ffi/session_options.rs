//! The versioned `wsprune_session_options` struct and the calls that take
//! it: create and create-or-open with a directory mode, `adopt` and reserved
//! names.

use super::*;
use crate::session::SessionOptions;

/// Options of `wsprune_session_create_with_options` and
/// `wsprune_session_open_with_options`. Start from
/// `wsprune_session_options_init(&opts, sizeof opts)`, which sets
/// `struct_size` and the defaults, then change fields. Later versions of
/// wsprune only append fields, whose zero value keeps this version's
/// behaviour; `struct_size` tells the library which version the caller was
/// built with. Every field's zero is "unset", the default of every surface
/// (docs/contract.md, "Session ids"): mode 0700, no adoption, no reserved
/// name but `site-packages`. Since 0.4.0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsprune_session_options {
    /// `sizeof(wsprune_session_options)` as the caller compiled it.
    pub struct_size: usize,
    /// Mode of a new session directory, before the umask: permission bits
    /// only (at most 0777) with rwx for the owner, else
    /// WSPRUNE_STATUS_INVALID_ARGUMENT. 0: the default, 0700.
    pub dir_mode: u32,
    /// Create-or-open only: adopt an existing directory that is neither a
    /// registered session nor holds valid `.metadata.json` (registered dated
    /// now; a prune will delete it with what it holds). false (the default):
    /// such a directory is WSPRUNE_STATUS_NOT_FOUND. Ignored by a creation.
    pub adopt: bool,
    /// `reserved_count` names, each a NUL-terminated UTF-8 string, that are
    /// never a session besides "site-packages": creating or opening one is
    /// WSPRUNE_STATUS_INVALID_SESSION_ID (compared ignoring case on a
    /// case-insensitive root). Borrowed for the call; NULL when
    /// `reserved_count` is 0.
    pub reserved: *const *const c_char,
    /// Number of names in `reserved`.
    pub reserved_count: usize,
    /// The session's own idle timeout in seconds: a prune deletes it once
    /// idle this long, whatever its age rule (docs/contract.md,
    /// "Per-session TTL"). 0: none. At most 100 years, else
    /// WSPRUNE_STATUS_INVALID_ARGUMENT. Since 0.4.0.
    pub idle_ttl_seconds: u64,
    /// The session's absolute expiry, in microseconds since the Unix epoch;
    /// 0: none. With `idle_ttl_seconds` the session expires at the earlier.
    /// Given to an open of an existing session, the two replace its TTL
    /// (neither given leaves it). Since 0.4.0.
    pub expires_at_us: i64,
    /// `labels_count` labels, each a NUL-terminated UTF-8 "key=value"
    /// (docs/contract.md, "Labels": at most 32, Kubernetes' syntax; a key
    /// given twice is refused). A new session is created with them; an open
    /// of an existing one sets each, keeping its other labels. A bad label
    /// is WSPRUNE_STATUS_INVALID_ARGUMENT naming its key, and nothing is
    /// created or changed. Borrowed for the call; NULL when `labels_count`
    /// is 0 (no labels). Since 0.4.0.
    pub labels: *const *const c_char,
    /// Number of strings in `labels`.
    pub labels_count: usize,
}

/// `wsprune_session_options` as read from a caller: a byte for the `bool`,
/// which a C caller could have set to a value Rust's `bool` must never hold.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct RawSessionOptions {
    struct_size: usize,
    dir_mode: u32,
    adopt: u8,
    reserved: *const *const c_char,
    reserved_count: usize,
    idle_ttl_seconds: u64,
    expires_at_us: i64,
    labels: *const *const c_char,
    labels_count: usize,
}
const _: () = assert!(std::mem::size_of::<RawSessionOptions>() == std::mem::size_of::<wsprune_session_options>());

/// Fills the caller's options struct `*opts`, of `size` bytes (pass
/// `sizeof *opts`), with the defaults: `struct_size = size`, every other
/// field zero (mode 0700, no adoption, no reserved names). Writes at most
/// `size` bytes. `opts` is borrowed; NULL or a `size` smaller than the first
/// version's struct gives WSPRUNE_STATUS_INVALID_ARGUMENT. Thread-safe.
/// Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_options_init(
    opts: *mut wsprune_session_options,
    size: usize,
) -> wsprune_status {
    if opts.is_null() || check_struct_size(size, SESSION_OPTIONS_V1, "size", "wsprune_session_options").is_err() {
        return wsprune_status::WSPRUNE_STATUS_INVALID_ARGUMENT;
    }
    write_struct(
        opts,
        size,
        wsprune_session_options {
            struct_size: size,
            dir_mode: 0,
            adopt: false,
            reserved: std::ptr::null(),
            reserved_count: 0,
            idle_ttl_seconds: 0,
            expires_at_us: 0,
            labels: std::ptr::null(),
            labels_count: 0,
        },
    );
    wsprune_status::WSPRUNE_STATUS_OK
}

/// Reads a caller's session options, whatever version it was built with;
/// NULL is the defaults.
unsafe fn read_session_options(p: *const wsprune_session_options) -> Result<SessionOptions> {
    if p.is_null() {
        return Ok(SessionOptions::default());
    }
    let o: RawSessionOptions = read_caller_struct(
        p as *const u8,
        SESSION_OPTIONS_V1,
        "wsprune_session_options",
        "wsprune_session_options_init",
    )?;
    let reserved = arg_str_array(o.reserved, o.reserved_count, "options->reserved")?;
    let labels = crate::labels::from_assignments(&arg_str_array(o.labels, o.labels_count, "options->labels")?)?;
    Ok(SessionOptions {
        dir_mode: (o.dir_mode != 0).then_some(o.dir_mode),
        adopt: o.adopt != 0,
        reserved,
        idle_ttl: (o.idle_ttl_seconds != 0).then(|| std::time::Duration::from_secs(o.idle_ttl_seconds)),
        expires_at: time_from_us(o.expires_at_us, "options->expires_at_us")?,
        labels,
    })
}

/// The checked arguments of a create or an open: the root, the id (None: a
/// new UUID), the options; `out_id` must fit the id.
unsafe fn session_args<'a>(
    workspace_root: *const c_char,
    session_id: *const c_char,
    opts: *const wsprune_session_options,
    out_id: *mut c_char,
    out_id_len: usize,
) -> Result<(&'a std::path::Path, Option<&'a str>, SessionOptions)> {
    let root = arg_root(workspace_root)?;
    let id = opt_session_id(session_id)?;
    let opts = read_session_options(opts)?;
    check_out_id(id, out_id, out_id_len)?;
    Ok((root, id, opts))
}

/// `wsprune_session_create` with options (`opts`; NULL: the defaults, the
/// same as `wsprune_session_create`): the session directory is made with
/// `opts->dir_mode` (0700 when 0), and an id among `opts->reserved` is
/// WSPRUNE_STATUS_INVALID_SESSION_ID; `opts->adopt` does not apply. A bad
/// mode, a `struct_size` out of range, or a reserved name that is NULL or
/// not UTF-8 is WSPRUNE_STATUS_INVALID_ARGUMENT, and nothing is created.
/// Otherwise as `wsprune_session_create` (statuses, `out_id`). `opts` and
/// the strings it points to are borrowed for the call; error ownership as
/// for `wsprune_session_create`. Thread-safe. Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_create_with_options(
    workspace_root: *const c_char,
    session_id: *const c_char,
    opts: *const wsprune_session_options,
    out_id: *mut c_char,
    out_id_len: usize,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let (root, id, opts) = session_args(workspace_root, session_id, opts, out_id, out_id_len)?;
        let created = crate::session::create_session_with(root, id, &opts)?;
        write_out_id(&created, out_id);
        Ok(())
    });
    report(error, r)
}

/// `wsprune_session_open` with options (`opts`; NULL: the defaults, the same
/// as `wsprune_session_open`): with `opts->adopt`, an existing directory
/// that is neither registered nor holds valid `.metadata.json` is adopted
/// (registered dated now; corrupted metadata is replaced) instead of being
/// WSPRUNE_STATUS_NOT_FOUND; a session created is made with
/// `opts->dir_mode`; an id among `opts->reserved` (or "site-packages") is
/// WSPRUNE_STATUS_INVALID_SESSION_ID, with `adopt` or without. Bad options
/// are WSPRUNE_STATUS_INVALID_ARGUMENT as for
/// `wsprune_session_create_with_options`. Otherwise as
/// `wsprune_session_open` (statuses, `out_id`, `out_created`, events).
/// `opts` and its strings are borrowed for the call; error ownership as for
/// `wsprune_session_create`. Thread-safe. Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_open_with_options(
    workspace_root: *const c_char,
    session_id: *const c_char,
    opts: *const wsprune_session_options,
    out_id: *mut c_char,
    out_id_len: usize,
    out_created: *mut bool,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let (root, id, opts) = session_args(workspace_root, session_id, opts, out_id, out_id_len)?;
        let (name, created) = crate::session::create_or_open_session_with(root, id, &opts)?;
        write_out_id(&name, out_id);
        if !out_created.is_null() {
            *out_created = created;
        }
        Ok(())
    });
    report(error, r)
}
