"""The one place that loads libwsprune and declares every C signature."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import Any, List

__all__ = ["lib", "LOG_FN", "LibraryError", "library_path", "library_version", "has", "need", "PruneOptions", "SessionDetails"]

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


class LibraryError(ImportError):
    """libwsprune could not be loaded, or is not one this package can use."""


#: The oldest libwsprune this package works with (every symbol in
#: ``_REQUIRED`` exists from this version on).
MIN_VERSION = (0, 2, 0)


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


def _parse_version(text: str) -> "tuple[int, ...]":
    out = []
    for part in text.split("-", 1)[0].split(".")[:3]:
        out.append(int(part) if part.isdigit() else 0)
    return tuple(out)


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

_REQUIRED = [
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
    ("wsprune_prune_result_unmet_target_count", ctypes.c_size_t, [_P]),
    ("wsprune_prune_result_unmet_target", _S, [_P, ctypes.c_size_t]),
    ("wsprune_session_delete", ctypes.c_int, [_S, _S, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint64), _ERR]),
    ("wsprune_session_info", ctypes.c_int, [_S, _S, ctypes.POINTER(SessionDetails), _ERR]),
    # *out_json is an owned char*: a void* out-parameter, freed with wsprune_string_free.
    ("wsprune_session_open", ctypes.c_int,
     [_S, _S, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_bool), _ERR]),
    ("wsprune_prune_result_interrupted_count", ctypes.c_size_t, [_P]),
    ("wsprune_prune_result_interrupted_name", _S, [_P, ctypes.c_size_t]),
    ("wsprune_repair_sessions", ctypes.c_int, [_S, ctypes.c_bool, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p), _ERR]),
    # 0.4.0: each deleted session's bytes and idle age, each finished trash
    # directory's bytes, each unmet target's target and actual value.
    ("wsprune_prune_result_deleted_bytes", ctypes.c_uint64, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_deleted_age_hours", ctypes.c_double, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_interrupted_bytes", ctypes.c_uint64, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_unmet_target_value", ctypes.c_uint64, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_unmet_actual", ctypes.c_uint64, [_P, ctypes.c_size_t]),

]

# Additions of libwsprune 0.3.0 (CHANGELOG.md). Optional so that this
# package still loads an older library; the calls that need one of them
# raise through ``need()``, naming the version.
_OPTIONAL = [
    ("wsprune_session_open", ctypes.c_int, [_S, _S, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_bool), _ERR]),
    ("wsprune_prune_result_interrupted_count", ctypes.c_size_t, [_P]),
    ("wsprune_prune_result_interrupted_name", _S, [_P, ctypes.c_size_t]),
    ("wsprune_prune_result_unmet_target_count", ctypes.c_size_t, [_P]),
    ("wsprune_prune_result_unmet_target", _S, [_P, ctypes.c_size_t]),
    # *out_json is an owned char*: a void* out-parameter, freed with wsprune_string_free.
    ("wsprune_list_sessions", ctypes.c_int, [_S, ctypes.POINTER(ctypes.c_void_p), _ERR]),
    ("wsprune_session_read_metadata", ctypes.c_int, [_S, _S, ctypes.POINTER(ctypes.c_void_p), _ERR]),
]


def _declare() -> None:
    missing = [name for name, _, _ in _REQUIRED if not hasattr(lib, name)]
    if missing or _parse_version(library_version) < MIN_VERSION:
        raise LibraryError(
            f"wsprune: {library_path} is libwsprune {library_version}; this package needs"
            f" libwsprune >= {'.'.join(map(str, MIN_VERSION))}"
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + ". Reinstall the package, or point WSPRUNE_LIBRARY at a matching library."
        )
    for name, res, args in _REQUIRED + [d for d in _OPTIONAL if hasattr(lib, d[0])]:
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args


_declare()


def has(name: str) -> bool:
    """Whether the loaded library exports ``name``."""
    return hasattr(lib, name)


def need(name: str) -> Any:
    """The C function ``name``, or a :class:`LibraryError` naming the loaded
    library's version when it is too old to have it."""
    if not hasattr(lib, name):
        raise LibraryError(
            f"wsprune: {library_path} (libwsprune {library_version}) has no {name};"
            " it needs a libwsprune 0.3.0 that does"
        )
    return getattr(lib, name)
