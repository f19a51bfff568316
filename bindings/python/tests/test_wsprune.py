"""Tests of the ctypes binding on a real filesystem, including the reference
implementation's pruning scenarios through its own API shape."""

from __future__ import annotations

import json
import logging
import os
import resource
import stat
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

import pytest

import wsprune
from du import tree_bytes
from hoststate import listdir, unregistered_session, write_session_metadata
from wsprune import Event, SessionMetadata


def backdate(root: Path, sid: str, hours: float, fmt: str = "Z") -> None:
    when = datetime.now(timezone.utc) - timedelta(hours=hours)
    ts = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + ("Z" if fmt == "Z" else "+00:00")
    meta = {"session_id": sid, "created_at": ts, "updated_at": ts, "version": 1}
    write_session_metadata(root, sid, json.dumps(meta, indent=2))


def session(root: Path, hours: float = 0.0, files: int = 0) -> str:
    sid = wsprune.create_session(root)
    for i in range(files):
        (root / sid / f"f{i}.txt").write_bytes(b"x" * (100 * (i + 1)))
    if hours:
        backdate(root, sid, hours)
    return sid


def test_version_and_library() -> None:
    assert wsprune.version()
    assert os.path.exists(wsprune.library_path) or "libwsprune" in wsprune.library_path


def test_create_writes_private_metadata(tmp_path: Path) -> None:
    root = tmp_path / "nested" / "ws"
    sid = wsprune.create_session(root)
    assert uuid.UUID(sid).version == 4
    meta_path = root / sid / ".metadata.json"
    assert stat.S_IMODE(meta_path.stat().st_mode) == 0o600
    data = json.loads(meta_path.read_text())
    assert set(data) == {"session_id", "created_at", "updated_at", "version"}
    assert data["created_at"] == data["updated_at"]
    m = wsprune.read_session_metadata(sid, root)
    assert m is not None and m.session_id == sid and m.version == 1
    assert m.created_at.tzinfo is not None


def test_create_with_id_duplicate_and_invalid(tmp_path: Path) -> None:
    sid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert wsprune.create_session(tmp_path, sid) == sid
    with pytest.raises(wsprune.AlreadyExistsError) as e:
        wsprune.create_session(tmp_path, sid)
    assert isinstance(e.value, FileExistsError) and e.value.status == 4
    assert e.value.status_name == "WSPRUNE_STATUS_ALREADY_EXISTS"
    for bad in ["../x", "", ".hidden", "a/b", sid + "/..", "bad\udcff"]:
        with pytest.raises(wsprune.InvalidSessionIdError) as e2:
            wsprune.create_session(tmp_path, bad)
        assert isinstance(e2.value, ValueError)
    with pytest.raises(wsprune.InvalidArgumentError):
        wsprune.create_session("")
    assert sorted(listdir(tmp_path)) == [sid]


def test_touch_updates_only_updated_at(tmp_path: Path) -> None:
    sid = session(tmp_path, hours=5)
    before = wsprune.read_session_metadata(sid, tmp_path)
    assert wsprune.touch_session(tmp_path, sid) == "updated"
    after = wsprune.read_session_metadata(sid, tmp_path)
    assert before is not None and after is not None
    assert after.created_at == before.created_at
    assert after.updated_at > before.updated_at


def test_touch_legacy_corrupted_missing(tmp_path: Path) -> None:
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    assert wsprune.touch_session(tmp_path, legacy) == "legacy"  # a no-op, not an error
    assert not (tmp_path / legacy / ".metadata.json").exists()
    assert wsprune.read_session_metadata(legacy, tmp_path) is None
    bad = unregistered_session(tmp_path)
    (tmp_path / bad / ".metadata.json").write_text("{not json")
    events: List[Event] = []
    wsprune.set_logger(events.append)
    try:
        assert wsprune.touch_session(tmp_path, bad) == "corrupted"
    finally:
        wsprune.set_logger(None)
    assert (tmp_path / bad / ".metadata.json").read_text() == "{not json"
    assert wsprune.read_session_metadata(bad, tmp_path) is None
    assert any(e.name == "session.metadata.corrupted" and e.level == "warning" for e in events)
    with pytest.raises(wsprune.NotFoundError) as e:
        wsprune.touch_session(tmp_path, str(uuid.uuid4()))
    assert isinstance(e.value, FileNotFoundError)


def test_session_metadata_round_trip_and_formats() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
    m = SessionMetadata("x", now, now)
    assert SessionMetadata.from_dict(m.to_dict()) == m
    assert m.to_dict()["updated_at"] == "2026-01-02T03:04:05.123456Z"
    for text in ["2026-01-02T03:04:05.123456+00:00", "2026-01-02T03:04:05.123456", "2026-01-02T04:04:05.123456+01:00"]:
        d = {"session_id": "x", "created_at": text, "updated_at": text}
        assert SessionMetadata.from_dict(d).updated_at == now


def test_prune_old_recent_dry_run_and_exact_bytes(tmp_path: Path) -> None:
    old = [session(tmp_path, hours=48, files=3) for _ in range(2)]
    recent = session(tmp_path, hours=1, files=2)
    (tmp_path / old[0] / "sub").mkdir()
    (tmp_path / old[0] / "sub" / "big.bin").write_bytes(b"\0" * 4096)
    os.symlink("/etc/passwd", tmp_path / old[1] / "link")
    expected = sum(tree_bytes(tmp_path / s) for s in old)

    dry = wsprune.prune_sessions(24.0, tmp_path, dry_run=True)
    assert dry.dry_run and sorted(dry.deleted_sessions) == sorted(old)
    assert dry.reclaimed_bytes == expected
    assert str(dry).startswith("Would prune 2 sessions")
    assert all((tmp_path / s).exists() for s in old)

    real = wsprune.prune_sessions(older_than_hours=24.0, workspace_root=tmp_path)
    assert not real.dry_run
    assert sorted(real.deleted_sessions) == sorted(old)
    assert real.reclaimed_bytes == expected
    assert str(real).startswith("Pruned 2 sessions (0 skipped, 0 errors), reclaimed")
    assert not any((tmp_path / s).exists() for s in old)
    assert (tmp_path / recent).exists()
    assert os.path.exists("/etc/passwd")


def test_prune_skips_legacy_corrupted_and_leased(tmp_path: Path) -> None:
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    corrupted = unregistered_session(tmp_path)
    (tmp_path / corrupted / ".metadata.json").write_text("[]")
    leased = session(tmp_path, hours=48)
    with wsprune.lease(tmp_path, leased) as held:
        assert not held.released
        r = wsprune.prune_sessions(24.0, tmp_path)
    assert r.skipped_reasons == {legacy: "missing_metadata", corrupted: "corrupted_metadata", leased: "in_use"}
    assert sorted(r.skipped_sessions) == sorted([legacy, corrupted, leased])
    assert r.deleted_sessions == [] and r.errors == {}
    # The clean exit touched it: still fresh.
    assert wsprune.prune_sessions(24.0, tmp_path).deleted_sessions == []


def test_lease_without_touch_on_exception_and_idempotent_release(tmp_path: Path) -> None:
    sid = session(tmp_path, hours=48)
    with pytest.raises(RuntimeError):
        with wsprune.lease(tmp_path, sid):
            raise RuntimeError("execution failed")
    m = wsprune.read_session_metadata(sid, tmp_path)
    assert m is not None and (datetime.now(timezone.utc) - m.updated_at) > timedelta(hours=47)
    held = wsprune.lease(tmp_path, sid)
    assert held.release(touch=False) is None
    assert held.release(touch=True) is None  # no-op
    assert held.released
    # What a touching release did, from the C ABI (never from events).
    other = session(tmp_path, hours=48)
    assert wsprune.lease(tmp_path, other).release(touch=True) == "updated"
    assert wsprune.prune_sessions(24.0, tmp_path).deleted_sessions == [sid]
    with pytest.raises(wsprune.NotFoundError):
        wsprune.lease(tmp_path, sid)


@pytest.mark.parametrize("hours,expected", [(0.5, 3), (1.5, 2), (24.0, 1), (100.0, 0)])
def test_custom_thresholds(tmp_path: Path, hours: float, expected: int) -> None:
    for age in (1.0, 2.0, 48.0):
        session(tmp_path, hours=age)
    assert len(wsprune.prune_sessions(hours, tmp_path, dry_run=True).deleted_sessions) == expected


def test_python_format_metadata_is_pruned_and_touched(tmp_path: Path) -> None:
    sid = session(tmp_path)
    backdate(tmp_path, sid, 30, fmt="+00:00")
    assert wsprune.prune_sessions(24.0, tmp_path, dry_run=True).deleted_sessions == [sid]
    wsprune.touch_session(tmp_path, sid)
    assert wsprune.prune_sessions(24.0, tmp_path, dry_run=True).deleted_sessions == []


def test_invalid_thresholds_and_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError):
            wsprune.prune_sessions(bad, tmp_path)
    monkeypatch.delenv("WSPRUNE_WORKSPACE_ROOT", raising=False)
    with pytest.raises(wsprune.InvalidArgumentError):
        wsprune.prune_sessions(1.0)
    monkeypatch.setenv("WSPRUNE_WORKSPACE_ROOT", str(tmp_path))
    sid = session(tmp_path, hours=2)
    assert wsprune.prune_sessions(1.0).deleted_sessions == [sid]
    assert wsprune.prune_sessions(1.0, tmp_path / "missing").deleted_sessions == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(wsprune.WsPruneIOError) as e:
        wsprune.prune_sessions(1.0, tmp_path / "file")
    assert isinstance(e.value, OSError)


def test_logging_with_callable_and_logger(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stale = session(tmp_path, hours=48, files=1)
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    events: List[Event] = []
    r = wsprune.prune_sessions(24.0, tmp_path, dry_run=True, logger=events.append)
    names = [e.name for e in events]
    for n in ["session.prune.started", "session.prune.candidate", "session.prune.deleted", "session.prune.skipped", "session.prune.completed"]:
        assert n in names, names
    started = next(e for e in events if e.name == "session.prune.started")
    reference = {"threshold_hours": 24.0, "workspace_root": str(tmp_path), "dry_run": True}
    assert {k: started.fields[k] for k in reference} == reference
    # The retention-policy fields, all off here.
    assert started.fields["max_total_bytes"] is None and started.fields["max_sessions"] is None
    assert started.fields["min_age_hours"] == 1.0 and started.fields["jobs"] >= 1
    deleted = next(e for e in events if e.name == "session.prune.deleted")
    assert deleted.fields["session_id"] == stale and deleted.fields["reclaimed_bytes"] == r.reclaimed_bytes
    skipped = next(e for e in events if e.name == "session.prune.skipped")
    assert skipped.fields == {"session_id": legacy, "reason": "missing_metadata"}
    completed = next(e for e in events if e.name == "session.prune.completed")
    assert completed.fields["deleted_count"] == 1 and completed.fields["skipped_count"] == 1
    # The logger was only for that call.
    n = len(events)
    wsprune.create_session(tmp_path)
    assert len(events) == n

    log = logging.getLogger("test.wsprune")
    with caplog.at_level(logging.DEBUG, logger="test.wsprune"):
        wsprune.prune_sessions(24.0, tmp_path, logger=log)
    recs = [rec for rec in caplog.records if getattr(rec, "event", None) == "session.prune.deleted"]
    assert len(recs) == 1 and recs[0].levelno == logging.INFO
    assert recs[0].fields["session_id"] == stale  # type: ignore[attr-defined]


def test_set_logger_sees_create_and_touch(tmp_path: Path) -> None:
    events: List[Event] = []
    wsprune.set_logger(events.append)
    try:
        sid = wsprune.create_session(tmp_path)
        wsprune.touch_session(tmp_path, sid)
    finally:
        wsprune.set_logger(None)
    created = [e for e in events if e.name == "session.metadata.created"]
    updated = [e for e in events if e.name == "session.metadata.updated"]
    assert created and created[0].fields["session_id"] == sid and "created_at" in created[0].fields
    assert updated and "timestamp" in updated[0].fields and updated[0].level == "debug"


def test_concurrent_touch_and_prune(tmp_path: Path) -> None:
    live = [session(tmp_path) for _ in range(4)]
    stale = [session(tmp_path, hours=48) for _ in range(6)]
    errors: List[BaseException] = []

    def toucher(sid: str) -> None:
        try:
            for _ in range(200):
                wsprune.touch_session(tmp_path, sid)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=toucher, args=(s,)) for s in live]
    for t in threads:
        t.start()
    deleted: List[str] = []
    for _ in range(20):
        deleted += wsprune.prune_sessions(24.0, tmp_path).deleted_sessions
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(deleted) == sorted(stale)
    assert all((tmp_path / s).exists() for s in live)


def test_handles_are_freed(tmp_path: Path) -> None:
    session(tmp_path)
    def rss_kb() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(300):  # warm up allocator
        wsprune.prune_sessions(24.0, tmp_path, dry_run=True)
    before = rss_kb()
    for _ in range(3000):
        wsprune.prune_sessions(24.0, tmp_path, dry_run=True)
        with pytest.raises(wsprune.InvalidSessionIdError):
            wsprune.touch_session(tmp_path, "../x")
    assert rss_kb() - before < 4096, "memory grew by more than 4 MB: a handle or error is leaking"
