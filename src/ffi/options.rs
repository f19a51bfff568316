//! The versioned `wsprune_prune_options` struct: init and reading a caller's struct of any version.

use super::*;
use crate::labels::Selector;

/// Options of `wsprune_prune_sessions_with_options`. Always start from
/// `wsprune_prune_options_init(&opts, sizeof opts)`, which sets
/// `struct_size` and the defaults, then change fields. Later versions of
/// wsprune only append fields, whose zero value keeps this version's
/// behaviour; `struct_size` tells the library which version the caller was
/// built with, so an older caller keeps working with a newer library, and a
/// newer caller with an older library as long as it leaves the newer fields
/// zero. A zero-filled struct (apart from `struct_size`) deletes nothing but
/// interrupted deletions: every rule is off (and `min_age_hours` is 0, no
/// floor). In every integer field, and in the percentages, 0 means "no such
/// rule", never "a cap of 0" (the other surfaces, which can tell 0 from unset, refuse a cap of 0;
/// see docs/contract.md). A session goes if any enabled
/// rule selects it; size and count rules evict the least recently updated
/// sessions first and never evict one that is leased, updated less than
/// `min_age_hours` ago, or without readable metadata.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsprune_prune_options {
    /// `sizeof(wsprune_prune_options)` as the caller compiled it.
    pub struct_size: usize,
    /// Age rule threshold in hours (0 allowed; NaN, negative and infinite are
    /// WSPRUNE_STATUS_INVALID_ARGUMENT); applies only if `use_older_than`.
    pub older_than_hours: f64,
    /// Floor for the size and count rules, in hours: they never evict a
    /// session updated less than this long ago (default 1 after
    /// `wsprune_prune_options_init`; set 0 explicitly for no floor).
    pub min_age_hours: f64,
    /// Evict until the sessions total at most this many bytes; 0: no such rule.
    pub max_total_bytes: u64,
    /// Keep at most this many sessions; 0: no such rule (to delete every idle
    /// session, use the age rule with 0 hours).
    pub max_sessions: u64,
    /// Evict until the filesystem has this many bytes available; 0: no such rule.
    pub min_free_bytes: u64,
    /// Delete at most this many sessions in this call (oldest first); 0: no limit.
    pub max_deletions: u64,
    /// Sessions handled concurrently; 0 picks a default for the machine.
    pub jobs: u32,
    /// How long to wait, in milliseconds, for another prune of the same root
    /// to finish before failing with WSPRUNE_STATUS_BUSY (default 30000; 0: do not wait).
    pub lock_timeout_ms: u32,
    /// Whether the age rule (`older_than_hours`) is on (default true).
    pub use_older_than: bool,
    /// Report what would go, delete nothing (default false).
    pub dry_run: bool,
    /// `WSPRUNE_FLAG_*` bits (default 0; since 0.4.0). `WSPRUNE_FLAG_SINGLE_HOST`:
    /// no other host uses this root, so a root on NFS, SMB, 9p or FUSE is
    /// pruned (with a "workspace.shared_filesystem" warning event) instead of
    /// refused with WSPRUNE_STATUS_INVALID_ARGUMENT. An unknown bit is
    /// WSPRUNE_STATUS_INVALID_ARGUMENT.
    pub flags: u64,
    /// Evict until the filesystem has at least this percentage of its size
    /// available, in (0, 100]; one rule with `min_free_bytes` (the larger
    /// target wins). 0: no such rule (since 0.4.0).
    pub min_free_percent: f64,
    /// High watermark, percent of the root filesystem's bytes used: once
    /// reached (as the prune begins), evict least recently used sessions down
    /// to `low_watermark_percent`; below it the rule does nothing. In (0, 100];
    /// 0: no such rule (since 0.4.0).
    pub high_watermark_percent: f64,
    /// The level a reached high watermark evicts down to, in (0, high]; 0: the
    /// high watermark itself. Above the high one, or set without it, is
    /// WSPRUNE_STATUS_INVALID_ARGUMENT (since 0.4.0).
    pub low_watermark_percent: f64,
    /// As `high_watermark_percent`, for the filesystem's inodes (since 0.4.0).
    pub high_inode_watermark_percent: f64,
    /// As `low_watermark_percent`, for the filesystem's inodes (since 0.4.0).
    pub low_inode_watermark_percent: f64,
    /// A label selector, NUL-terminated UTF-8 (docs/contract.md, "Labels"):
    /// comma-separated terms that must all hold, `key=value`, `key!=value`,
    /// `key` (present), `!key` (absent), e.g. "owner=alice,tier!=pro". Only
    /// sessions whose labels (from their host-owned records) match are
    /// candidates for any rule, and only they count towards `max_total_bytes`
    /// and `max_sessions`. NULL (the default): every session. An empty or bad
    /// selector is WSPRUNE_STATUS_INVALID_ARGUMENT, naming the term. Borrowed
    /// for the call. Since 0.4.0.
    pub label_selector: *const c_char,
    /// The label whose value names a session's owner for the per-owner caps
    /// (e.g. "owner"), NUL-terminated UTF-8; NULL (the default): no per-owner
    /// caps. Set, it needs one of the caps below, and a cap needs it, else
    /// WSPRUNE_STATUS_INVALID_ARGUMENT. Sessions without a value for it
    /// belong to no owner and no per-owner cap evicts them. Borrowed for the
    /// call. Since 0.4.0.
    pub per_owner: *const c_char,
    /// Keep at most this many sessions per owner, evicting each owner's least
    /// recently used first (rule "max_sessions_per_owner"); 0: no such rule.
    /// Since 0.4.0.
    pub max_sessions_per_owner: u64,
    /// Evict each owner's least recently used sessions until its sessions
    /// take at most this many bytes (rule "max_bytes_per_owner"); 0: no such
    /// rule. Since 0.4.0.
    pub max_bytes_per_owner: u64,
    /// The look-ahead: evaluate the rules as of this time, in microseconds
    /// since the Unix epoch, instead of now (what a prune then would delete;
    /// ages, TTLs and pins at that time, sizes and free space today's). Only
    /// with `dry_run`, else WSPRUNE_STATUS_INVALID_ARGUMENT. 0: now. Since 0.4.0.
    pub as_of_us: i64,
}

/// Flag of `wsprune_prune_options.flags` and `wsprune_session_delete_with_flags`:
/// the caller declares that no other host uses the workspace root. Without
/// it, a root on a filesystem where a lease (a `flock` on a directory) is
/// kept by this host only (NFS, SMB/CIFS, 9p, FUSE and the like) is refused
/// with WSPRUNE_STATUS_INVALID_ARGUMENT, since a prune on one host could
/// delete a session another host holds leased; with it, the operation
/// proceeds and emits a "workspace.shared_filesystem" warning event.
pub const WSPRUNE_FLAG_SINGLE_HOST: u64 = 1;

/// Flag of `wsprune_session_delete_with_flags`: delete the session even if
/// it is pinned (without it a pinned session is
/// WSPRUNE_STATUS_INVALID_ARGUMENT). Refused in `wsprune_prune_options.flags`:
/// no prune deletes a pinned session. Since 0.4.0.
pub const WSPRUNE_FLAG_FORCE: u64 = 2;

/// The flags a prune knows; any other bit is refused.
const KNOWN_FLAGS: u64 = WSPRUNE_FLAG_SINGLE_HOST;

/// Reads the `WSPRUNE_FLAG_*` bits of a deletion: whether single-host use
/// is declared and whether a pinned session is deleted too.
pub(crate) fn read_delete_flags(flags: u64) -> Result<(bool, bool)> {
    let single_host = read_flags(flags & !WSPRUNE_FLAG_FORCE)?;
    Ok((single_host, flags & WSPRUNE_FLAG_FORCE != 0))
}

/// Reads `WSPRUNE_FLAG_*` bits of a prune: whether single-host use is declared.
pub(crate) fn read_flags(flags: u64) -> Result<bool> {
    if flags & WSPRUNE_FLAG_FORCE != 0 {
        return Err(Error::new(
            Status::InvalidArgument,
            "WSPRUNE_FLAG_FORCE applies to wsprune_session_delete_with_flags only: no prune deletes a pinned session",
        ));
    }
    if flags & !KNOWN_FLAGS != 0 {
        return Err(Error::new(
            Status::InvalidArgument,
            format!(
                "flags {flags:#x} set bits this version of wsprune ({}) does not know",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    Ok(flags & WSPRUNE_FLAG_SINGLE_HOST != 0)
}

/// Fills the caller's options struct `*opts`, of `size` bytes (pass
/// `sizeof *opts`), with the defaults: `struct_size = size`, the age rule on
/// at 24 hours, no size or count rule, `min_age_hours` 1 (the floor of the
/// size and count rules; 0 before 0.3.0), `jobs` 0
/// (automatic), `lock_timeout_ms` 30000, not a dry run. Writes at most `size`
/// bytes (fields of a newer version than this library are zeroed). `opts` is
/// borrowed; NULL or a `size` smaller than the first version's struct gives
/// WSPRUNE_STATUS_INVALID_ARGUMENT. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_options_init(opts: *mut wsprune_prune_options, size: usize) -> wsprune_status {
    if opts.is_null() || check_struct_size(size, PRUNE_OPTIONS_V1, "size", "wsprune_prune_options").is_err() {
        return wsprune_status::WSPRUNE_STATUS_INVALID_ARGUMENT;
    }
    let d = PruneOptions::default();
    write_struct(
        opts,
        size,
        wsprune_prune_options {
            struct_size: size,
            older_than_hours: d.older_than_hours.unwrap_or(24.0),
            min_age_hours: d.min_age_hours,
            max_total_bytes: 0,
            max_sessions: 0,
            min_free_bytes: 0,
            max_deletions: 0,
            jobs: 0,
            lock_timeout_ms: d.lock_timeout.as_millis() as u32,
            use_older_than: true,
            dry_run: false,
            flags: 0,
            min_free_percent: 0.0,
            high_watermark_percent: 0.0,
            low_watermark_percent: 0.0,
            high_inode_watermark_percent: 0.0,
            low_inode_watermark_percent: 0.0,
            label_selector: std::ptr::null(),
            per_owner: std::ptr::null(),
            max_sessions_per_owner: 0,
            max_bytes_per_owner: 0,
            as_of_us: 0,
        },
    );
    wsprune_status::WSPRUNE_STATUS_OK
}

/// `wsprune_prune_options` as read from a caller: bytes for the `bool`s,
/// which a C caller could have set to a value Rust's `bool` must never hold.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct RawPruneOptions {
    struct_size: usize,
    older_than_hours: f64,
    min_age_hours: f64,
    max_total_bytes: u64,
    max_sessions: u64,
    min_free_bytes: u64,
    max_deletions: u64,
    jobs: u32,
    lock_timeout_ms: u32,
    use_older_than: u8,
    dry_run: u8,
    flags: u64,
    min_free_percent: f64,
    high_watermark_percent: f64,
    low_watermark_percent: f64,
    high_inode_watermark_percent: f64,
    low_inode_watermark_percent: f64,
    label_selector: *const c_char,
    per_owner: *const c_char,
    max_sessions_per_owner: u64,
    max_bytes_per_owner: u64,
    as_of_us: i64,
}
const _: () = assert!(std::mem::size_of::<RawPruneOptions>() == std::mem::size_of::<wsprune_prune_options>());

/// Reads a caller's options struct, whatever version it was built with.
pub(crate) unsafe fn read_prune_options(p: *const wsprune_prune_options) -> Result<PruneOptions> {
    if p.is_null() {
        return Err(Error::new(Status::InvalidArgument, "options is NULL"));
    }
    let o: RawPruneOptions = read_caller_struct(
        p as *const u8,
        PRUNE_OPTIONS_V1,
        "wsprune_prune_options",
        "wsprune_prune_options_init",
    )?;
    let nonzero = |v: u64| (v != 0).then_some(v);
    // 0.0 is "no such rule"; anything else (NaN and negatives too) is the core's to check.
    let percent = |v: f64| (v != 0.0).then_some(v);
    Ok(PruneOptions {
        older_than_hours: (o.use_older_than != 0).then_some(o.older_than_hours),
        max_total_bytes: nonzero(o.max_total_bytes),
        max_sessions: nonzero(o.max_sessions),
        min_free_bytes: nonzero(o.min_free_bytes),
        min_free_percent: percent(o.min_free_percent),
        high_watermark_percent: percent(o.high_watermark_percent),
        low_watermark_percent: percent(o.low_watermark_percent),
        high_inode_watermark_percent: percent(o.high_inode_watermark_percent),
        low_inode_watermark_percent: percent(o.low_inode_watermark_percent),
        max_deletions: nonzero(o.max_deletions),
        min_age_hours: o.min_age_hours,
        dry_run: o.dry_run != 0,
        jobs: o.jobs as usize,
        lock_timeout: std::time::Duration::from_millis(o.lock_timeout_ms.into()),
        single_host: read_flags(o.flags)?,
        selector: match o.label_selector.is_null() {
            true => None,
            false => Some(Selector::parse(arg_str(o.label_selector, "options->label_selector")?)?),
        },
        per_owner: match o.per_owner.is_null() {
            true => None,
            false => Some(arg_str(o.per_owner, "options->per_owner")?.to_owned()),
        },
        max_sessions_per_owner: nonzero(o.max_sessions_per_owner),
        max_bytes_per_owner: nonzero(o.max_bytes_per_owner),
        as_of: time_from_us(o.as_of_us, "options->as_of_us")?,
    })
}
