"""Workspace statistics (``wsprune_workspace_stats``): what a monitoring
system asks of a root. Read from the C object's accessors."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional, Tuple

from ._api import PathLike, _path
from ._errors import _raise
from ._lib import STATS_IDLE_BUCKETS, STATS_MEASURE_SIZES, lib

__all__ = ["IdleBucket", "WorkspaceStats", "workspace_stats"]


@dataclass(frozen=True)
class IdleBucket:
    """Sessions idle for at most ``upper_seconds`` (``math.inf`` for the
    last bucket) and more than the previous bucket's bound (not cumulative).
    ``bytes`` is ``None`` unless sizes were measured."""

    upper_seconds: float
    sessions: int
    bytes: Optional[int]


@dataclass(frozen=True)
class WorkspaceStats:
    """A root's statistics at ``collected_at``. ``sessions`` maps each state
    (``"ok"``, ``"legacy"``, ``"corrupted"``, ``"unreadable"``) to its count;
    ``total_bytes`` is ``None`` unless sizes were measured; ``idle`` holds the
    six buckets (1 h, 6 h, 24 h, 7 d, 30 d, +Inf) of the sessions whose last
    use is known; ``oldest_idle_seconds`` is ``None`` when there is none."""

    collected_at: datetime
    sessions: dict[str, int]
    leased: int
    total_bytes: Optional[int]
    idle: Tuple[IdleBucket, ...]
    oldest_idle_seconds: Optional[float]
    fs_size_bytes: int
    fs_available_bytes: int
    fs_inodes: int
    fs_free_inodes: int


_STATES = ("ok", "legacy", "corrupted", "unreadable")  # wsprune_session_state order


def workspace_stats(workspace_root: PathLike, measure_sizes: bool = False) -> WorkspaceStats:
    """Gathers the statistics of the root (reads only; takes no lock a prune
    waits for). ``measure_sizes`` walks every session to sum its size, as
    :func:`list_sessions` does. A missing root raises :class:`NotFoundError`."""
    err = ctypes.c_void_p()
    flags = STATS_MEASURE_SIZES if measure_sizes else 0
    s = lib.wsprune_workspace_stats(_path(workspace_root), flags, ctypes.byref(err))
    if not s:
        _raise(lib.wsprune_error_status(err) if err.value else 1, err)
    try:
        sized = bool(lib.wsprune_stats_sizes_measured(s))
        idle = tuple(
            IdleBucket(
                upper_seconds=float(lib.wsprune_stats_idle_bucket_upper_seconds(s, i)),
                sessions=int(lib.wsprune_stats_idle_bucket_sessions(s, i)),
                bytes=int(lib.wsprune_stats_idle_bucket_bytes(s, i)) if sized else None,
            )
            for i in range(STATS_IDLE_BUCKETS)
        )
        oldest = float(lib.wsprune_stats_oldest_idle_seconds(s))
        micros = int(lib.wsprune_stats_collected_at_us(s))
        return WorkspaceStats(
            collected_at=datetime.fromtimestamp(micros // 1_000_000, timezone.utc).replace(
                microsecond=micros % 1_000_000
            ),
            sessions={name: int(lib.wsprune_stats_sessions(s, i)) for i, name in enumerate(_STATES)},
            leased=int(lib.wsprune_stats_leased(s)),
            total_bytes=int(lib.wsprune_stats_total_bytes(s)) if sized else None,
            idle=idle,
            oldest_idle_seconds=None if oldest < 0 else oldest,
            fs_size_bytes=int(lib.wsprune_stats_fs_size_bytes(s)),
            fs_available_bytes=int(lib.wsprune_stats_fs_available_bytes(s)),
            fs_inodes=int(lib.wsprune_stats_fs_inodes(s)),
            fs_free_inodes=int(lib.wsprune_stats_fs_free_inodes(s)),
        )
    finally:
        lib.wsprune_stats_free(s)
