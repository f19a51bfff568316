"""The idiomatic API over libwsprune: sessions (create, open, touch,
leases), metadata, pruning and its result, one session's details, listing,
deletion and repair. Every call goes through the C ABI (``_lib``)."""

from __future__ import annotations

import ctypes
import json
import math
import os
import operator
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from types import TracebackType
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Type, Union

from ._errors import (
    InvalidArgumentError,
    InvalidSessionIdError,
    NotFoundError,
    PanicError,
    WsPruneError,
    _check,
    _raise,
)
from ._events import Logger, _events_to
from ._lib import PruneOptions as _CPruneOptions
from ._lib import SessionDetails as _CSessionDetails
from ._lib import SessionOptions as _CSessionOptions
from ._lib import FLAG_FORCE, FLAG_SINGLE_HOST, lib

PathLike = Union[str, "os.PathLike[str]", bytes]


def _path(p: PathLike) -> bytes:
    """A path argument as C gets it: refused (InvalidArgumentError, as every
    surface does) if C would cut it at a NUL or if it has no encoding (a lone
    surrogate outside ``surrogateescape``'s range), never cut or replaced."""
    try:
        b = os.fsencode(p)
    except UnicodeEncodeError:
        raise InvalidArgumentError(f"path {p!r} is not valid Unicode (a lone surrogate)", 1) from None
    if b"\0" in b:
        raise InvalidArgumentError(f"path {p!r} contains a NUL byte", 1)
    return b


def _id(session_id: str) -> bytes:
    if not isinstance(session_id, str):
        raise InvalidSessionIdError(f"session id must be a str, not {type(session_id).__name__}", 2)
    if "\0" in session_id:
        raise InvalidSessionIdError(f"invalid session id {session_id!r}", 2)
    try:
        # Session ids are UTF-8 (a str with lone surrogates is not).
        return session_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidSessionIdError(f"invalid session id {session_id!r}: not valid UTF-8", 2) from None


def version() -> str:
    """The libwsprune version."""
    return str(lib.wsprune_version().decode())


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


def _owned_json(f: Any, *args: Any) -> Any:
    """Calls a C function whose last two parameters are ``char **out_json``
    and the error, and returns the parsed JSON (the string freed), or
    raises the call's error."""
    out_json = ctypes.c_void_p()
    err = ctypes.c_void_p()
    status = f(*args, ctypes.byref(out_json), ctypes.byref(err))
    if status != 0:
        lib.wsprune_string_free(out_json)  # NULL on failure: a no-op
        _raise(status, err)
    if not out_json.value:
        raise PanicError("libwsprune succeeded without its JSON", 7)
    try:
        text = ctypes.string_at(out_json.value).decode("utf-8", "replace")
    finally:
        lib.wsprune_string_free(out_json)
    return json.loads(text)


def _read_metadata_document(workspace_root: PathLike, session_id: str) -> Dict[str, Any]:
    """``wsprune_session_read_metadata``'s JSON: ``session_id``, ``state``,
    ``metadata`` (as stored) and ``problem``. Raises as the C call does."""
    doc: Dict[str, Any] = _owned_json(lib.wsprune_session_read_metadata, _path(workspace_root), _id(session_id))
    return doc


def read_session_metadata(session_id: str, workspace_root: PathLike) -> Optional[SessionMetadata]:
    """The session's metadata, or ``None`` if it is missing (no such session
    or root, or a session without metadata) or corrupted (the reference
    implementation's ``_read_session_metadata``). Read by libwsprune through
    its checked open (a UUID under any spelling; never through a symlink,
    a FIFO or a device node, never outside the root): a session directory
    that is a symlink is no session (``None``). An id that is neither a UUID
    nor a custom id raises :class:`InvalidSessionIdError`; an I/O error (a
    session that is a mount point, say) :class:`WsPruneIOError`."""
    try:
        doc = _read_metadata_document(workspace_root, session_id)
    except NotFoundError:
        return None
    if doc.get("state") != "ok" or not isinstance(doc.get("metadata"), dict):
        return None
    return SessionMetadata.from_dict(doc["metadata"])


# ---- sessions -----------------------------------------------------------------


# Room for any session id the library returns and its NUL
# (WSPRUNE_SESSION_ID_MAX_LEN): a custom id has up to 255
# bytes, a UUID 36.
_ID_BUFFER = 256


def _text(what: str, value: object) -> bytes:
    """A str argument as the NUL-terminated UTF-8 the C library takes;
    InvalidArgumentError for anything a C string cannot carry as it is (a
    NUL, a lone surrogate) rather than cut or replaced."""
    if not isinstance(value, str) or "\0" in value:
        raise InvalidArgumentError(f"{what} {value!r}: expected a str without NUL", 1)
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(f"{what} {value!r}: not valid UTF-8", 1) from None


class _SessionOptions:
    """A ``wsprune_session_options`` built from keyword arguments, with the
    encoded names it points to kept alive as long as it is."""

    def __init__(
        self,
        dir_mode: Optional[int],
        adopt: bool,
        reserved: Iterable[str],
        idle_ttl: "Optional[Union[timedelta, float]]" = None,
        expires_at: Optional[datetime] = None,
        labels: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.c = _CSessionOptions()
        _check(lib.wsprune_session_options_init(ctypes.byref(self.c), ctypes.sizeof(self.c)), ctypes.c_void_p())
        if dir_mode is not None:
            if isinstance(dir_mode, bool) or not isinstance(dir_mode, int):
                raise InvalidArgumentError(f"dir_mode must be an int such as 0o750, not {type(dir_mode).__name__}", 1)
            # 0 is the C struct's "unset": here it is a mode, and one the owner cannot use.
            if not 0 < dir_mode <= 0o777:
                raise InvalidArgumentError(
                    f"session directory mode {dir_mode:o}: expected permission bits (at most 777) with rwx for the owner", 1)
            self.c.dir_mode = dir_mode
        self.c.adopt = bool(adopt)
        if isinstance(reserved, (str, bytes)):
            raise InvalidArgumentError("reserved must be a collection of names, not one name", 1)
        names = [_text("reserved name", name) for name in reserved]
        self._names = (ctypes.c_char_p * len(names))(*names)
        if names:
            self.c.reserved = ctypes.cast(self._names, ctypes.POINTER(ctypes.c_char_p))
            self.c.reserved_count = len(names)
        self.c.idle_ttl_seconds = _ttl_seconds(idle_ttl)
        self.c.expires_at_us = _micros("expires_at", expires_at)
        self._labels = _c_strings(_label_texts(labels))
        if self._labels is not None:
            self.c.labels = ctypes.cast(self._labels, ctypes.POINTER(ctypes.c_char_p))
            self.c.labels_count = len(self._labels)

    @staticmethod
    def of(
        dir_mode: Optional[int],
        adopt: bool,
        reserved: Iterable[str],
        idle_ttl: "Optional[Union[timedelta, float]]" = None,
        expires_at: Optional[datetime] = None,
        labels: Optional[Mapping[str, str]] = None,
    ) -> "Optional[_SessionOptions]":
        """None when every option is unset (the plain C call is used)."""
        unset = idle_ttl is None and expires_at is None and labels is None
        if dir_mode is None and not adopt and isinstance(reserved, tuple) and not reserved and unset:
            return None
        return _SessionOptions(dir_mode, adopt, reserved, idle_ttl, expires_at, labels)


def _micros(name: str, when: Optional[datetime]) -> int:
    """A time as the C ABI takes it (microseconds since the Unix epoch; 0:
    none). A naive datetime is UTC, as the library reads naive timestamps."""
    if when is None:
        return 0
    if not isinstance(when, datetime):
        raise InvalidArgumentError(f"{name} must be a datetime, not {type(when).__name__}", 1)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    us = round((when - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(microseconds=1))
    # 0 is the C ABI's "none": the epoch itself is one microsecond later, never "unset".
    return us if us != 0 else 1


def _ttl_seconds(idle_ttl: "Optional[Union[timedelta, float]]") -> int:
    """An idle TTL (a timedelta or seconds) in whole seconds; 0: none. Less
    than a second is refused (it would read as "none" in C), and so is a
    fraction of a second (never cut off)."""
    if idle_ttl is None:
        return 0
    if isinstance(idle_ttl, timedelta):
        seconds = idle_ttl.total_seconds()
    elif isinstance(idle_ttl, (int, float)) and not isinstance(idle_ttl, bool):
        seconds = float(idle_ttl)
    else:
        raise InvalidArgumentError(f"idle_ttl must be a timedelta or seconds, not {type(idle_ttl).__name__}", 1)
    if not seconds >= 1 or seconds > _U64_MAX:
        raise InvalidArgumentError(f"idle TTL {idle_ttl!r}: expected at least 1 second", 1)
    if seconds != int(seconds) or (isinstance(idle_ttl, timedelta) and idle_ttl.microseconds):
        # Refused, never cut off (docs/contract.md, "Per-session TTL").
        raise InvalidArgumentError(f"idle TTL {idle_ttl!r}: expected a whole number of seconds", 1)
    return int(seconds)


def _label_texts(labels: Optional[Mapping[str, str]]) -> List[bytes]:
    """``labels`` as the C library's "key=value" strings (checked there)."""
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        raise InvalidArgumentError(f"labels must be a mapping of str to str, not {type(labels).__name__}", 1)
    out = []
    for k, v in labels.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise InvalidArgumentError(f"label {k!r}: keys and values must be str", 1)
        out.append(_text("label", f"{k}={v}"))
    return out


def _c_strings(items: List[bytes]) -> "Optional[ctypes.Array[ctypes.c_char_p]]":
    """A C array of the strings (None when there are none), kept alive by the caller."""
    return (ctypes.c_char_p * len(items))(*items) if items else None


def create_session(
    workspace_root: PathLike,
    session_id: Optional[str] = None,
    *,
    dir_mode: Optional[int] = None,
    reserved: Iterable[str] = (),
    idle_ttl: "Optional[Union[timedelta, float]]" = None,
    expires_at: Optional[datetime] = None,
    labels: Optional[Mapping[str, str]] = None,
) -> str:
    """Creates a session (a new UUIDv4 unless ``session_id`` is given) with
    its metadata; the root is created if missing. Returns the id: for a UUID
    in any spelling, its canonical spelling (lowercase, hyphenated), under
    which the session is created and by which (or any other spelling) every
    call finds it. ``session_id`` may also be a custom id: 1 to 255 bytes of
    UTF-8, no ``/`` or control characters, not starting with ``.``, not
    ``site-packages`` (anything else raises :class:`InvalidSessionIdError`).
    An existing session raises :class:`AlreadyExistsError`.

    ``dir_mode``: the session directory's mode before the umask (``None``:
    0700; permission bits with ``rwx`` for the owner, else
    :class:`InvalidArgumentError`). ``reserved``: more names that are never
    a session, besides ``site-packages`` (one of them raises
    :class:`InvalidSessionIdError`). ``idle_ttl`` (a timedelta, or seconds;
    at least 1 s) and ``expires_at`` (a datetime; naive is UTC): the
    session's own TTL, after which a prune deletes it whatever its age rule
    (docs/contract.md, "Per-session TTL"). ``labels``: the session's labels
    (``{"owner": "alice"}``; docs/contract.md, "Labels"; a bad one raises
    :class:`InvalidArgumentError` and nothing is created)."""
    err = ctypes.c_void_p()
    out = ctypes.create_string_buffer(_ID_BUFFER)
    sid = None if session_id is None else _id(session_id)
    opts = _SessionOptions.of(dir_mode, False, reserved, idle_ttl, expires_at, labels)
    if opts is None:
        status = lib.wsprune_session_create(_path(workspace_root), sid, out, _ID_BUFFER, ctypes.byref(err))
    else:
        status = lib.wsprune_session_create_with_options(
            _path(workspace_root), sid, ctypes.byref(opts.c), out, _ID_BUFFER, ctypes.byref(err))
    _check(status, err)
    return out.value.decode()


def open_session(
    workspace_root: PathLike,
    session_id: Optional[str] = None,
    *,
    dir_mode: Optional[int] = None,
    adopt: bool = False,
    reserved: Iterable[str] = (),
    idle_ttl: "Optional[Union[timedelta, float]]" = None,
    expires_at: Optional[datetime] = None,
    labels: Optional[Mapping[str, str]] = None,
) -> Tuple[str, bool]:
    """Opens the session or creates it (the reference runtime's
    create-or-retrieve): a registered session is opened, a directory with
    valid metadata (the reference implementation's, wsprune 0.3's) is
    registered with it, a missing one is created (a new UUIDv4 unless
    ``session_id`` is given). Any other directory (no metadata, or corrupted
    metadata) raises :class:`NotFoundError` unless ``adopt`` is true: then
    it is registered dated now, and a later prune deletes it with what it
    holds. ``dir_mode`` and ``reserved`` as for :func:`create_session` (a
    reserved name raises :class:`InvalidSessionIdError` even with
    ``adopt``). ``idle_ttl`` and ``expires_at`` as for
    :func:`create_session`; given to an existing session, the two replace
    its TTL (neither given leaves it). ``labels`` are given to a new session,
    and set on an existing one (its other labels stay). Returns
    ``(session_id, created)``."""
    err = ctypes.c_void_p()
    out = ctypes.create_string_buffer(_ID_BUFFER)
    created = ctypes.c_bool(False)
    sid = None if session_id is None else _id(session_id)
    opts = _SessionOptions.of(dir_mode, adopt, reserved, idle_ttl, expires_at, labels)
    if opts is None:
        status = lib.wsprune_session_open(
            _path(workspace_root), sid, out, len(out), ctypes.byref(created), ctypes.byref(err))
    else:
        status = lib.wsprune_session_open_with_options(
            _path(workspace_root), sid, ctypes.byref(opts.c), out, len(out), ctypes.byref(created), ctypes.byref(err))
    _check(status, err)
    return out.value.decode(), bool(created.value)


def set_labels(workspace_root: PathLike, session_id: str, *changes: str) -> Dict[str, str]:
    """Sets (``"key=value"``) and removes (``"key-"``) labels of a registered
    session, in order, all checked before any is made, and returns its
    labels (docs/contract.md, "Labels"). A bad change, or one leaving more
    than 32 labels, raises :class:`InvalidArgumentError`; an unregistered
    directory too (:func:`migrate_sessions` or :func:`open_session` registers
    it); a missing session :class:`NotFoundError`."""
    texts = [_text("label change", c) for c in changes]
    arr = _c_strings(texts)
    ptr = None if arr is None else ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
    labels = _owned_json(lib.wsprune_session_set_labels, _path(workspace_root), _id(session_id), ptr, len(texts))
    return {str(k): str(v) for k, v in labels.items()}


#: What a touch did, by the C ABI's ``WSPRUNE_TOUCH_*`` value.
TOUCH_OUTCOMES = {0: "updated", 1: "legacy", 2: "corrupted"}


def touch_session(workspace_root: PathLike, session_id: str) -> str:
    """Sets the session's ``updated_at`` to now and returns what it did:
    ``"updated"``, or ``"legacy"`` / ``"corrupted"`` for a session without
    (usable) metadata, which is left as it is and is not an error (a warning
    event is emitted for corrupted metadata); a missing session raises
    :class:`NotFoundError`."""
    err = ctypes.c_void_p()
    outcome = ctypes.c_int32(-1)
    _check(
        lib.wsprune_session_touch_outcome(
            _path(workspace_root), _id(session_id), ctypes.byref(outcome), ctypes.byref(err)
        ),
        err,
    )
    return TOUCH_OUTCOMES[outcome.value]


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

    def release(self, touch: bool = False) -> Optional[str]:
        """Releases the lease, first touching the session if ``touch``, and
        returns what the touch did (as :func:`touch_session`), or ``None``
        without a touch. The lease is released even when the touch fails
        (the error is raised). A second call does nothing (``None``)."""
        with self._lock:
            if not self._handle.value:
                return None
            handle, self._handle = self._handle, ctypes.c_void_p()
            err = ctypes.c_void_p()
            outcome = ctypes.c_int32(-1)
            _check(lib.wsprune_lease_release_outcome(handle, touch, ctypes.byref(outcome), ctypes.byref(err)), err)
            return TOUCH_OUTCOMES.get(outcome.value)

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


#: The rules that select a session for deletion (``PruneResult.deleted_rules``).
#: ``"interrupted"`` is no longer produced (since 0.3.0): leftover trash is
#: listed in ``PruneResult.interrupted``.
RULES = (
    "older_than",
    "max_total_bytes",
    "max_sessions",
    "min_free_bytes",
    "interrupted",
    "watermark",
    "inode_watermark",
    "max_sessions_per_owner",
    "max_bytes_per_owner",
    "ttl",
)


@dataclass(frozen=True)
class DeletedSession:
    """What a prune recorded about a session it deleted (or would): the rule
    that selected it, the bytes it freed and its idle age in hours."""

    rule: str
    bytes: int
    age_hours: float


@dataclass(frozen=True)
class UnmetTarget:
    """A capacity target a prune did not reach: the rule, what it asked for
    (``target``: bytes, or a session count for ``max_sessions``) and what
    there was when the prune ended (``actual``)."""

    rule: str
    target: int
    actual: int


@dataclass
class PruneResult:
    """What a prune deleted (or would), skipped (with reasons), failed on,
    and the bytes reclaimed. ``str()`` is the human summary.
    ``deleted_rules`` maps each deleted session to the rule that selected it:
    ``"older_than"``, ``"max_total_bytes"``, ``"max_sessions"``,
    ``"min_free_bytes"``, ``"watermark"`` or ``"inode_watermark"``. ``interrupted`` lists the leftover trash
    directories (left by an interrupted deletion) the prune finished, by
    name: never reported as sessions, since a live session of the same id may
    exist again; an error finishing one is keyed by its name in ``errors``.
    ``unmet_targets`` lists the capacity rules
    (``"max_total_bytes"``, ``"max_sessions"``, ``"min_free_bytes"``,
    ``"watermark"``, ``"inode_watermark"``) still
    not satisfied when the prune ended: every evictable session went (or
    ``max_deletions`` stopped it) and the target is out of reach; in a dry
    run, projected. The summary then ends with ``; target not reached: RULE``.
    Since 0.4.0, ``deleted_details`` maps each deleted session to a
    :class:`DeletedSession` (rule, bytes, idle age), ``interrupted_bytes``
    each finished trash directory to its bytes, and ``unmet`` gives an
    :class:`UnmetTarget` (rule, target, actual) for each of ``unmet_targets``."""

    deleted_sessions: List[str] = field(default_factory=list)
    skipped_sessions: List[str] = field(default_factory=list)
    reclaimed_bytes: int = 0
    errors: Dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    skipped_reasons: Dict[str, str] = field(default_factory=dict)
    summary: str = ""
    deleted_rules: Dict[str, str] = field(default_factory=dict)
    interrupted: List[str] = field(default_factory=list)
    unmet_targets: List[str] = field(default_factory=list)
    deleted_details: Dict[str, DeletedSession] = field(default_factory=dict)
    interrupted_bytes: Dict[str, int] = field(default_factory=dict)
    unmet: List[UnmetTarget] = field(default_factory=list)

    def __str__(self) -> str:
        return self.summary

    def to_dict(self) -> Dict[str, Any]:
        """The result as the C library's ``wsprune_prune_result_to_json``
        gives it: the reference fields (``deleted_sessions``,
        ``skipped_sessions``, ``reclaimed_bytes``, ``errors``, ``dry_run``)
        plus ``skipped_reasons``, ``deleted_rules``, ``interrupted`` and ``unmet_targets``."""
        return {
            "deleted_sessions": list(self.deleted_sessions),
            "deleted_rules": dict(self.deleted_rules),
            "skipped_sessions": list(self.skipped_sessions),
            "skipped_reasons": dict(self.skipped_reasons),
            "reclaimed_bytes": self.reclaimed_bytes,
            "errors": dict(self.errors),
            "interrupted": list(self.interrupted),
            "dry_run": self.dry_run,
            "unmet_targets": list(self.unmet_targets),
        }


def _str(b: Optional[bytes]) -> str:
    return (b or b"").decode("utf-8", "replace")


def _copy_result(r: int) -> PruneResult:
    s = _str
    res = PruneResult(dry_run=bool(lib.wsprune_prune_result_dry_run(r)))
    for i in range(lib.wsprune_prune_result_deleted_count(r)):
        sid = s(lib.wsprune_prune_result_deleted_id(r, i))
        res.deleted_sessions.append(sid)
        res.deleted_rules[sid] = s(lib.wsprune_prune_result_deleted_rule(r, i))
        res.deleted_details[sid] = DeletedSession(
            res.deleted_rules[sid],
            int(lib.wsprune_prune_result_deleted_bytes(r, i)),
            float(lib.wsprune_prune_result_deleted_age_hours(r, i)),
        )
    for i in range(lib.wsprune_prune_result_skipped_count(r)):
        sid = s(lib.wsprune_prune_result_skipped_id(r, i))
        res.skipped_sessions.append(sid)
        res.skipped_reasons[sid] = s(lib.wsprune_prune_result_skipped_reason(r, i))
    for i in range(lib.wsprune_prune_result_error_count(r)):
        res.errors[s(lib.wsprune_prune_result_error_id(r, i))] = s(lib.wsprune_prune_result_error_message(r, i))
    for i in range(lib.wsprune_prune_result_unmet_target_count(r)):
        rule = s(lib.wsprune_prune_result_unmet_target(r, i))
        res.unmet_targets.append(rule)
        res.unmet.append(UnmetTarget(
            rule,
            int(lib.wsprune_prune_result_unmet_target_value(r, i)),
            int(lib.wsprune_prune_result_unmet_actual(r, i)),
        ))
    for i in range(lib.wsprune_prune_result_interrupted_count(r)):
        name = s(lib.wsprune_prune_result_interrupted_name(r, i))
        res.interrupted.append(name)
        res.interrupted_bytes[name] = int(lib.wsprune_prune_result_interrupted_bytes(r, i))
    res.reclaimed_bytes = int(lib.wsprune_prune_result_reclaimed_bytes(r))
    res.summary = s(lib.wsprune_prune_result_summary(r))
    return res


_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1


def _hours(name: str, value: float) -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be a number, got {value!r}", 1) from None
    if math.isnan(hours) or math.isinf(hours) or hours < 0:
        raise InvalidArgumentError(f"{name} must be a finite number >= 0, got {value!r}", 1)
    return hours


def _percent(name: str, value: Optional[float]) -> float:
    """A percentage rule: None is off (0.0 in C); 0 is refused as a cap of 0
    is; any other number is the library's to check ((0, 100])."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be a number or None, got {value!r}", 1)
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be a number or None, got {value!r}", 1) from None
    if p == 0:
        raise InvalidArgumentError(
            f"{name} must be a percentage in (0, 100], got 0; leave it unset to turn the rule off", 1
        )
    return p


def _limit(name: str, value: Optional[int]) -> int:
    """A size or count rule: None is off (0 in C); otherwise an int in [1, 2^64-1]."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be an int or None, got {value!r}", 1)
    try:
        n = operator.index(value)
    except TypeError:
        raise InvalidArgumentError(f"{name} must be an int or None, got {value!r}", 1) from None
    if n == 0:
        # Not a cap (docs/contract.md): the C struct would read 0 as "no such
        # rule", a person as "delete everything". The core's own message.
        raise InvalidArgumentError(f"{name} must be at least 1; leave it unset to turn the rule off", 1)
    if not 0 < n <= _U64_MAX:
        raise InvalidArgumentError(f"{name} must be in [1, 2**64-1] or None, got {value!r}", 1)
    return n


def _millis(name: str, seconds: float) -> int:
    """Seconds to whole milliseconds for the C library: rounded up, capped at 2^32-1."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be a number of seconds, got {seconds!r}", 1) from None
    if math.isnan(s) or s < 0:
        raise InvalidArgumentError(f"{name} must be >= 0 seconds, got {seconds!r}", 1)
    if math.isinf(s):
        return _U32_MAX
    return min(math.ceil(s * 1000), _U32_MAX)


def _new_options() -> _CPruneOptions:
    """``wsprune_prune_options_init``'s defaults, for a struct of this
    package's mirror's size: a newer libwsprune writes only that much and
    reads only the fields this package knows."""
    opts = _CPruneOptions()
    _check(lib.wsprune_prune_options_init(ctypes.byref(opts), ctypes.sizeof(opts)), ctypes.c_void_p())
    return opts


def prune_sessions(
    older_than_hours: Optional[float] = 24.0,
    workspace_root: Optional[PathLike] = None,
    dry_run: bool = False,
    logger: Optional[Logger] = None,
    *,
    max_total_bytes: Optional[int] = None,
    max_sessions: Optional[int] = None,
    min_free_bytes: Optional[int] = None,
    max_deletions: Optional[int] = None,
    min_age_hours: Optional[float] = None,
    min_free_percent: Optional[float] = None,
    high_watermark_percent: Optional[float] = None,
    low_watermark_percent: Optional[float] = None,
    high_inode_watermark_percent: Optional[float] = None,
    low_inode_watermark_percent: Optional[float] = None,
    jobs: int = 0,
    lock_timeout: float = 30.0,
    single_host: bool = False,
    label_selector: Optional[str] = None,
    per_owner: Optional[str] = None,
    max_sessions_per_owner: Optional[int] = None,
    max_bytes_per_owner: Optional[int] = None,
    as_of: Optional[datetime] = None,
) -> PruneResult:
    """Deletes the sessions that the enabled rules select (``dry_run``: only
    reports). A session goes if any rule selects it:

    - ``older_than_hours``: not used for that many hours (the reference
      API's only rule); ``None`` turns the age rule off.
    - ``max_total_bytes``: evict the least recently updated sessions until
      the sessions total at most that many bytes.
    - ``max_sessions``: keep at most that many (the most recently updated).
    - ``min_free_bytes``: evict the least recently updated sessions until
      the filesystem has that many bytes available; ``min_free_percent``:
      that percentage of its size (the larger target wins).
    - ``high_watermark_percent``: once the filesystem is that full (percent
      of its bytes used, as the prune begins), evict the least recently
      updated sessions until it is at most ``low_watermark_percent`` full
      (``None``: the high watermark itself); below it, nothing.
      ``high_inode_watermark_percent`` and ``low_inode_watermark_percent``:
      the same for inodes. Percentages are in (0, 100]; a low watermark
      above the high one, or without it, is refused.

    The size and count rules never evict a session that is leased, updated
    less than ``min_age_hours`` ago (``None``: the library's default, 1 hour;
    ``0``: no floor), or without readable metadata. A size or count rule
    alone keeps the age rule beside it (pass ``older_than_hours=None`` to
    prune by it alone). ``max_deletions`` stops after that many deletions
    (oldest first). ``None`` means no such rule; 0 is refused with
    :class:`InvalidArgumentError` (0 is not a cap: leave it unset). The
    result's ``unmet_targets`` lists the capacity targets not reached.
    ``jobs`` sessions are handled concurrently (0: a default for the
    machine). Another prune of the same root is waited for up to
    ``lock_timeout`` seconds (0: not at all), then :class:`BusyError`.
    A root on NFS, SMB, 9p or FUSE (where a lease is kept by one host only)
    raises :class:`InvalidArgumentError` unless ``single_host=True`` declares
    that no other host uses it (then a ``workspace.shared_filesystem``
    warning event is emitted). A session's own TTL deletes it (rule
    ``"ttl"``) whatever the age rule; a pinned session is never deleted
    (skipped, reason ``"pinned"``). ``as_of`` (a datetime; dry run only, else
    :class:`InvalidArgumentError`) is the look-ahead: what a prune at that
    time would delete.

    ``label_selector`` (``"owner=alice,tier!=pro"``; ``key``, ``!key``;
    docs/contract.md, "Labels") limits every rule to the sessions whose
    labels match; only they count towards ``max_total_bytes`` and
    ``max_sessions``. ``per_owner`` names the label whose value is a
    session's owner; ``max_sessions_per_owner`` and ``max_bytes_per_owner``
    then evict each owner's least recently used sessions until it is within
    them (sessions without the label belong to no owner). ``None``: unset.

    ``workspace_root`` defaults to ``$WSPRUNE_WORKSPACE_ROOT``.
    ``logger`` (a callable taking an :class:`Event`, a
    :class:`logging.Logger`, or a reference ``SandboxLogger``) receives this
    prune's events; while it runs it
    also receives events of wsprune calls made concurrently by other threads.
    Raises :class:`InvalidArgumentError` (a ``ValueError``) for a NaN,
    negative or infinite number of hours, or another invalid option."""
    if workspace_root is None:
        env = os.environ.get("WSPRUNE_WORKSPACE_ROOT")
        if not env:
            raise InvalidArgumentError("workspace_root is None and WSPRUNE_WORKSPACE_ROOT is not set", 1)
        workspace_root = env
    opts = _new_options()
    if older_than_hours is None:
        opts.use_older_than = False
    else:
        opts.use_older_than = True
        opts.older_than_hours = _hours("older_than_hours", older_than_hours)
    if min_age_hours is not None:  # None keeps wsprune_prune_options_init's default
        opts.min_age_hours = _hours("min_age_hours", min_age_hours)
    opts.max_total_bytes = _limit("max_total_bytes", max_total_bytes)
    opts.max_sessions = _limit("max_sessions", max_sessions)
    opts.min_free_bytes = _limit("min_free_bytes", min_free_bytes)
    opts.max_deletions = _limit("max_deletions", max_deletions)
    opts.min_free_percent = _percent("min_free_percent", min_free_percent)
    opts.high_watermark_percent = _percent("high_watermark_percent", high_watermark_percent)
    opts.low_watermark_percent = _percent("low_watermark_percent", low_watermark_percent)
    opts.high_inode_watermark_percent = _percent("high_inode_watermark_percent", high_inode_watermark_percent)
    opts.low_inode_watermark_percent = _percent("low_inode_watermark_percent", low_inode_watermark_percent)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 0 <= jobs <= _U32_MAX:
        raise InvalidArgumentError(f"jobs must be an int in [0, 2**32-1], got {jobs!r}", 1)
    opts.jobs = jobs
    opts.lock_timeout_ms = _millis("lock_timeout", lock_timeout)
    opts.dry_run = bool(dry_run)
    opts.flags = FLAG_SINGLE_HOST if single_host else 0
    # The struct points at these bytes: they live until the call returns.
    selector = None if label_selector is None else _text("label_selector", label_selector)
    owner = None if per_owner is None else _text("per_owner", per_owner)
    opts.label_selector = selector
    opts.per_owner = owner
    opts.max_sessions_per_owner = _limit("max_sessions_per_owner", max_sessions_per_owner)
    opts.max_bytes_per_owner = _limit("max_bytes_per_owner", max_bytes_per_owner)
    opts.as_of_us = _micros("as_of", as_of)
    err = ctypes.c_void_p()
    root = _path(workspace_root)
    with _events_to(logger):
        r = lib.wsprune_prune_sessions_with_options(root, ctypes.byref(opts), ctypes.byref(err))
    if not r:
        _raise(lib.wsprune_error_status(err) if err.value else 1, err)
    try:
        return _copy_result(r)
    finally:
        lib.wsprune_prune_result_free(r)


# ---- single sessions and repair -------------------------------------------------


def pin_session(workspace_root: PathLike, session_id: str, until: Optional[datetime] = None) -> None:
    """Pins the session: no prune rule (age, capacity, TTL) deletes it while
    the pin holds (a prune reports it skipped, reason ``"pinned"``), and
    :func:`delete_session` needs ``force=True``. ``until`` (a datetime, later
    than now; naive is UTC) ends the pin; ``None``: until
    :func:`unpin_session`. Only a registered session can be pinned (an
    unregistered wsprune 0.3 directory raises :class:`InvalidArgumentError`:
    ``wsprune migrate`` registers it); a missing one raises
    :class:`NotFoundError`."""
    err = ctypes.c_void_p()
    _check(lib.wsprune_session_pin(_path(workspace_root), _id(session_id), _micros("until", until), ctypes.byref(err)), err)


def unpin_session(workspace_root: PathLike, session_id: str) -> None:
    """Removes the session's pin (an unpinned session is fine). Errors as
    :func:`pin_session`."""
    err = ctypes.c_void_p()
    _check(lib.wsprune_session_unpin(_path(workspace_root), _id(session_id), ctypes.byref(err)), err)


def set_session_ttl(
    workspace_root: PathLike,
    session_id: str,
    *,
    idle_ttl: "Optional[Union[timedelta, float]]" = None,
    expires_at: Optional[datetime] = None,
) -> None:
    """Replaces the session's own TTL with ``idle_ttl`` (a timedelta or
    seconds, at least 1 s) and ``expires_at`` (a datetime): a prune deletes
    it once either has passed, whatever its age rule, never while it is
    leased or pinned. Neither given removes its TTL. Errors as
    :func:`pin_session`."""
    err = ctypes.c_void_p()
    _check(
        lib.wsprune_session_set_ttl(
            _path(workspace_root), _id(session_id), _ttl_seconds(idle_ttl), _micros("expires_at", expires_at),
            ctypes.byref(err)),
        err,
    )


class SessionState(str, Enum):
    """The state of a session's metadata (C ``wsprune_session_state``)."""

    OK = "ok"  #: valid metadata: the timestamps are known
    LEGACY = "legacy"  #: no metadata file (a session from before metadata existed)
    CORRUPTED = "corrupted"  #: a metadata file that cannot be used
    UNREADABLE = "unreadable"  #: the session could not be read (only in listings)

    def __str__(self) -> str:
        return self.value


_STATES = {0: SessionState.OK, 1: SessionState.LEGACY, 2: SessionState.CORRUPTED, 3: SessionState.UNREADABLE}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SessionInfo:
    """What :func:`session_info` reports. ``created_at`` and ``updated_at``
    are timezone-aware (UTC) and ``None`` unless ``state`` is
    :attr:`SessionState.OK`; ``size_bytes`` is what deleting the session
    frees; ``in_use`` whether a lease (or a prune) held it when probed."""

    session_id: str
    created_at: Optional[datetime]
    updated_at: Optional[datetime]
    size_bytes: int
    state: SessionState
    in_use: bool
    #: What :func:`list_sessions` found wrong: why the session could not be
    #: read (:attr:`SessionState.UNREADABLE`; ``size_bytes`` is then 0,
    #: unknown) or why its metadata is corrupted; else ``None`` (always
    #: ``None`` from :func:`session_info`).
    problem: Optional[str] = None
    #: From :func:`list_sessions`: the session's labels, from its host-owned
    #: record (``{}`` when it has none, and for a directory that is not
    #: registered); ``None`` when they cannot be read, and always from
    #: :func:`session_info`, whose C struct does not carry them.
    labels: Optional[Dict[str, str]] = None


def session_info(workspace_root: PathLike, session_id: str) -> SessionInfo:
    """Reports what is known about a session (changes nothing). Raises
    :class:`NotFoundError` for a missing session or root and
    :class:`InvalidSessionIdError` for an id that is not a UUID."""
    info = _CSessionDetails()
    info.struct_size = ctypes.sizeof(_CSessionDetails)
    err = ctypes.c_void_p()
    _check(lib.wsprune_session_info(_path(workspace_root), _id(session_id), ctypes.byref(info), ctypes.byref(err)), err)
    state = _STATES.get(int(info.state))
    if state is None:
        raise WsPruneError(f"libwsprune reported an unknown session state {int(info.state)}", -1)

    def when(us: int) -> Optional[datetime]:
        return _EPOCH + timedelta(microseconds=us) if state is SessionState.OK else None

    return SessionInfo(
        session_id=session_id,
        created_at=when(int(info.created_at_us)),
        updated_at=when(int(info.updated_at_us)),
        size_bytes=int(info.size_bytes),
        state=state,
        in_use=bool(info.in_use),
    )


def list_sessions(workspace_root: PathLike) -> List[SessionInfo]:
    """Every session under the root, sorted by id: UUID-named directories
    and custom-id directories holding ``.metadata.json`` (hidden entries and
    ``site-packages`` never), each measured and probed as by
    :func:`session_info` (``wsprune_list_sessions``, the form of ``wsprune
    ls --json``). A session that could not be read is listed with state
    :attr:`SessionState.UNREADABLE`, ``size_bytes`` 0 (unknown) and the
    reason in ``problem``. A missing root raises :class:`NotFoundError`."""
    rows = _owned_json(lib.wsprune_list_sessions, _path(workspace_root))

    def when(v: Any) -> Optional[datetime]:
        return None if v is None else _parse_ts(str(v))

    return [
        SessionInfo(
            session_id=str(r["session_id"]),
            created_at=when(r.get("created_at")),
            updated_at=when(r.get("updated_at")),
            size_bytes=int(r["size_bytes"]) if r.get("size_bytes") is not None else 0,
            state=SessionState(r["state"]),
            in_use=bool(r.get("in_use")),
            problem=None if r.get("problem") is None else str(r["problem"]),
            labels=None if r.get("labels") is None else {str(k): str(v) for k, v in r["labels"].items()},
        )
        for r in rows
    ]


def delete_session(
    workspace_root: PathLike, session_id: str, wait: float = 0.0, *, single_host: bool = False, force: bool = False
) -> int:
    """Deletes a session now, whatever its age or metadata, with the same
    locked, atomic deletion as a prune, and returns the bytes freed. A leased
    session raises :class:`BusyError` after waiting up to ``wait`` seconds
    for its leases to be released (0: do not wait). A missing session or
    root raises :class:`NotFoundError`; a failure part-way
    :class:`WsPruneIOError` (the next prune finishes the job). A root on a
    filesystem shared between hosts is refused as by :func:`prune_sessions`
    unless ``single_host=True``. A pinned session raises
    :class:`InvalidArgumentError` unless ``force=True``."""
    out = ctypes.c_uint64()
    err = ctypes.c_void_p()
    ms = _millis("wait", wait)
    flags = (FLAG_SINGLE_HOST if single_host else 0) | (FLAG_FORCE if force else 0)
    _check(
        lib.wsprune_session_delete_with_flags(
            _path(workspace_root), _id(session_id), ms, flags, ctypes.byref(out), ctypes.byref(err)
        ),
        err,
    )
    return int(out.value)


@dataclass(frozen=True)
class RepairedSession:
    """A session :func:`repair_sessions` gave metadata to (or would have):
    its previous state (legacy or corrupted) and the ``created_at`` =
    ``updated_at`` written (the newest modification time in the session)."""

    session_id: str
    previous_state: SessionState
    updated_at: datetime


@dataclass
class RepairResult:
    """What :func:`repair_sessions` did (or, in a dry run, would do)."""

    repaired: List[RepairedSession] = field(default_factory=list)
    errors: Dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    def to_dict(self) -> Dict[str, Any]:
        """The C library's JSON shape."""
        return {
            "repaired": [
                {"session_id": r.session_id, "previous_state": r.previous_state.value, "updated_at": _format_ts(r.updated_at)}
                for r in self.repaired
            ],
            "errors": dict(self.errors),
            "dry_run": self.dry_run,
        }


def repair_sessions(workspace_root: PathLike, dry_run: bool = False) -> RepairResult:
    """Writes metadata for every session that has none (legacy) or has
    corrupted metadata, dated by the newest modification time found in the
    session, so that age rules can apply to it. Explicit only: a prune never
    repairs. Leased sessions are left alone and listed in ``errors``. With
    ``dry_run``, writes nothing. A missing root raises :class:`NotFoundError`."""
    data = _owned_json(lib.wsprune_repair_sessions, _path(workspace_root), bool(dry_run), None)
    return RepairResult(
        repaired=[
            RepairedSession(str(r["session_id"]), SessionState(r["previous_state"]), _parse_ts(str(r["updated_at"])))
            for r in data["repaired"]
        ],
        errors={str(k): str(v) for k, v in data["errors"].items()},
        dry_run=bool(data["dry_run"]),
    )


@dataclass(frozen=True)
class MigratedSession:
    """A session :func:`migrate_sessions` registered (or would have):
    whether it had valid metadata (trusted once) or none (dated now), and
    the ``updated_at`` its record starts with."""

    session_id: str
    had_metadata: bool
    updated_at: datetime


@dataclass
class MigrateResult:
    """What :func:`migrate_sessions` did (or, in a dry run, would do)."""

    registered: List[MigratedSession] = field(default_factory=list)
    skipped: Dict[str, str] = field(default_factory=dict)
    dry_run: bool = False


def migrate_sessions(workspace_root: PathLike, dry_run: bool = False) -> MigrateResult:
    """Registers every session an older writer left (the reference
    implementation, wsprune 0.3): one with valid metadata keeps its times
    (that metadata is trusted this once), a UUID directory without metadata
    is dated now; one with corrupted metadata, or whose directory is locked,
    is skipped and listed in ``skipped`` with why. With ``dry_run``,
    registers nothing. A missing root raises :class:`NotFoundError`; a
    prune holding the root :class:`BusyError`."""
    data = _owned_json(lib.wsprune_migrate_sessions, _path(workspace_root), bool(dry_run))
    return MigrateResult(
        registered=[
            MigratedSession(str(m["session_id"]), bool(m["had_metadata"]), _parse_ts(str(m["updated_at"])))
            for m in data["registered"]
        ],
        skipped={str(k): str(v) for k, v in data["skipped"].items()},
        dry_run=bool(data["dry_run"]),
    )
