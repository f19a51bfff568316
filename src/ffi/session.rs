//! Session functions: create, touch, delete, info (`wsprune_session_details`).

use super::*;
use crate::session::MetadataState;

/// Largest buffer a session id needs, terminating NUL included: a custom id
/// is at most 255 bytes. A buffer of this size always fits `out_id`.
pub const WSPRUNE_SESSION_ID_MAX_LEN: usize = 256;
// A literal for cbindgen; it must follow the core's limit.
const _: () = assert!(WSPRUNE_SESSION_ID_MAX_LEN == crate::session_id::MAX_LEN + 1);

/// Creates session `session_id` under `workspace_root`, creating the root if
/// it is missing, and registers it (its record in the root's host-owned
/// `.wsprune` directory, and the `.metadata.json` mirror in the session)
/// with created_at == updated_at. The session directory is made 0700.
/// `session_id` is a UUID in any spelling (the session is named by its
/// canonical spelling: lowercase, hyphenated), a custom id (1 to 255 bytes of
/// UTF-8, no '/', no control characters, not starting with '.', not
/// "site-packages"; anything else is WSPRUNE_STATUS_INVALID_SESSION_ID), or
/// NULL for a new random UUIDv4. If `out_id` is not NULL, the session id (the
/// directory's name) and a terminating NUL are written to it; `out_id_len`
/// must then be at least 37 for a UUID (or NULL) id and at least the custom
/// id's length + 1 for a custom id (WSPRUNE_SESSION_ID_MAX_LEN always
/// suffices), else WSPRUNE_STATUS_INVALID_ARGUMENT and nothing is created.
/// An existing session (for a UUID: under its canonical spelling or the one
/// passed) gives WSPRUNE_STATUS_ALREADY_EXISTS. A failure to write the record,
/// the lock file or the mirror fails the creation (WSPRUNE_STATUS_IO) and
/// leaves nothing behind.
///
/// Strings are borrowed for the call. On failure `*error` (if `error` is not
/// NULL) receives an owned error to free with `wsprune_error_free`; on success
/// it is set to NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_create(
    workspace_root: *const c_char,
    session_id: *const c_char,
    out_id: *mut c_char,
    out_id_len: usize,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    wsprune_session_create_with_options(workspace_root, session_id, std::ptr::null(), out_id, out_id_len, error)
}

/// Opens session `session_id` if it exists, else creates it (create-or-open,
/// as a runtime does when it is given a session id to reuse). `session_id`
/// is as for `wsprune_session_create` (NULL: a new random UUIDv4 session). A
/// UUID is found under any spelling: its canonical one first, then the one
/// passed. A registered session is opened as it is; a directory with valid
/// `.metadata.json` (wsprune 0.3, the reference implementation) is
/// registered with it; any other directory (without metadata, or with
/// corrupted metadata) is WSPRUNE_STATUS_NOT_FOUND and left as it is: it is
/// not a session, and a prune would delete what an open adopts.
/// `out_id` and `out_id_len` are as for
/// `wsprune_session_create` and receive the session id (the directory's
/// name). `*out_created` (if `out_created` is not NULL) is set to whether the
/// session was created. Events: "session.created" or "session.retrieved",
/// and "session.metadata.created" when the session was registered.
///
/// Strings are borrowed; error ownership as for `wsprune_session_create`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_open(
    workspace_root: *const c_char,
    session_id: *const c_char,
    out_id: *mut c_char,
    out_id_len: usize,
    out_created: *mut bool,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    wsprune_session_open_with_options(
        workspace_root,
        session_id,
        std::ptr::null(),
        out_id,
        out_id_len,
        out_created,
        error,
    )
}

/// Borrows an optional session id argument (NULL: none). Like every string
/// argument it must be UTF-8 (else INVALID_ARGUMENT, unchanged since 0.2.0).
pub(crate) unsafe fn opt_session_id<'a>(p: *const c_char) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    arg_str(p, "session_id").map(Some)
}

/// Checks that `out_id` (if not NULL) can hold the id a session `id` gets.
pub(crate) fn check_out_id(id: Option<&str>, out_id: *mut c_char, out_id_len: usize) -> Result<()> {
    // Validate first: a bad id is INVALID_SESSION_ID whatever the buffer.
    if let Some(id) = id {
        crate::session_id::validate(id)?;
    }
    let need = id.map_or(36, |id| crate::session_id::new_name(id).len()) + 1;
    if !out_id.is_null() && out_id_len < need {
        return Err(Error::new(
            Status::InvalidArgument,
            format!("out_id_len is {out_id_len}; at least {need} bytes are needed for this session id"),
        ));
    }
    Ok(())
}

/// Writes `id` and a NUL to `out_id` (checked by [`check_out_id`]) if not NULL.
pub(crate) unsafe fn write_out_id(id: &str, out_id: *mut c_char) {
    if !out_id.is_null() {
        let bytes = id.as_bytes();
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out_id as *mut u8, bytes.len());
        *out_id.add(bytes.len()) = 0;
    }
}

/// Sets updated_at of the session to now, preserving every other field.
/// A legacy session without metadata is WSPRUNE_STATUS_OK (silently);
/// corrupted metadata is WSPRUNE_STATUS_OK, left untouched, with a
/// "session.metadata.corrupted" warning event; a missing session is
/// WSPRUNE_STATUS_NOT_FOUND, and so is one a prune or a deletion moved away
/// while it was being touched (checked after the write: OK means the session
/// was still there). A session directory that is a mount point is
/// WSPRUNE_STATUS_IO (refused; nothing behind it is opened). A UUID is found
/// under any spelling. Strings are borrowed. Error ownership as for
/// `wsprune_session_create`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_touch(
    workspace_root: *const c_char,
    session_id: *const c_char,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    wsprune_session_touch_outcome(workspace_root, session_id, std::ptr::null_mut(), error)
}

/// Deletes session `session_id` now, whatever its age or metadata, with the
/// same locked, atomic deletion as a prune. A pinned session is
/// WSPRUNE_STATUS_INVALID_ARGUMENT (since 0.4.0; `WSPRUNE_FLAG_FORCE` with
/// `wsprune_session_delete_with_flags` deletes it). A leased session is
/// WSPRUNE_STATUS_BUSY, after waiting up to `wait_ms` milliseconds for its
/// leases to be released (0: do not wait). A missing session or root is
/// WSPRUNE_STATUS_NOT_FOUND; a failure part-way is WSPRUNE_STATUS_IO (what
/// remains is in a hidden trash directory that the next prune finishes).
/// On success, `*out_reclaimed_bytes` (if not NULL) receives the bytes freed.
/// A root on a filesystem where a lease is kept by this host only (NFS, SMB,
/// 9p, FUSE) is WSPRUNE_STATUS_INVALID_ARGUMENT (see
/// `wsprune_session_delete_with_flags` to declare single-host use).
/// Strings are borrowed; error ownership as for `wsprune_session_create`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_delete(
    workspace_root: *const c_char,
    session_id: *const c_char,
    wait_ms: u32,
    out_reclaimed_bytes: *mut u64,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    wsprune_session_delete_with_flags(workspace_root, session_id, wait_ms, 0, out_reclaimed_bytes, error)
}

/// `wsprune_session_delete` with `WSPRUNE_FLAG_*` bits in `flags` (since
/// 0.4.0): `WSPRUNE_FLAG_SINGLE_HOST` declares that no other host uses the
/// root, so a root on NFS, SMB, 9p or FUSE is deleted from (with a
/// "workspace.shared_filesystem" warning event) instead of refused;
/// `WSPRUNE_FLAG_FORCE` deletes a pinned session too (without it a pinned
/// session is WSPRUNE_STATUS_INVALID_ARGUMENT; a plain
/// `wsprune_session_delete` never deletes one). An unknown bit is
/// WSPRUNE_STATUS_INVALID_ARGUMENT. Otherwise, ownership and
/// thread-safety as `wsprune_session_delete`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_delete_with_flags(
    workspace_root: *const c_char,
    session_id: *const c_char,
    wait_ms: u32,
    flags: u64,
    out_reclaimed_bytes: *mut u64,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        let (single_host, force) = read_delete_flags(flags)?;
        let opts = DeleteOptions {
            wait: (wait_ms > 0).then(|| std::time::Duration::from_millis(wait_ms.into())),
            single_host,
            force,
        };
        let bytes = delete_session_with(root, id, &opts)?;
        if !out_reclaimed_bytes.is_null() {
            *out_reclaimed_bytes = bytes;
        }
        Ok(())
    });
    report(error, r)
}

/// The state of a session's metadata. Stable numbering.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum wsprune_session_state {
    /// Valid metadata: the timestamps are known.
    WSPRUNE_SESSION_STATE_OK = 0,
    /// No metadata file (a session from before metadata existed).
    WSPRUNE_SESSION_STATE_LEGACY = 1,
    /// A metadata file that cannot be used.
    WSPRUNE_SESSION_STATE_CORRUPTED = 2,
    /// The session directory or its metadata could not be read (permissions, I/O).
    WSPRUNE_SESSION_STATE_UNREADABLE = 3,
}

/// What `wsprune_session_info` reports. Set `struct_size` to
/// `sizeof(wsprune_session_details)` before the call; the library fills the
/// fields that fit in `struct_size` bytes (a newer caller's extra fields are
/// zeroed). Later versions only append fields.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsprune_session_details {
    /// `sizeof(wsprune_session_details)` as the caller compiled it.
    pub struct_size: usize,
    /// created_at, in microseconds since the Unix epoch (0 unless state is OK).
    pub created_at_us: i64,
    /// updated_at (last use), in microseconds since the Unix epoch (0 unless state is OK).
    pub updated_at_us: i64,
    /// What the session takes on disk (allocated blocks, each inode once, as
    /// `du -sB1` counts them): what deleting it frees, but for files linked
    /// elsewhere too.
    pub size_bytes: u64,
    /// The metadata's state: a `wsprune_session_state` value (a fixed-width
    /// integer, so the layout does not depend on the compiler's enum size).
    pub state: i32,
    /// Whether a lease (or a prune) holds the session right now.
    pub in_use: bool,
}

/// Fills `*out` with what is known about session `session_id`: timestamps,
/// size, metadata state and whether it is in use. `out->struct_size` must be
/// set by the caller (at least the size of this version's struct, otherwise
/// WSPRUNE_STATUS_INVALID_ARGUMENT). A missing session or root is
/// WSPRUNE_STATUS_NOT_FOUND, and so is a directory named like a custom id
/// without metadata (not a session); a session directory that is a mount
/// point is WSPRUNE_STATUS_IO (refused). `in_use` is probed with a non-blocking exclusive
/// lock released at once. Strings are borrowed, `out` is borrowed for the
/// call; error ownership as for `wsprune_session_create`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_info(
    workspace_root: *const c_char,
    session_id: *const c_char,
    out: *mut wsprune_session_details,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        if out.is_null() {
            return Err(Error::new(Status::InvalidArgument, "out is NULL"));
        }
        let size = std::ptr::read_unaligned(out as *const usize);
        check_struct_size(size, SESSION_DETAILS_V1, "out->struct_size", "wsprune_session_details")?;
        let info = session_info(root, id)?;
        let us = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or(0, |t| t.timestamp_micros());
        let state = match info.state {
            SessionState::Ok => wsprune_session_state::WSPRUNE_SESSION_STATE_OK,
            SessionState::Legacy => wsprune_session_state::WSPRUNE_SESSION_STATE_LEGACY,
            SessionState::Corrupted => wsprune_session_state::WSPRUNE_SESSION_STATE_CORRUPTED,
            SessionState::Unreadable => wsprune_session_state::WSPRUNE_SESSION_STATE_UNREADABLE,
        };
        write_struct(
            out,
            size,
            wsprune_session_details {
                struct_size: size,
                created_at_us: us(info.created_at),
                updated_at_us: us(info.updated_at),
                size_bytes: info.size_bytes,
                state: state as i32,
                in_use: info.in_use,
            },
        );
        Ok(())
    });
    report(error, r)
}

/// Lists every session under `workspace_root` (what a prune would consider:
/// UUID-named directories, and custom-id directories holding
/// `.metadata.json`), sorted by id, measuring each. On success `*out_json`
/// receives a JSON array owned by the caller (free with
/// `wsprune_string_free`) of objects with `session_id`, `created_at` and
/// `updated_at` (timestamps, or null), `age_hours` (or null), `size_bytes`
/// (null when unknown), `state` ("ok", "legacy", "corrupted" or
/// "unreadable": a session that could not be read, with the reason in
/// `problem`), `in_use` and `problem` (or null): the form of `wsprune ls
/// --json`. A missing root is WSPRUNE_STATUS_NOT_FOUND. `out_json` must not
/// be NULL. Strings are borrowed; error ownership as for
/// `wsprune_session_create`. Thread-safe. Since 0.3.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_list_sessions(
    workspace_root: *const c_char,
    out_json: *mut *mut c_char,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        json_out(out_json, || {
            let now = chrono::Utc::now();
            let list: Vec<serde_json::Value> = list_sessions(root, 0)?.iter().map(|s| s.to_json(now)).collect();
            Ok(serde_json::Value::from(list))
        })
    });
    report(error, r)
}

/// Reads the metadata of session `session_id` as stored, without measuring
/// or locking anything (the reference implementation's
/// `_read_session_metadata`). On success `*out_json` receives a JSON object
/// owned by the caller (free with `wsprune_string_free`): `session_id` (the
/// name the session was found under), `state` ("ok", "legacy" or
/// "corrupted"), `metadata` (for "ok", the file's object with every field as
/// stored, timestamps in the writer's own format; else null) and `problem`
/// (for "corrupted", why; else null). A directory named like a custom id
/// without metadata reads as "legacy", as touch treats it. A missing session
/// or root is WSPRUNE_STATUS_NOT_FOUND; a session that is a mount point
/// WSPRUNE_STATUS_IO. `out_json` must not be NULL. Strings are borrowed;
/// error ownership as for `wsprune_session_create`. Thread-safe. Since 0.3.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_read_metadata(
    workspace_root: *const c_char,
    session_id: *const c_char,
    out_json: *mut *mut c_char,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        json_out(out_json, || {
            let doc = crate::session::read_metadata_document(root, id)?;
            let (state, metadata, problem) = match doc.metadata {
                MetadataState::Valid(m) => ("ok", m, None),
                MetadataState::Missing => ("legacy", serde_json::Value::Null, None),
                MetadataState::Invalid(bad) => ("corrupted", serde_json::Value::Null, Some(bad.to_string())),
            };
            Ok(serde_json::json!({
                "session_id": doc.session_id,
                "state": state,
                "metadata": metadata,
                "problem": problem,
            }))
        })
    });
    report(error, r)
}

/// `wsprune_session_touch_outcome`: `updated_at` was set to now.
pub const WSPRUNE_TOUCH_UPDATED: i32 = 0;
/// `wsprune_session_touch_outcome`: a legacy session without metadata; nothing to update.
pub const WSPRUNE_TOUCH_LEGACY: i32 = 1;
/// `wsprune_session_touch_outcome`: corrupted metadata, left as it is (a warning event says why).
pub const WSPRUNE_TOUCH_CORRUPTED: i32 = 2;
/// `wsprune_lease_release_outcome` with `touch` false: nothing was touched.
pub const WSPRUNE_TOUCH_NONE: i32 = -1;

/// The touch outcome as the C constants number it.
pub(crate) fn touch_code(outcome: Option<&crate::session::TouchOutcome>) -> i32 {
    use crate::session::TouchOutcome;
    match outcome {
        Some(TouchOutcome::Updated(_)) => WSPRUNE_TOUCH_UPDATED,
        Some(TouchOutcome::Legacy) => WSPRUNE_TOUCH_LEGACY,
        Some(TouchOutcome::Corrupted(_)) => WSPRUNE_TOUCH_CORRUPTED,
        None => WSPRUNE_TOUCH_NONE,
    }
}

/// `wsprune_session_touch`, also telling what the touch did: on
/// WSPRUNE_STATUS_OK, `*out_outcome` (if `out_outcome` is not NULL) is
/// WSPRUNE_TOUCH_UPDATED, WSPRUNE_TOUCH_LEGACY or WSPRUNE_TOUCH_CORRUPTED;
/// on an error it is left as it was. Statuses, borrowing and error ownership
/// as for `wsprune_session_touch`. Thread-safe. Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_touch_outcome(
    workspace_root: *const c_char,
    session_id: *const c_char,
    out_outcome: *mut i32,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        let outcome = crate::session::touch_session(root, id)?;
        if !out_outcome.is_null() {
            *out_outcome = touch_code(Some(&outcome));
        }
        Ok(())
    });
    report(error, r)
}
