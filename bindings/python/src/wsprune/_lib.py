"""The one place that loads libwsprune and declares every C signature."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import List

__all__ = ["lib", "LOG_FN", "library_path", "PruneOptions", "SessionDetails"]

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


def _load() -> "tuple[ctypes.CDLL, str]":
    tried: List[str] = []
    candidates: List[str] = []
    env = os.environ.get("WSPRUNE_LIBRARY")
    if env:
        candidates.append(env)
    else:
        tried.append("WSPRUNE_LIBRARY (not set)")
    here = Path(__file__).resolve().parent
    for name in ("libwsprune.so", "libwsprune.so.0"):
        candidates.append(str(here / name))
    found = ctypes.util.find_library("wsprune")
    if found:
        candidates.append(found)
    else:
        tried.append("ctypes.util.find_library('wsprune') (found nothing)")
    candidates.append("libwsprune.so.0")
    for c in candidates:
        try:
            return ctypes.CDLL(c), c
        except OSError as e:
            tried.append(f"{c} ({e})")
    raise ImportError(
        "wsprune: cannot load the libwsprune shared library; tried: " + "; ".join(tried)
        + ". Set WSPRUNE_LIBRARY to the path of libwsprune.so, or install it (make install)."
    )


lib, library_path = _load()

_P = ctypes.c_void_p
_S = ctypes.c_char_p
_ERR = ctypes.POINTER(ctypes.c_void_p)

for _name, _res, _args in [
    ("wsprune_status_name", _S, [ctypes.c_int]),
    ("wsprune_version", _S, []),
    ("wsprune_error_status", ctypes.c_int, [_P]),
    ("wsprune_error_message", _S, [_P]),
    ("wsprune_error_free", None, [_P]),
    ("wsprune_string_free", None, [_P]),
    ("wsprune_session_create", ctypes.c_int, [_S, _S, ctypes.c_char_p, ctypes.c_size_t, _ERR]),
    ("wsprune_session_touch", ctypes.c_int, [_S, _S, _ERR]),
    ("wsprune_session_acquire", ctypes.c_int, [_S, _S, ctypes.POINTER(ctypes.c_void_p), _ERR]),
    ("wsprune_lease_release", ctypes.c_int, [_P, ctypes.c_bool, _ERR]),
    ("wsprune_prune_sessions", _P, [_S, ctypes.c_double, ctypes.c_bool, _ERR]),
    ("wsprune_prune_result_deleted_count", ctypes.c_size_t, [_P]),
    ("wsprune_prune_result_deleted_id", _S, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_skipped_count", ctypes.c_size_t, [_P]),
    ("wsprune_prune_result_skipped_id", _S, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_skipped_reason", _S, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_error_count", ctypes.c_size_t, [_P]),
    ("wsprune_prune_result_error_id", _S, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_error_message", _S, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_reclaimed_bytes", ctypes.c_uint64, [_P]),
    ("wsprune_prune_result_dry_run", ctypes.c_bool, [_P]),
    ("wsprune_prune_result_summary", _S, [_P]),
    # Returns an owned char*: declared as a pointer so ctypes does not copy and lose it.
    ("wsprune_prune_result_to_json", _P, [_P]),
    ("wsprune_prune_result_free", None, [_P]),
    ("wsprune_set_log_callback", None, [LOG_FN, _P]),
    ("wsprune_prune_options_init", ctypes.c_int, [ctypes.POINTER(PruneOptions), ctypes.c_size_t]),
    ("wsprune_prune_sessions_with_options", _P, [_S, ctypes.POINTER(PruneOptions), _ERR]),
    ("wsprune_prune_result_deleted_rule", _S, [_P, ctypes.c_size_t]),
    ("wsprune_session_delete", ctypes.c_int, [_S, _S, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint64), _ERR]),
    ("wsprune_session_info", ctypes.c_int, [_S, _S, ctypes.POINTER(SessionDetails), _ERR]),
    # *out_json is an owned char*: a void* out-parameter, freed with wsprune_string_free.
    ("wsprune_session_open", ctypes.c_int,
     [_S, _S, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_bool), _ERR]),
    ("wsprune_prune_result_interrupted_count", ctypes.c_size_t, [_P]),
    ("wsprune_prune_result_interrupted_name", _S, [_P, ctypes.c_size_t]),
    ("wsprune_repair_sessions", ctypes.c_int, [_S, ctypes.c_bool, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p), _ERR]),
]:
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
