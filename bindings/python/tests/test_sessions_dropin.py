"""wsprune.sessions against the behaviour of the reference implementation's
sandbox/sessions.py (v0.4.4), on a real filesystem.

Tests marked "needs libwsprune 0.3.0" use custom session ids or
wsprune_session_open, which the core gains in 0.3.0; against an older
library they fail.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List, Tuple

import pytest

import wsprune
from hoststate import write_session_metadata
from du import tree_bytes
from wsprune.sessions import (
    PruneResult,
    SessionMetadata,
    _calculate_session_age,
    _calculate_workspace_size,
    _enumerate_sessions,
    _format_bytes,
    _read_session_metadata,
    _update_session_timestamp,
    delete_session_workspace,
    prune_sessions,
)


def iso(hours_ago: float, style: str = "+00:00") -> str:
    """A timestamp as the reference writes it (``isoformat()``: +00:00) or as libwsprune does (Z)."""
    when = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    return when.isoformat() if style == "+00:00" else when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make(root: Path, hours: float, sid: str = "", payload: int = 1000, style: str = "+00:00") -> str:
    """A session written the way the reference's disk adapter writes one."""
    sid = sid or str(uuid.uuid4())
    (root / sid).mkdir(parents=True)
    ts = iso(hours, style)
    (root / sid / ".metadata.json").write_text(json.dumps(SessionMetadata(sid, ts, ts, 1).to_dict(), indent=2))
    (root / sid / "data.bin").write_bytes(b"x" * payload)
    return sid


class Recorder:
    """Has the reference SandboxLogger's methods; records (method, kwargs)."""

    def __init__(self) -> None:
        self.calls: List[Tuple[str, Any, Any]] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("log_"):
            raise AttributeError(name)
        return lambda *a, **kw: self.calls.append((name, a, kw))

    def named(self, name: str) -> List[Any]:
        return [kw for n, _, kw in self.calls if n == name]


# ---- SessionMetadata --------------------------------------------------------------


def test_metadata_holds_iso_strings_round_trip() -> None:
    m = SessionMetadata(session_id="abc-123", created_at="2025-11-22T10:00:00Z", updated_at="2025-11-22T14:00:00Z", version=1)
    d = m.to_dict()
    assert d == {"session_id": "abc-123", "created_at": "2025-11-22T10:00:00Z", "updated_at": "2025-11-22T14:00:00Z", "version": 1}
    assert SessionMetadata.from_dict(d) == m
    assert isinstance(SessionMetadata.from_dict(d).updated_at, str)
    assert json.loads(json.dumps(d)) == d
    with pytest.raises(KeyError):
        SessionMetadata.from_dict({"session_id": "x", "created_at": "a", "updated_at": "b"})
    with pytest.raises(TypeError):
        SessionMetadata("x", "a", "b")  # type: ignore[call-arg]  # version is required, as in the reference


def test_read_metadata_returns_the_stored_strings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sid = make(tmp_path, 2)
    stored = json.loads((tmp_path / sid / ".metadata.json").read_text())
    m = _read_session_metadata(sid, tmp_path)
    assert m is not None and m.to_dict() == stored
    assert m.updated_at == stored["updated_at"]  # string comparison, as the reference's callers do
    created = wsprune.create_session(tmp_path)
    m2 = _read_session_metadata(created, tmp_path)
    assert m2 is not None and m2.session_id == created and m2.version == 1
    assert m2.created_at == m2.updated_at and m2.updated_at.endswith("Z")
    assert capsys.readouterr().err == ""


def test_read_metadata_missing_is_silent_corrupted_and_incomplete_warn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    assert _read_session_metadata(legacy, tmp_path) is None
    assert _read_session_metadata(str(uuid.uuid4()), tmp_path) is None
    assert capsys.readouterr().err == ""
    bad = make(tmp_path, 1)
    (tmp_path / bad / ".metadata.json").write_text("{not json")
    assert _read_session_metadata(bad, tmp_path) is None
    err = capsys.readouterr().err
    assert err.startswith(f"Warning: Failed to read session metadata for {bad}: ")
    incomplete = make(tmp_path, 1)
    (tmp_path / incomplete / ".metadata.json").write_text(json.dumps({"session_id": incomplete, "created_at": "x"}))
    assert _read_session_metadata(incomplete, tmp_path) is None
    err = capsys.readouterr().err  # the reason is libwsprune's (the reference printed the KeyError: 'updated_at')
    assert err.startswith(f"Warning: Failed to read session metadata for {incomplete}: ") and "updated_at" in err
    with pytest.raises(ValueError):
        _read_session_metadata("../escape", tmp_path)


def test_update_timestamp_touches_and_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sid = make(tmp_path, 5)
    before = _read_session_metadata(sid, tmp_path)
    rec = Recorder()
    _update_session_timestamp(sid, tmp_path, rec)
    after = _read_session_metadata(sid, tmp_path)
    assert before is not None and after is not None
    assert after.created_at == before.created_at
    assert after.updated_at > before.updated_at
    assert _calculate_session_age(after) < 0.01
    assert rec.calls == [("log_session_metadata_updated", (), {"session_id": sid, "timestamp": after.updated_at})]
    _update_session_timestamp(sid, tmp_path)  # without a logger
    assert capsys.readouterr().err == ""


def test_update_timestamp_legacy_missing_silent_corrupted_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    rec = Recorder()
    _update_session_timestamp(legacy, tmp_path, rec)
    _update_session_timestamp(str(uuid.uuid4()), tmp_path, rec)
    assert not (tmp_path / legacy / ".metadata.json").exists()
    assert rec.calls == [] and capsys.readouterr().err == ""
    bad = make(tmp_path, 1)
    (tmp_path / bad / ".metadata.json").write_text("{broken")
    _update_session_timestamp(bad, tmp_path, rec)
    assert (tmp_path / bad / ".metadata.json").read_text() == "{broken"
    err = capsys.readouterr().err
    assert err.startswith(f"Warning: Failed to update session timestamp for {bad}: ")
    # Why, as the library reads the file (not a placeholder), on one line.
    problem = err.removeprefix(f"Warning: Failed to update session timestamp for {bad}: ").rstrip("\n")
    assert problem and problem != "corrupted metadata" and "\n" not in problem, err
    assert rec.calls == []


# ---- PruneResult and sizes ----------------------------------------------------------


@pytest.mark.parametrize(
    "n,expected",
    [(0, "0 B"), (500, "500 B"), (1023, "1023 B"), (1024, "1.0 KB"), (1_500_000, "1.4 MB"),
     (1024**2, "1.0 MB"), (2 * 1024**3, "2.0 GB"), (5 * 1024**4, "5120.0 GB")],
)
def test_format_bytes(n: int, expected: str) -> None:
    assert _format_bytes(n) == expected


@pytest.mark.parametrize(
    "deleted,skipped,errors,size,dry,expected",
    [
        (["a"], ["b", "c", "d"], {}, 1234, False, "Pruned 1 sessions (3 skipped), reclaimed 1.2 KB"),
        (["a", "b"], [], {}, 1_048_576, False, "Pruned 2 sessions, reclaimed 1.0 MB"),
        (["a", "b"], ["c"], {"d": "Permission denied"}, 1_500_000, False, "Pruned 2 sessions (1 skipped, 1 error), reclaimed 1.4 MB"),
        ([], [], {"x": "e", "y": "e"}, 0, False, "Pruned 0 sessions (2 errors), reclaimed 0 B"),
        (["a", "b"], [], {}, 0, True, "Would prune 2 sessions, reclaimed 0 B"),
        ([], [], {}, 3 * 1024**3, False, "Pruned 0 sessions, reclaimed 3.0 GB"),
    ],
)
def test_prune_result_str_built_by_hand(deleted: List[str], skipped: List[str], errors: Any, size: int, dry: bool, expected: str) -> None:
    r = PruneResult(deleted_sessions=deleted, skipped_sessions=skipped, reclaimed_bytes=size, errors=errors, dry_run=dry)
    assert str(r) == expected
    assert PruneResult(deleted, skipped, size, errors, dry) == r


def test_workspace_size_and_age(tmp_path: Path) -> None:
    sid = make(tmp_path, 25, payload=4321, style="Z")
    assert _calculate_workspace_size(tmp_path / sid) == tree_bytes(tmp_path / sid)
    assert _calculate_workspace_size(tmp_path / str(uuid.uuid4())) == 0
    m = _read_session_metadata(sid, tmp_path)
    assert m is not None and 24.99 < _calculate_session_age(m) < 25.01
    ref_style = SessionMetadata(sid, iso(30), iso(30), 1)
    assert 29.99 < _calculate_session_age(ref_style) < 30.01


# ---- prune_sessions -----------------------------------------------------------------


def test_prune_deletes_stale_reports_bytes(tmp_path: Path) -> None:
    old, recent = make(tmp_path, 48, payload=3000), make(tmp_path, 2)
    size = tree_bytes(tmp_path / old)
    r = prune_sessions(older_than_hours=24.0, workspace_root=tmp_path)
    assert r == PruneResult([old], [], size, {}, False)
    assert not (tmp_path / old).exists() and (tmp_path / recent).exists()
    assert str(r) == f"Pruned 1 sessions, reclaimed {_format_bytes(size)}"


def test_positional_fourth_argument_is_dry_run(tmp_path: Path) -> None:
    old = make(tmp_path, 48, payload=2048)
    size = tree_bytes(tmp_path / old)
    r = prune_sessions(24, tmp_path, None, True)
    assert (tmp_path / old).exists()
    assert r.dry_run and r.deleted_sessions == [old]
    assert r.reclaimed_bytes == 0 and r.would_reclaim_bytes == size
    assert str(r) == "Would prune 1 sessions, reclaimed 0 B"


def test_storage_adapter_root_is_used(tmp_path: Path) -> None:
    root, other = tmp_path / "ws", tmp_path / "other"
    old = make(root, 48)
    decoy = make(other, 48)
    adapter = SimpleNamespace(workspace_root=root)  # what DiskStorageAdapter exposes
    r = prune_sessions(24.0, workspace_root=other, storage_adapter=adapter)
    assert r.deleted_sessions == [old] and (other / decoy).exists()
    r2 = prune_sessions(24.0, storage_adapter=SimpleNamespace(workspace_root=str(other)))
    assert r2.deleted_sessions == [decoy]


def test_storage_adapter_without_a_directory_is_not_implemented(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="workspace_root"):
        prune_sessions(24.0, storage_adapter=SimpleNamespace(workspace_root={"memory": True}))
    with pytest.raises(NotImplementedError):
        prune_sessions(24.0, storage_adapter=object())
    with pytest.raises(NotImplementedError):
        delete_session_workspace(str(uuid.uuid4()), storage_adapter=object())


def test_default_root_is_workspace_in_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = make(tmp_path / "workspace", 30)
    monkeypatch.chdir(tmp_path)
    assert prune_sessions().deleted_sessions == [old]


def test_prune_skips_without_touching(tmp_path: Path) -> None:
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    corrupted = make(tmp_path, 48)
    (tmp_path / corrupted / ".metadata.json").write_text("{oops")
    bad_ts = make(tmp_path, 48)
    meta = json.loads((tmp_path / bad_ts / ".metadata.json").read_text())
    meta["updated_at"] = "yesterday"
    (tmp_path / bad_ts / ".metadata.json").write_text(json.dumps(meta))
    r = prune_sessions(0.0, tmp_path)
    assert r.deleted_sessions == []
    assert sorted(r.skipped_sessions) == sorted([legacy, corrupted, bad_ts])
    assert r.skipped_reasons == {legacy: "missing_metadata", corrupted: "corrupted_metadata", bad_ts: "corrupted_timestamp"}
    assert all((tmp_path / s).exists() for s in (legacy, corrupted, bad_ts))
    assert str(r) == "Pruned 0 sessions (3 skipped), reclaimed 0 B"


def test_every_other_directory_is_reported_skipped_as_the_reference_does(tmp_path: Path) -> None:
    # The reference's prune enumerates every directory of the root (its disk
    # adapter's enumerate_sessions) and reports one without metadata as
    # skipped, "missing_metadata"; nothing in it is touched. Names that are
    # never sessions (hidden, site-packages) stay unreported and untouched.
    (tmp_path / "system_files").mkdir()
    (tmp_path / "system_files" / "keep.txt").write_text("k")
    (tmp_path / "site-packages").mkdir()
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".wsprune-notes").mkdir()  # hidden: never a session
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (tmp_path / "linked").symlink_to(outside, target_is_directory=True)  # a symlink: not a directory of the root
    (tmp_path / "notes.txt").write_text("n")
    old = make(tmp_path, 48, sid="not-a-uuid")
    fresh = make(tmp_path, 1)
    rec = Recorder()
    r = prune_sessions(24.0, tmp_path, logger=rec)
    assert r.deleted_sessions == [old]
    assert r.skipped_sessions == ["system_files"]
    assert r.skipped_reasons == {n: "missing_metadata" for n in r.skipped_sessions}
    assert rec.named("log_prune_skipped") == [{"session_id": n, "reason": "missing_metadata"} for n in r.skipped_sessions]
    (completed,) = rec.named("log_prune_completed")
    assert completed["skipped_count"] == 1 and completed["deleted_count"] == 1
    assert [n for n, _, _ in rec.calls][-1] == "log_prune_completed"
    assert (tmp_path / "system_files" / "keep.txt").read_text() == "k"
    assert all((tmp_path / n).is_dir() for n in ("site-packages", ".cache", ".wsprune-notes", fresh))
    assert (tmp_path / "linked").is_symlink() and outside.exists()
    assert str(r) == "Pruned 1 sessions (1 skipped), reclaimed " + _format_bytes(r.reclaimed_bytes)


def test_invalid_threshold_is_an_error_not_a_purge(tmp_path: Path) -> None:
    sid = make(tmp_path, 1)
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError):
            prune_sessions(bad, tmp_path)
    assert (tmp_path / sid).exists()


def test_missing_root_prunes_nothing(tmp_path: Path) -> None:
    r = prune_sessions(24.0, tmp_path / "absent")
    assert r == PruneResult([], [], 0, {}, False)


# ---- the reference logger's calls ---------------------------------------------------------


def test_prune_calls_the_reference_logger_methods(tmp_path: Path) -> None:
    old = make(tmp_path, 48, payload=500)
    make(tmp_path, 1)
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    size = tree_bytes(tmp_path / old)
    rec = Recorder()
    prune_sessions(24, tmp_path, None, False, rec)
    names = [n for n, _, _ in rec.calls]
    assert names[0] == "log_prune_started" and names[-1] == "log_prune_completed"
    assert rec.named("log_prune_started") == [{"threshold_hours": 24, "workspace_root": str(tmp_path), "dry_run": False}]
    (cand,) = rec.named("log_prune_candidate")
    assert cand["session_id"] == old and cand["threshold_hours"] == 24 and 47.9 < cand["age_hours"] < 48.1
    (deleted,) = rec.named("log_prune_deleted")
    assert deleted["session_id"] == old and deleted["reclaimed_bytes"] == size and 47.9 < deleted["age_hours"] < 48.1
    assert names.index("log_prune_candidate") < names.index("log_prune_deleted")
    assert rec.named("log_prune_skipped") == [{"session_id": legacy, "reason": "missing_metadata"}]
    assert rec.named("log_prune_completed") == [
        {"deleted_count": 1, "skipped_count": 1, "error_count": 0, "reclaimed_bytes": size, "dry_run": False}
    ]


def test_dry_run_logs_candidates_but_no_deletion(tmp_path: Path) -> None:
    old = make(tmp_path, 48)
    rec = Recorder()
    prune_sessions(24.0, tmp_path, dry_run=True, logger=rec)
    assert [n for n, _, _ in rec.calls] == ["log_prune_started", "log_prune_candidate", "log_prune_completed"]
    assert rec.named("log_prune_candidate")[0]["session_id"] == old
    assert rec.named("log_prune_completed")[0]["reclaimed_bytes"] == 0
    assert rec.named("log_prune_completed")[0]["dry_run"] is True


def test_started_logs_the_root_argument_as_the_reference_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    prune_sessions(24.0, storage_adapter=SimpleNamespace(workspace_root=tmp_path), logger=rec)
    assert rec.named("log_prune_started")[0]["workspace_root"] == "None"
    monkeypatch.chdir(tmp_path)
    prune_sessions(24.0, logger=rec)
    assert rec.named("log_prune_started")[1]["workspace_root"] == "workspace"


def test_delete_session_workspace_is_idempotent_and_logged(tmp_path: Path) -> None:
    sid = make(tmp_path, 1)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    rec = Recorder()
    delete_session_workspace(sid, tmp_path, logger=rec)
    assert not (tmp_path / sid).exists()
    delete_session_workspace(sid, tmp_path, logger=rec)
    delete_session_workspace(sid, workspace_root=tmp_path)
    assert rec.calls == [("log_session_deleted", (sid,), {})] * 2
    for bad in ("../" + outside.name, "a/b", "..", ""):
        with pytest.raises(ValueError):
            delete_session_workspace(bad, tmp_path)
    assert outside.exists()


def test_logging_logger_and_callable_still_work(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make(tmp_path, 48)
    events: List[wsprune.Event] = []
    prune_sessions(24.0, tmp_path, dry_run=True, logger=events.append)
    assert [e.name for e in events if e.name.startswith("session.prune.")][0] == "session.prune.started"
    log = logging.getLogger("test.dropin")
    with caplog.at_level(logging.DEBUG, logger="test.dropin"):
        prune_sessions(24.0, tmp_path, logger=log)
    assert any(getattr(r, "event", None) == "session.prune.deleted" for r in caplog.records)


def test_idiomatic_api_takes_a_reference_logger(tmp_path: Path) -> None:
    rec = Recorder()
    wsprune.set_logger(rec)
    try:
        sid = wsprune.create_session(tmp_path)
        wsprune.touch_session(tmp_path, sid)
    finally:
        wsprune.set_logger(None)
    created = rec.named("log_session_metadata_created")
    assert len(created) == 1 and created[0]["session_id"] == sid and created[0]["created_at"].endswith("Z")
    assert [kw["session_id"] for kw in rec.named("log_session_metadata_updated")] == [sid]
    backdate = iso(48, "Z")
    write_session_metadata(tmp_path, sid, json.dumps({"session_id": sid, "created_at": backdate, "updated_at": backdate, "version": 1}))
    rec2 = Recorder()
    r = wsprune.prune_sessions(24.0, tmp_path, True, rec2)
    assert r.reclaimed_bytes > 0  # the idiomatic API keeps the would-be figure
    assert [n for n, _, _ in rec2.calls] == ["log_prune_started", "log_prune_candidate", "log_prune_completed"]


def test_partial_logger_gets_only_its_methods(tmp_path: Path) -> None:
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    make(tmp_path, 48)
    got: List[Tuple[str, str]] = []

    class OnlySkips:
        def log_prune_skipped(self, session_id: str, reason: str) -> None:
            got.append((session_id, reason))

    r = prune_sessions(24.0, tmp_path, logger=OnlySkips())
    assert got == [(legacy, "missing_metadata")] and len(r.deleted_sessions) == 1


def test_a_raising_logger_is_reported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(3):
        make(tmp_path, 48)

    class Broken:
        def log_prune_candidate(self, session_id: str, age_hours: float, threshold_hours: float) -> None:
            raise RuntimeError("logger down")

        log_prune_deleted = log_prune_started = log_prune_completed = lambda self, **kw: 1 / 0

    broken = Broken()
    with caplog.at_level(logging.ERROR, logger="wsprune"):
        r = prune_sessions(24.0, tmp_path, logger=broken)
        r2 = wsprune.prune_sessions(24.0, tmp_path, logger=broken)
    assert len(r.deleted_sessions) == 3 and r2.deleted_sessions == []
    reports = [rec for rec in caplog.records if rec.name == "wsprune"]
    assert len(reports) == 1 and "raised" in reports[0].getMessage()

    def bad_callable(event: wsprune.Event) -> None:
        raise ValueError(event.name)

    make(tmp_path, 48)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="wsprune"):
        for _ in range(2):
            wsprune.prune_sessions(24.0, tmp_path, True, bad_callable)
    assert len([rec for rec in caplog.records if rec.name == "wsprune"]) == 1


# ---- custom ids and create-or-open (need libwsprune 0.3.0) ----------------------------------


def test_custom_ids_are_sessions_needs_0_3_0(tmp_path: Path) -> None:
    custom = make(tmp_path, 48, sid="my-session")
    kept = make(tmp_path, 1, sid="Recent Custom")
    plain = tmp_path / "not-a-session"
    plain.mkdir()
    hidden = make(tmp_path, 48, sid=".hidden")
    site = make(tmp_path, 48, sid="site-packages")
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    assert sorted(_enumerate_sessions(tmp_path)) == sorted([custom, kept, legacy])
    r = prune_sessions(24.0, tmp_path)
    assert r.deleted_sessions == [custom]
    # A directory with a custom-id name but no metadata is reported skipped, as the reference does.
    assert r.skipped_sessions == sorted([legacy, "not-a-session"])
    assert plain.exists() and (tmp_path / hidden).exists() and (tmp_path / site).exists() and (tmp_path / kept).exists()
    _update_session_timestamp(kept, tmp_path)
    m = _read_session_metadata(kept, tmp_path)
    assert m is not None and m.updated_at.endswith("Z")
    delete_session_workspace(kept, tmp_path)
    assert not (tmp_path / kept).exists()


def test_enumerate_sessions_without_custom_ids(tmp_path: Path) -> None:
    assert _enumerate_sessions(tmp_path / "absent") == []
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "temp").mkdir()
    assert _enumerate_sessions(tmp_path) == [legacy]


def test_open_session_refuses_a_legacy_directory_without_metadata(tmp_path: Path) -> None:
    # Not adopted: a legacy directory without metadata is not a session to
    # open (a prune would delete what an open adopts); nothing is written.
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    (tmp_path / legacy / "keep.txt").write_text("data")
    with pytest.raises(wsprune.NotFoundError):
        wsprune.open_session(tmp_path, legacy)
    assert _read_session_metadata(legacy, tmp_path) is None
    assert sorted(os.listdir(tmp_path / legacy)) == ["keep.txt"]
    # With valid metadata (the reference's own), it is opened and registered.
    make(tmp_path, 2.0, sid="from-reference")
    assert wsprune.open_session(tmp_path, "from-reference") == ("from-reference", False)
    new_id, created = wsprune.open_session(tmp_path)
    assert created and uuid.UUID(new_id) and (tmp_path / new_id / ".metadata.json").exists()
    assert wsprune.open_session(tmp_path, "custom-id") == ("custom-id", True)
    long_id = "c" * 255
    assert wsprune.create_session(tmp_path, long_id) == long_id
    assert wsprune.open_session(tmp_path, long_id) == (long_id, False)


def test_library_loaded(tmp_path: Path) -> None:
    env = os.environ.get("WSPRUNE_LIBRARY")
    if env:
        assert wsprune.library_path == env
    assert wsprune.version() == wsprune._lib.library_version


# ---- against the reference's own adapter and logger, when available -----------------------


def test_with_the_reference_adapter_and_logger(reference: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    adapter = reference.storage.DiskStorageAdapter(tmp_path / "ws")
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    adapter.create_session(old)
    adapter.create_session(recent)
    adapter.write_file(old, "out.txt", b"y" * 700)
    stale = iso(30)
    adapter.write_metadata(old, SessionMetadata(old, stale, stale, 1))
    legacy = str(uuid.uuid4())
    (tmp_path / "ws" / legacy).mkdir()
    # Not the adapter's get_session_size (the reference's sum of st_size):
    # the drop-in reports allocated blocks, as every surface does.
    size = tree_bytes(tmp_path / "ws" / old)
    logger = reference.logging.SandboxLogger(logging.getLogger("ref.sandbox"))
    with caplog.at_level(logging.DEBUG, logger="ref.sandbox"):
        dry = prune_sessions(24, storage_adapter=adapter, dry_run=True, logger=logger)
        # Per-session events come in completion order (workers run in
        # parallel; the reference follows the directory's order): only the
        # first and last are fixed.
        logged = [(r.levelname, r.getMessage()) for r in caplog.records]
        assert logged[0] == ("INFO", "sandbox.session.prune.started")
        assert logged[-1] == ("INFO", "sandbox.session.prune.completed")
        assert sorted(logged[1:-1]) == [
            ("INFO", "sandbox.session.prune.candidate"),
            ("WARNING", "sandbox.session.prune.skipped"),
        ]
        caplog.clear()
        real = prune_sessions(24, storage_adapter=adapter, logger=logger)
        assert "sandbox.session.prune.deleted" in [r.getMessage() for r in caplog.records]
        caplog.clear()
        _update_session_timestamp(recent, tmp_path / "ws", logger)
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("INFO", "sandbox.session.metadata.updated")]
    assert dry == PruneResult([old], [legacy], 0, {}, True) and dry.would_reclaim_bytes == size
    assert real == PruneResult([old], [legacy], size, {}, False)
    assert not adapter.session_exists(old) and adapter.session_exists(recent)
    assert adapter.read_metadata(recent).updated_at.endswith("Z")
