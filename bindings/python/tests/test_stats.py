"""wsprune.workspace_stats over the C stats object, on a real temporary root."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import wsprune
from du import tree_bytes
from test_retention import aged


def test_counts_leases_buckets_and_sizes_only_when_asked(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    old, young = aged(root, 30, 0.1)
    legacy = root / "22222222-2222-4222-8222-222222222222"
    legacy.mkdir()
    with wsprune.lease(root, young):
        s = wsprune.workspace_stats(root, measure_sizes=True)
        assert s.sessions == {"ok": 2, "legacy": 1, "corrupted": 0, "unreadable": 0}
        assert s.leased == 1
        assert [b.sessions for b in s.idle] == [1, 0, 0, 1, 0, 0]
        assert [b.upper_seconds for b in s.idle] == [3600, 21600, 86400, 604800, 2592000, math.inf]
        assert s.idle[3].bytes == tree_bytes(root / old)
        assert s.total_bytes == sum(tree_bytes(root / i) for i in (old, young, legacy.name))
        assert s.oldest_idle_seconds is not None and abs(s.oldest_idle_seconds - 30 * 3600) < 120
        assert 0 < s.fs_available_bytes <= s.fs_size_bytes and s.fs_free_inodes <= s.fs_inodes
        quick = wsprune.workspace_stats(root)
        assert quick.total_bytes is None and all(b.bytes is None for b in quick.idle)
    assert wsprune.workspace_stats(root).leased == 0
    with pytest.raises(wsprune.NotFoundError):
        wsprune.workspace_stats(root / "missing")
