"""The one place that loads libwsprune and declares every C signature.

The package needs a library that exports every function it calls
(``REQUIRED``, first all in libwsprune ``MIN_VERSION``); importing it with
one that lacks any raises :class:`LibraryError` naming the library, its
version and what is missing."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import Any, Dict, List, Tuple

__all__ = [
    "lib", "LOG_FN", "FUNCTIONS", "REQUIRED", "MIN_VERSION", "LibraryError", "library_path", "library_version",
    "PruneOptions", "SessionDetails", "SessionOptions", "FLAG_SINGLE_HOST", "STATS_MEASURE_SIZES",
    "STATS_IDLE_BUCKETS",
]

# void (*wsprune_log_fn)(void *user_data, wsprune_level level, const char *event, const char *fields_json)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p)


class PruneOptions(ctypes.Structure):
    """Mirror of ``struct wsprune_prune_options`` (field order and types as in
    wsprune.h). Initialise it with ``wsprune_prune_options_init``."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("older_than_hours", ctypes.c_double),
        ("min_age_hours", ctypes.c_double),
        ("max_total_bytes", ctypes.c_uint64),
        ("max_sessions", ctypes.c_uint64),
        ("min_free_bytes", ctypes.c_uint64),
        ("max_deletions", ctypes.c_uint64),
        ("jobs", ctypes.c_uint32),
        ("lock_timeout_ms", ctypes.c_uint32),
        ("use_older_than", ctypes.c_bool),
        ("dry_run", ctypes.c_bool),
        ("flags", ctypes.c_uint64),
        ("min_free_percent", ctypes.c_double),
        ("high_watermark_percent", ctypes.c_double),
        ("low_watermark_percent", ctypes.c_double),
        ("high_inode_watermark_percent", ctypes.c_double),
        ("low_inode_watermark_percent", ctypes.c_double),
        ("label_selector", ctypes.c_char_p),
        ("per_owner", ctypes.c_char_p),
        ("max_sessions_per_owner", ctypes.c_uint64),
        ("max_bytes_per_owner", ctypes.c_uint64),
        ("as_of_us", ctypes.c_int64),
    ]

# wsprune_prune_options.flags / wsprune_session_delete_with_flags: no other host uses the root.
FLAG_SINGLE_HOST = 1
# wsprune_session_delete_with_flags: delete the session even if it is pinned.
FLAG_FORCE = 2
# wsprune_workspace_stats: walk every session to sum its size.
STATS_MEASURE_SIZES = 1
# WSPRUNE_STATS_IDLE_BUCKETS: 1 h, 6 h, 24 h, 7 d, 30 d, +Inf.
STATS_IDLE_BUCKETS = 6


class SessionOptions(ctypes.Structure):
    """Mirror of ``struct wsprune_session_options`` (field order and types as
    in wsprune.h). Initialise it with ``wsprune_session_options_init``."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("dir_mode", ctypes.c_uint32),
        ("adopt", ctypes.c_bool),
        ("reserved", ctypes.POINTER(ctypes.c_char_p)),
        ("reserved_count", ctypes.c_size_t),
        ("idle_ttl_seconds", ctypes.c_uint64),
        ("expires_at_us", ctypes.c_int64),
        ("labels", ctypes.POINTER(ctypes.c_char_p)),
        ("labels_count", ctypes.c_size_t),
    ]


class SessionDetails(ctypes.Structure):
    """Mirror of ``struct wsprune_session_details``, what
    ``wsprune_session_info`` fills (field order and types as in wsprune.h).
    Set ``struct_size`` to ``ctypes.sizeof(SessionDetails)`` before the call.
    ``state`` holds a ``wsprune_session_state`` value, as an int32_t."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("created_at_us", ctypes.c_int64),
        ("updated_at_us", ctypes.c_int64),
        ("size_bytes", ctypes.c_uint64),
        ("state", ctypes.c_int32),
        ("in_use", ctypes.c_bool),
    ]


class LibraryError(ImportError):
    """libwsprune could not be loaded, or is not one this package can use."""


def _candidates() -> "tuple[List[str], List[str]]":
    """Where to look, in order, and notes on what was not tried."""
    notes: List[str] = []
    env = os.environ.get("WSPRUNE_LIBRARY")
    if env:
        # An explicit choice is final: falling through to another library
        # would hide a wrong path and silently load something else.
        return [env], notes
    notes.append("WSPRUNE_LIBRARY (not set)")
    here = Path(__file__).resolve().parent
    # The library a wheel bundles (setup.py) comes first.
    paths = [str(here / name) for name in ("libwsprune.so", "libwsprune.so.0")]
    found = ctypes.util.find_library("wsprune")
    if found:
        paths.append(found)
    else:
        notes.append("ctypes.util.find_library('wsprune') (found nothing)")
    paths.append("libwsprune.so.0")
    return paths, notes


def _load() -> "tuple[ctypes.CDLL, str]":
    paths, tried = _candidates()
    explicit = bool(os.environ.get("WSPRUNE_LIBRARY"))
    for c in paths:
        # A bare name ("libwsprune.so.0") is left to the dynamic loader's search.
        if explicit and os.sep in c and not os.path.exists(c):
            raise LibraryError(f"wsprune: WSPRUNE_LIBRARY={c!r} does not exist")
        try:
            return ctypes.CDLL(c), c
        except OSError as e:
            if explicit:
                raise LibraryError(f"wsprune: cannot load WSPRUNE_LIBRARY={c!r}: {e}") from None
            tried.append(f"{c} ({e})")
    raise LibraryError(
        "wsprune: cannot load the libwsprune shared library; tried: " + "; ".join(tried)
        + ". Reinstall the package (pip install bindings/python builds and bundles it),"
        " or set WSPRUNE_LIBRARY to the path of libwsprune.so."
    )


lib, library_path = _load()


def _library_version() -> str:
    try:
        f = lib.wsprune_version
    except AttributeError:
        return "unknown (no wsprune_version: not libwsprune?)"
    f.restype = ctypes.c_char_p
    f.argtypes = []
    return str((f() or b"?").decode("utf-8", "replace"))


#: The loaded library's version (``wsprune_version()``).
library_version = _library_version()

_P = ctypes.c_void_p
_S = ctypes.c_char_p
_ERR = ctypes.POINTER(ctypes.c_void_p)
# An owned char* (to free with wsprune_string_free) is a void*, returned or
# through a void** out-parameter: ctypes would copy a c_char_p and lose it.
_OWNED_OUT = ctypes.POINTER(ctypes.c_void_p)

#: Every C function of include/wsprune.h, as ctypes declares it:
#: name -> (restype, argtypes). tests/test_header.py checks this table
#: against the header, so a C function cannot be added without it.
FUNCTIONS: Dict[str, Tuple[Any, List[Any]]] = {
    "wsprune_status_name": (_S, [ctypes.c_int]),
    "wsprune_version": (_S, []),
    "wsprune_error_status": (ctypes.c_int, [_P]),
    "wsprune_error_message": (_S, [_P]),
    "wsprune_error_free": (None, [_P]),
    "wsprune_string_free": (None, [_P]),
    "wsprune_set_log_callback": (None, [LOG_FN, _P]),
    "wsprune_session_create": (ctypes.c_int, [_S, _S, ctypes.c_char_p, ctypes.c_size_t, _ERR]),
    "wsprune_session_open": (
        ctypes.c_int, [_S, _S, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_bool), _ERR]),
    "wsprune_session_options_init": (ctypes.c_int, [ctypes.POINTER(SessionOptions), ctypes.c_size_t]),
    "wsprune_session_create_with_options": (
        ctypes.c_int, [_S, _S, ctypes.POINTER(SessionOptions), ctypes.c_char_p, ctypes.c_size_t, _ERR]),
    "wsprune_session_open_with_options": (
        ctypes.c_int,
        [_S, _S, ctypes.POINTER(SessionOptions), ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_bool), _ERR]),
    "wsprune_migrate_sessions": (ctypes.c_int, [_S, ctypes.c_bool, _OWNED_OUT, _ERR]),
    "wsprune_session_set_labels": (
        ctypes.c_int, [_S, _S, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t, _OWNED_OUT, _ERR]),
    "wsprune_session_touch": (ctypes.c_int, [_S, _S, _ERR]),
    "wsprune_session_touch_outcome": (ctypes.c_int, [_S, _S, ctypes.POINTER(ctypes.c_int32), _ERR]),
    "wsprune_session_acquire": (ctypes.c_int, [_S, _S, ctypes.POINTER(ctypes.c_void_p), _ERR]),
    "wsprune_lease_release": (ctypes.c_int, [_P, ctypes.c_bool, _ERR]),
    "wsprune_lease_release_outcome": (ctypes.c_int, [_P, ctypes.c_bool, ctypes.POINTER(ctypes.c_int32), _ERR]),
    "wsprune_session_delete": (
        ctypes.c_int, [_S, _S, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint64), _ERR]),
    "wsprune_session_delete_with_flags": (
        ctypes.c_int, [_S, _S, ctypes.c_uint32, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64), _ERR]),
    "wsprune_session_info": (ctypes.c_int, [_S, _S, ctypes.POINTER(SessionDetails), _ERR]),
    "wsprune_session_pin": (ctypes.c_int, [_S, _S, ctypes.c_int64, _ERR]),
    "wsprune_session_unpin": (ctypes.c_int, [_S, _S, _ERR]),
    "wsprune_session_set_ttl": (ctypes.c_int, [_S, _S, ctypes.c_uint64, ctypes.c_int64, _ERR]),
    "wsprune_session_read_metadata": (ctypes.c_int, [_S, _S, _OWNED_OUT, _ERR]),
    "wsprune_list_sessions": (ctypes.c_int, [_S, _OWNED_OUT, _ERR]),
    "wsprune_repair_sessions": (ctypes.c_int, [_S, ctypes.c_bool, ctypes.POINTER(ctypes.c_size_t), _OWNED_OUT, _ERR]),
    "wsprune_prune_options_init": (ctypes.c_int, [ctypes.POINTER(PruneOptions), ctypes.c_size_t]),
    "wsprune_prune_sessions": (_P, [_S, ctypes.c_double, ctypes.c_bool, _ERR]),
    "wsprune_prune_sessions_with_options": (_P, [_S, ctypes.POINTER(PruneOptions), _ERR]),
    "wsprune_prune_result_deleted_count": (ctypes.c_size_t, [_P]),
    "wsprune_prune_result_deleted_id": (_S, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_deleted_rule": (_S, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_deleted_bytes": (ctypes.c_uint64, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_deleted_age_hours": (ctypes.c_double, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_skipped_count": (ctypes.c_size_t, [_P]),
    "wsprune_prune_result_skipped_id": (_S, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_skipped_reason": (_S, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_error_count": (ctypes.c_size_t, [_P]),
    "wsprune_prune_result_error_id": (_S, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_error_message": (_S, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_interrupted_count": (ctypes.c_size_t, [_P]),
    "wsprune_prune_result_interrupted_name": (_S, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_interrupted_bytes": (ctypes.c_uint64, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_unmet_target_count": (ctypes.c_size_t, [_P]),
    "wsprune_prune_result_unmet_target": (_S, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_unmet_target_value": (ctypes.c_uint64, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_unmet_actual": (ctypes.c_uint64, [_P, ctypes.c_size_t]),
    "wsprune_prune_result_reclaimed_bytes": (ctypes.c_uint64, [_P]),
    "wsprune_prune_result_dry_run": (ctypes.c_bool, [_P]),
    "wsprune_prune_result_summary": (_S, [_P]),
    "wsprune_prune_result_to_json": (_P, [_P]),
    "wsprune_prune_result_free": (None, [_P]),
    "wsprune_workspace_stats": (_P, [_S, ctypes.c_uint64, _ERR]),
    "wsprune_stats_sessions": (ctypes.c_uint64, [_P, ctypes.c_int]),
    "wsprune_stats_leased": (ctypes.c_uint64, [_P]),
    "wsprune_stats_sizes_measured": (ctypes.c_bool, [_P]),
    "wsprune_stats_total_bytes": (ctypes.c_uint64, [_P]),
    "wsprune_stats_idle_bucket_upper_seconds": (ctypes.c_double, [_P, ctypes.c_size_t]),
    "wsprune_stats_idle_bucket_sessions": (ctypes.c_uint64, [_P, ctypes.c_size_t]),
    "wsprune_stats_idle_bucket_bytes": (ctypes.c_uint64, [_P, ctypes.c_size_t]),
    "wsprune_stats_oldest_idle_seconds": (ctypes.c_double, [_P]),
    "wsprune_stats_fs_size_bytes": (ctypes.c_uint64, [_P]),
    "wsprune_stats_fs_available_bytes": (ctypes.c_uint64, [_P]),
    "wsprune_stats_fs_inodes": (ctypes.c_uint64, [_P]),
    "wsprune_stats_fs_free_inodes": (ctypes.c_uint64, [_P]),
    "wsprune_stats_collected_at_us": (ctypes.c_int64, [_P]),
    "wsprune_stats_free": (None, [_P]),
}

#: The functions this package calls (tests/test_header.py checks that this is
#: exactly the set its modules call). The loaded library must export every
#: one; the others of ``FUNCTIONS`` are declared when it has them.
REQUIRED = frozenset({
    "wsprune_workspace_stats", "wsprune_stats_sessions", "wsprune_stats_leased", "wsprune_stats_sizes_measured",
    "wsprune_stats_total_bytes", "wsprune_stats_idle_bucket_upper_seconds", "wsprune_stats_idle_bucket_sessions",
    "wsprune_stats_idle_bucket_bytes", "wsprune_stats_oldest_idle_seconds", "wsprune_stats_fs_size_bytes",
    "wsprune_stats_fs_available_bytes", "wsprune_stats_fs_inodes", "wsprune_stats_fs_free_inodes",
    "wsprune_stats_collected_at_us", "wsprune_stats_free",
    "wsprune_status_name", "wsprune_version", "wsprune_error_status", "wsprune_error_message",
    "wsprune_error_free", "wsprune_string_free", "wsprune_set_log_callback",
    "wsprune_session_create", "wsprune_session_open", "wsprune_session_touch_outcome", "wsprune_session_acquire",
    "wsprune_lease_release_outcome", "wsprune_session_delete_with_flags", "wsprune_session_info", "wsprune_session_read_metadata",
    "wsprune_session_options_init", "wsprune_session_create_with_options", "wsprune_session_open_with_options",
    "wsprune_migrate_sessions", "wsprune_session_set_labels",
    "wsprune_session_pin", "wsprune_session_unpin", "wsprune_session_set_ttl",
    "wsprune_list_sessions", "wsprune_repair_sessions", "wsprune_prune_options_init",
    "wsprune_prune_sessions_with_options",
    "wsprune_prune_result_deleted_count", "wsprune_prune_result_deleted_id", "wsprune_prune_result_deleted_rule",
    "wsprune_prune_result_deleted_bytes", "wsprune_prune_result_deleted_age_hours",
    "wsprune_prune_result_skipped_count", "wsprune_prune_result_skipped_id", "wsprune_prune_result_skipped_reason",
    "wsprune_prune_result_error_count", "wsprune_prune_result_error_id", "wsprune_prune_result_error_message",
    "wsprune_prune_result_interrupted_count", "wsprune_prune_result_interrupted_name",
    "wsprune_prune_result_interrupted_bytes", "wsprune_prune_result_unmet_target_count",
    "wsprune_prune_result_unmet_target", "wsprune_prune_result_unmet_target_value",
    "wsprune_prune_result_unmet_actual", "wsprune_prune_result_reclaimed_bytes", "wsprune_prune_result_dry_run",
    "wsprune_prune_result_summary", "wsprune_prune_result_free",
})

#: The first libwsprune that exports every function in ``REQUIRED`` (the
#: newest the package calls are 0.4.0's per-session result accessors); named
#: in the error when the loaded library lacks one. Only the exported
#: functions are checked, not the version string.
MIN_VERSION = (0, 4, 0)


def _declare() -> None:
    missing = sorted(name for name in REQUIRED if not hasattr(lib, name))
    if missing:
        raise LibraryError(
            f"wsprune: {library_path} is libwsprune {library_version}; this package needs"
            f" libwsprune >= {'.'.join(map(str, MIN_VERSION))} (missing: {', '.join(missing)})."
            " Reinstall the package, or point WSPRUNE_LIBRARY at a matching library."
        )
    for name, (res, args) in FUNCTIONS.items():
        if hasattr(lib, name):
            f = getattr(lib, name)
            f.restype = res
            f.argtypes = args


_declare()
