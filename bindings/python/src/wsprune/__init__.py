"""wsprune: session workspace metadata, leases and safe pruning for
code-execution sandboxes, through the libwsprune C library (ctypes).

A drop-in for the reference Python implementation's API::

    import wsprune
    sid = wsprune.create_session("/var/lib/sandbox/ws")
    with wsprune.lease("/var/lib/sandbox/ws", sid):   # touches on clean exit
        run_code()
    result = wsprune.prune_sessions(24.0, "/var/lib/sandbox/ws", dry_run=True)
    print(result)  # Would prune 0 sessions (0 skipped, 0 errors), would reclaim 0 B
    # Retention beyond age: cap the workspace at 50 GB, least recently used first.
    wsprune.prune_sessions(None, "/var/lib/sandbox/ws", max_total_bytes=50 * 10**9)
"""

from __future__ import annotations

# The package is split by concern: _lib (loading libwsprune, every C
# signature), _errors, _events, _api (the idiomatic API) and sessions (the
# reference implementation's drop-in). This module re-exports the public API.
from ._api import (
    RULES,
    DeletedSession,
    Lease,
    PathLike,
    PruneResult,
    RepairedSession,
    MigratedSession,
    MigrateResult,
    RepairResult,
    SessionInfo,
    SessionMetadata,
    SessionState,
    UnmetTarget,
    create_session,
    delete_session,
    lease,
    list_sessions,
    open_session,
    pin_session,
    set_session_ttl,
    unpin_session,
    set_labels,
    prune_sessions,
    read_session_metadata,
    migrate_sessions,
    repair_sessions,
    session_info,
    touch_session,
    version,
)
from ._errors import (
    AlreadyExistsError,
    BusyError,
    InvalidArgumentError,
    InvalidSessionIdError,
    NotFoundError,
    PanicError,
    WsPruneError,
    WsPruneIOError,
)
from ._events import Event, Logger, set_logger
from ._lib import library_path
from ._stats import IdleBucket, WorkspaceStats, workspace_stats

__all__ = [
    "AlreadyExistsError",
    "BusyError",
    "Event",
    "InvalidArgumentError",
    "InvalidSessionIdError",
    "Lease",
    "NotFoundError",
    "PanicError",
    "DeletedSession",
    "UnmetTarget",
    "PruneResult",
    "RULES",
    "MigratedSession",
    "MigrateResult",
    "RepairResult",
    "RepairedSession",
    "SessionInfo",
    "SessionMetadata",
    "SessionState",
    "WsPruneError",
    "WsPruneIOError",
    "create_session",
    "delete_session",
    "lease",
    "library_path",
    "list_sessions",
    "open_session",
    "pin_session",
    "set_session_ttl",
    "unpin_session",
    "set_labels",
    "prune_sessions",
    "read_session_metadata",
    "migrate_sessions",
    "repair_sessions",
    "session_info",
    "set_logger",
    "touch_session",
    "version",
    "IdleBucket",
    "WorkspaceStats",
    "workspace_stats",
]
