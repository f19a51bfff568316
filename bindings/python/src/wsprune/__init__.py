"""wsprune: session workspace metadata, leases and safe pruning for
code-execution sandboxes, through the libwsprune C library (ctypes).

A drop-in for the reference Python implementation's API::

    import wsprune
    sid = wsprune.create_session("/var/lib/sandbox/ws")
    with wsprune.lease("/var/lib/sandbox/ws", sid):   # touches on clean exit
        run_code()
    result = wsprune.prune_sessions(24.0, "/var/lib/sandbox/ws", dry_run=True)
    print(result)  # Would prune 0 sessions (0 skipped, 0 errors), would reclaim 0 B
"""

from __future__ import annotations

import ctypes
import json
import logging
import math
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Type, Union

from ._lib import LOG_FN, lib, library_path

__all__ = [
    "AlreadyExistsError",
    "BusyError",
    "Event",
    "InvalidArgumentError",
    "InvalidSessionIdError",
    "Lease",
    "NotFoundError",
    "PanicError",
    "PruneResult",
    "SessionMetadata",
    "WsPruneError",
    "WsPruneIOError",
    "create_session",
    "lease",
    "library_path",
    "prune_sessions",
    "read_session_metadata",
    "set_logger",
    "touch_session",
    "version",
]

PathLike = Union[str, "os.PathLike[str]", bytes]


# ---- errors -----------------------------------------------------------------


class WsPruneError(Exception):
    """A failed wsprune call: ``status`` (the C status value), ``status_name``
    (e.g. ``"WSPRUNE_STATUS_NOT_FOUND"``) and the library's message."""

    status: int = -1

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message

    @property
    def status_name(self) -> str:
        return str(lib.wsprune_status_name(self.status).decode())


class InvalidArgumentError(WsPruneError, ValueError):
    """A bad argument: empty root, NaN or negative hours, non-UTF-8 text."""

    status = 1


class InvalidSessionIdError(WsPruneError, ValueError):
    """The session id is not a UUID (every traversal attempt lands here)."""

    status = 2


class NotFoundError(WsPruneError, FileNotFoundError):
    """The session (or workspace root) does not exist."""

    status = 3


class AlreadyExistsError(WsPruneError, FileExistsError):
    """A session with that id already exists."""

    status = 4


class BusyError(WsPruneError):
    """The session is held exclusively by a prune deleting it."""

    status = 5


class WsPruneIOError(WsPruneError, OSError):
    """An operating-system error."""

    status = 6


class PanicError(WsPruneError):
    """A bug inside libwsprune, caught at its boundary."""

    status = 7


_BY_STATUS: Dict[int, Type[WsPruneError]] = {
    c.status: c
    for c in (
        InvalidArgumentError,
        InvalidSessionIdError,
        NotFoundError,
        AlreadyExistsError,
        BusyError,
        WsPruneIOError,
        PanicError,
    )
}


def _raise(status: int, err: ctypes.c_void_p) -> None:
    """Turns a failed call's status and owned error into an exception (freeing the error)."""
    if err.value:
        message = (lib.wsprune_error_message(err) or b"").decode("utf-8", "replace")
        lib.wsprune_error_free(err)
    else:
        message = lib.wsprune_status_name(status).decode()
    cls = _BY_STATUS.get(status, WsPruneError)
    raise cls(message, status)


def _check(status: int, err: ctypes.c_void_p) -> None:
    if status != 0:
        _raise(status, err)


def _path(p: PathLike) -> bytes:
    return os.fsencode(p)


def _id(session_id: str) -> bytes:
    if not isinstance(session_id, str):
        raise InvalidSessionIdError(f"session id must be a str, not {type(session_id).__name__}", 2)
    if "\0" in session_id:
        raise InvalidSessionIdError(f"invalid session id {session_id!r}", 2)
    return session_id.encode("utf-8", "surrogateescape")


def version() -> str:
    """The libwsprune version."""
    return str(lib.wsprune_version().decode())


# ---- events -----------------------------------------------------------------

_LEVELS = {0: "debug", 1: "info", 2: "warning", 3: "error"}
_LOGGING_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True)
class Event:
    """A structured event, e.g. ``session.prune.deleted`` with its fields."""

    level: str
    name: str
    fields: Dict[str, Any]


Logger = Union[Callable[[Event], None], logging.Logger]


def _dispatch(logger: Logger, event: Event) -> None:
    if isinstance(logger, logging.Logger):
        logger.log(
            _LOGGING_LEVELS[event.level],
            "%s %s",
            event.name,
            json.dumps(event.fields, sort_keys=True),
            extra={"event": event.name, "fields": event.fields},
        )
    else:
        logger(event)


_log_lock = threading.RLock()
_global_logger: Optional[Logger] = None
_call_logger: Optional[Logger] = None
_c_callback: Any = None  # keeps the CFUNCTYPE object alive while installed


def _on_event(_user_data: Optional[int], level: int, name: bytes, fields_json: bytes) -> None:
    target = _call_logger if _call_logger is not None else _global_logger
    if target is None:
        return
    try:
        event = Event(_LEVELS.get(level, "info"), name.decode(), json.loads(fields_json.decode()))
        _dispatch(target, event)
    except Exception:  # an exception must never unwind into C
        logging.getLogger("wsprune").exception("wsprune logger raised")


def _reinstall() -> None:
    global _c_callback
    if _global_logger is None and _call_logger is None:
        # wsprune_set_log_callback waits for running callbacks before returning,
        # so the old CFUNCTYPE object may be dropped right after.
        lib.wsprune_set_log_callback(LOG_FN(), None)
        _c_callback = None
    elif _c_callback is None:
        _c_callback = LOG_FN(_on_event)
        lib.wsprune_set_log_callback(_c_callback, None)


def set_logger(logger: Optional[Logger]) -> None:
    """Sends events from every wsprune call (create, touch, prune) to
    ``logger``: a callable taking an :class:`Event`, or a :class:`logging.Logger`
    (events are logged at their level as ``"<name> <fields JSON>"`` with
    ``extra={"event": name, "fields": fields}``). ``None`` turns events off."""
    global _global_logger
    with _log_lock:
        _global_logger = logger
        _reinstall()


# ---- metadata -----------------------------------------------------------------


def _parse_ts(value: str) -> datetime:
    text = value.replace("Z", "+00:00") if value.endswith("Z") else value
    dt = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _format_ts(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class SessionMetadata:
    """The contents of ``<root>/<session_id>/.metadata.json``."""

    session_id: str
    created_at: datetime
    updated_at: datetime
    version: int = 1

    def to_dict(self) -> Dict[str, Any]:
        return {
            "session_id": self.session_id,
            "created_at": _format_ts(self.created_at),
            "updated_at": _format_ts(self.updated_at),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "SessionMetadata":
        """Accepts wsprune's ``Z`` timestamps, ``+00:00`` offsets and naive
        timestamps (taken as UTC)."""
        return cls(
            session_id=str(data["session_id"]),
            created_at=_parse_ts(str(data["created_at"])),
            updated_at=_parse_ts(str(data["updated_at"])),
            version=int(data.get("version", 1)),
        )


def read_session_metadata(session_id: str, workspace_root: PathLike) -> Optional[SessionMetadata]:
    """The session's metadata, or ``None`` if it is missing or corrupted
    (the reference implementation's ``_read_session_metadata``)."""
    _id(session_id)
    path = Path(os.fsdecode(workspace_root)) / session_id / ".metadata.json"
    try:
        if not path.is_file() or path.is_symlink():
            return None
        data = json.loads(path.read_bytes())
        return SessionMetadata.from_dict(data) if isinstance(data, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ---- sessions -----------------------------------------------------------------


def create_session(workspace_root: PathLike, session_id: Optional[str] = None) -> str:
    """Creates a session (a new UUIDv4 unless ``session_id`` is given) with
    its metadata; the root is created if missing. Returns the id."""
    err = ctypes.c_void_p()
    out = ctypes.create_string_buffer(37)
    sid = None if session_id is None else _id(session_id)
    _check(lib.wsprune_session_create(_path(workspace_root), sid, out, 37, ctypes.byref(err)), err)
    return out.value.decode()


def touch_session(workspace_root: PathLike, session_id: str) -> None:
    """Sets the session's ``updated_at`` to now. Legacy sessions (no
    metadata) and corrupted metadata are not errors (a warning event is
    emitted for the latter); a missing session raises :class:`NotFoundError`."""
    err = ctypes.c_void_p()
    _check(lib.wsprune_session_touch(_path(workspace_root), _id(session_id), ctypes.byref(err)), err)


class Lease:
    """A lease on a session while code runs in it: a prune skips the session
    as ``"in_use"``. A context manager: a clean exit releases with a touch,
    an exception releases without one. :meth:`release` is idempotent."""

    def __init__(self, workspace_root: PathLike, session_id: str) -> None:
        self.session_id = session_id
        self._handle = ctypes.c_void_p()
        self._lock = threading.Lock()
        err = ctypes.c_void_p()
        _check(
            lib.wsprune_session_acquire(
                _path(workspace_root), _id(session_id), ctypes.byref(self._handle), ctypes.byref(err)
            ),
            err,
        )

    @property
    def released(self) -> bool:
        return not self._handle.value

    def release(self, touch: bool = False) -> None:
        """Releases the lease, first touching the session if ``touch``. The
        lease is released even when the touch fails (the error is raised).
        A second call does nothing."""
        with self._lock:
            if not self._handle.value:
                return
            handle, self._handle = self._handle, ctypes.c_void_p()
            err = ctypes.c_void_p()
            _check(lib.wsprune_lease_release(handle, touch, ctypes.byref(err)), err)

    def __enter__(self) -> "Lease":
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.release(touch=exc_type is None)

    def __del__(self) -> None:
        try:
            self.release(touch=False)
        except Exception:
            pass


def lease(workspace_root: PathLike, session_id: str) -> Lease:
    """Takes a lease on the session (see :class:`Lease`)::

    with wsprune.lease(root, sid):
        run(...)
    """
    return Lease(workspace_root, session_id)


# ---- pruning -----------------------------------------------------------------


@dataclass
class PruneResult:
    """What a prune deleted (or would), skipped (with reasons), failed on,
    and the bytes reclaimed. ``str()`` is the human summary."""

    deleted_sessions: List[str] = field(default_factory=list)
    skipped_sessions: List[str] = field(default_factory=list)
    reclaimed_bytes: int = 0
    errors: Dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    skipped_reasons: Dict[str, str] = field(default_factory=dict)
    summary: str = ""

    def __str__(self) -> str:
        return self.summary


def _copy_result(r: int) -> PruneResult:
    def s(b: Optional[bytes]) -> str:
        return (b or b"").decode("utf-8", "replace")

    res = PruneResult(dry_run=bool(lib.wsprune_prune_result_dry_run(r)))
    res.deleted_sessions = [s(lib.wsprune_prune_result_deleted_id(r, i)) for i in range(lib.wsprune_prune_result_deleted_count(r))]
    for i in range(lib.wsprune_prune_result_skipped_count(r)):
        sid = s(lib.wsprune_prune_result_skipped_id(r, i))
        res.skipped_sessions.append(sid)
        res.skipped_reasons[sid] = s(lib.wsprune_prune_result_skipped_reason(r, i))
    for i in range(lib.wsprune_prune_result_error_count(r)):
        res.errors[s(lib.wsprune_prune_result_error_id(r, i))] = s(lib.wsprune_prune_result_error_message(r, i))
    res.reclaimed_bytes = int(lib.wsprune_prune_result_reclaimed_bytes(r))
    res.summary = s(lib.wsprune_prune_result_summary(r))
    return res


def prune_sessions(
    older_than_hours: float = 24.0,
    workspace_root: Optional[PathLike] = None,
    dry_run: bool = False,
    logger: Optional[Logger] = None,
) -> PruneResult:
    """Deletes sessions not used for ``older_than_hours`` (``dry_run``: only
    reports). ``workspace_root`` defaults to ``$WSPRUNE_WORKSPACE_ROOT``.
    ``logger`` (a callable taking an :class:`Event`, or a
    :class:`logging.Logger`) receives this prune's events; while it runs it
    also receives events of wsprune calls made concurrently by other threads.
    Raises :class:`InvalidArgumentError` (a ``ValueError``) for a NaN,
    negative or infinite threshold."""
    global _call_logger
    if workspace_root is None:
        env = os.environ.get("WSPRUNE_WORKSPACE_ROOT")
        if not env:
            raise InvalidArgumentError("workspace_root is None and WSPRUNE_WORKSPACE_ROOT is not set", 1)
        workspace_root = env
    hours = float(older_than_hours)
    if math.isnan(hours) or math.isinf(hours) or hours < 0:
        raise InvalidArgumentError(f"older_than_hours must be a finite number >= 0, got {older_than_hours!r}", 1)
    err = ctypes.c_void_p()
    root = _path(workspace_root)
    if logger is None:
        r = lib.wsprune_prune_sessions(root, hours, bool(dry_run), ctypes.byref(err))
    else:
        # Logged prunes take turns, so each sees its own events.
        with _log_lock:
            previous, _call_logger = _call_logger, logger
            _reinstall()
            try:
                r = lib.wsprune_prune_sessions(root, hours, bool(dry_run), ctypes.byref(err))
            finally:
                _call_logger = previous
                _reinstall()
    if not r:
        _raise(lib.wsprune_error_status(err) if err.value else 1, err)
    try:
        return _copy_result(r)
    finally:
        lib.wsprune_prune_result_free(r)
