"""A Prometheus collector of a workspace root's statistics, for
``prometheus_client`` (the optional extra: ``pip install wsprune[prometheus]``).

At every scrape it gathers :func:`wsprune.workspace_stats` and yields them
under the names ``wsprune metrics`` prints (docs/metrics.md in the
repository), each sample with a ``root`` label (the root as given)::

    from prometheus_client import CollectorRegistry, generate_latest
    from wsprune.prometheus import WorkspaceCollector

    registry = CollectorRegistry()
    registry.register(WorkspaceCollector("/var/lib/sandbox/workspaces"))
    print(generate_latest(registry).decode())

A root that cannot be read raises (:class:`wsprune.NotFoundError`, ...) from
``collect``, so the scrape fails with the error instead of reporting an
empty workspace.
"""

from __future__ import annotations

import math
import os
from typing import Iterable, List, Optional, Tuple

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ._api import PathLike
from ._stats import WorkspaceStats, workspace_stats

__all__ = ["WorkspaceCollector", "upper_label"]

_Row = Tuple[str, str, Optional[str]]

# (name, help, extra label): one row per family, as docs/metrics.md and the
# tool name them. The byte families are only sent when sizes are measured.
_SESSIONS = ("wsprune_sessions", "Sessions in the workspace root, by state (ok, legacy, corrupted, unreadable)", "state")
_LEASED = ("wsprune_sessions_leased", "Sessions leased (or being deleted) now", None)
_BYTES = ("wsprune_sessions_bytes", "Bytes the sessions take (allocated blocks)", None)
_IDLE = (
    "wsprune_idle_sessions",
    "Sessions with a known last use, by idle time: more than the previous bucket's upper_seconds, at most this one's",
    "upper_seconds",
)
_IDLE_BYTES = (
    "wsprune_idle_sessions_bytes",
    "Bytes of the sessions in each idle-time bucket of wsprune_idle_sessions",
    "upper_seconds",
)
_OLDEST = ("wsprune_oldest_idle_seconds", "Idle time of the least recently used session with a known last use", None)
_FS_SIZE = ("wsprune_filesystem_size_bytes", "Size of the root's filesystem", None)
_FS_AVAIL = ("wsprune_filesystem_avail_bytes", "Bytes available to unprivileged users on the root's filesystem", None)
_FS_FILES = ("wsprune_filesystem_files", "Inodes of the root's filesystem", None)
_FS_FILES_FREE = ("wsprune_filesystem_files_free", "Free inodes of the root's filesystem", None)
_ALL = (_SESSIONS, _LEASED, _BYTES, _IDLE, _IDLE_BYTES, _OLDEST, _FS_SIZE, _FS_AVAIL, _FS_FILES, _FS_FILES_FREE)


def upper_label(upper_seconds: float) -> str:
    """An idle bucket's ``upper_seconds`` label value, as every surface writes
    it: the bound in whole seconds (``"3600"``), ``"+Inf"`` for the last."""
    if math.isinf(upper_seconds):
        return "+Inf"
    return str(int(upper_seconds)) if upper_seconds.is_integer() else repr(upper_seconds)


class WorkspaceCollector(Collector):
    """Collects the statistics of ``workspace_root`` at every scrape.
    ``measure_sizes`` also walks every session (as ``wsprune metrics
    --sizes``), adding the byte families; its cost grows with what the
    guests wrote. Safe to scrape from several threads (each scrape gathers
    its own statistics)."""

    def __init__(self, workspace_root: PathLike, measure_sizes: bool = False) -> None:
        self._root = workspace_root
        self._label = os.fsdecode(workspace_root)
        self._measure_sizes = measure_sizes

    def describe(self) -> Iterable[Metric]:
        """The families (without samples), so registering does not scrape."""
        sized = (_BYTES, _IDLE_BYTES)
        return [self._family(row) for row in _ALL if self._measure_sizes or row not in sized]

    def collect(self) -> Iterable[Metric]:
        return self._families(workspace_stats(self._root, measure_sizes=self._measure_sizes))

    def _family(self, row: _Row) -> GaugeMetricFamily:
        name, documentation, label = row
        labels: List[str] = ["root"] + ([label] if label else [])
        return GaugeMetricFamily(name, documentation, labels=labels)

    def _one(self, row: _Row, value: float) -> GaugeMetricFamily:
        f = self._family(row)
        f.add_metric([self._label], value)
        return f

    def _families(self, s: WorkspaceStats) -> List[Metric]:
        sessions = self._family(_SESSIONS)
        for state, n in s.sessions.items():
            sessions.add_metric([self._label, state], n)
        out: List[Metric] = [sessions, self._one(_LEASED, s.leased)]
        if s.total_bytes is not None:
            out.append(self._one(_BYTES, s.total_bytes))
        idle = self._family(_IDLE)
        idle_bytes = self._family(_IDLE_BYTES)
        for b in s.idle:
            idle.add_metric([self._label, upper_label(b.upper_seconds)], b.sessions)
            if b.bytes is not None:
                idle_bytes.add_metric([self._label, upper_label(b.upper_seconds)], b.bytes)
        out.append(idle)
        if s.total_bytes is not None:
            out.append(idle_bytes)
        if s.oldest_idle_seconds is not None:
            out.append(self._one(_OLDEST, s.oldest_idle_seconds))
        out += [
            self._one(_FS_SIZE, s.fs_size_bytes),
            self._one(_FS_AVAIL, s.fs_available_bytes),
            self._one(_FS_FILES, s.fs_inodes),
            self._one(_FS_FILES_FREE, s.fs_free_inodes),
        ]
        return out
