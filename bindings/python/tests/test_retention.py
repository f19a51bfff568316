"""Tests of the retention policies, single-session operations and repair:
the ctypes mirrors of the C structs, prune_sessions' keyword options,
delete_session, session_info and repair_sessions."""

from __future__ import annotations

import ctypes
import dataclasses
import fcntl
import json
import os
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from hoststate import listdir, unregistered_session, write_session_metadata
from pathlib import Path
from typing import Any, Dict, Iterable, List

import pytest

import wsprune
from du import tree_bytes
from wsprune import Event, SessionState
from wsprune._lib import PruneOptions, SessionDetails, lib

LEGACY = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
BAD_IDS = ["", ".hidden", "site-packages", "new\nline", "../x", "..", "/etc", LEGACY + "/..", "x" * 256]


def stamp(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_meta(root: Path, sid: str, created: datetime, updated: datetime) -> None:
    meta = {"session_id": sid, "created_at": stamp(created), "updated_at": stamp(updated), "version": 1}
    write_session_metadata(root, sid, json.dumps(meta))


def aged(root: Path, *hours: float, payload: int = 10_000) -> List[str]:
    """One session per age (oldest first if the ages decrease), each with a payload."""
    now = datetime.now(timezone.utc)
    ids = []
    for h in hours:
        sid = wsprune.create_session(root)
        (root / sid / "payload.bin").write_bytes(b"p" * payload)
        when = now - timedelta(hours=h)
        write_meta(root, sid, when, when)
        ids.append(sid)
    return ids


def sizes(root: Path, ids: Iterable[str]) -> int:
    return sum(tree_bytes(root / s) for s in ids)


def rules(rule: str, ids: Iterable[str]) -> Dict[str, str]:
    return {s: rule for s in ids}


# ---- the C structs --------------------------------------------------------------


def test_prune_options_layout_matches_the_library() -> None:
    # The library writes exactly the size it is given and says so in
    # struct_size; for ctypes' size, every field lands where ctypes expects it.
    n = ctypes.sizeof(PruneOptions)
    buf = ctypes.create_string_buffer(b"\xaa" * 4096, 4096)
    assert lib.wsprune_prune_options_init(ctypes.cast(buf, ctypes.POINTER(PruneOptions)), n) == 0
    assert ctypes.c_size_t.from_buffer(buf).value == n
    assert buf.raw[n:] == b"\xaa" * (4096 - n)
    if ctypes.sizeof(ctypes.c_size_t) == 8:  # LP64 (x86-64, aarch64): as the C compiler lays it out
        assert (PruneOptions.jobs.offset, PruneOptions.dry_run.offset, PruneOptions.flags.offset) == (56, 65, 72)
        assert (PruneOptions.min_free_percent.offset, PruneOptions.low_inode_watermark_percent.offset) == (80, 112)
        assert (PruneOptions.label_selector.offset, PruneOptions.max_bytes_per_owner.offset) == (120, 144)
        assert (PruneOptions.as_of_us.offset, n) == (152, 160)
        assert (SessionDetails.state.offset, SessionDetails.in_use.offset, ctypes.sizeof(SessionDetails)) == (32, 36, 40)
    # Every field where ctypes expects it: the documented defaults.
    opts = PruneOptions.from_buffer_copy(buf.raw[:n])
    assert (opts.struct_size, opts.older_than_hours, opts.min_age_hours) == (n, 24.0, 1.0)
    assert (opts.max_total_bytes, opts.max_sessions, opts.min_free_bytes, opts.max_deletions) == (0, 0, 0, 0)
    assert (opts.jobs, opts.lock_timeout_ms, opts.use_older_than, opts.dry_run) == (0, 30000, True, False)
    assert (opts.min_free_percent, opts.high_watermark_percent, opts.low_watermark_percent) == (0.0, 0.0, 0.0)
    assert (opts.high_inode_watermark_percent, opts.low_inode_watermark_percent) == (0.0, 0.0)
    assert (opts.flags, opts.as_of_us) == (0, 0)
    assert lib.wsprune_prune_options_init(None, n) == 1
    assert lib.wsprune_prune_options_init(ctypes.byref(PruneOptions()), PruneOptions.flags.offset - 1) == 1


def test_a_bigger_struct_gets_its_unknown_tail_zeroed() -> None:
    # A caller built against a newer header passes its larger size.
    buf = ctypes.create_string_buffer(b"\xaa" * 256, 256)
    assert lib.wsprune_prune_options_init(ctypes.cast(buf, ctypes.POINTER(PruneOptions)), 200) == 0
    n = ctypes.sizeof(PruneOptions)
    assert ctypes.c_size_t.from_buffer(buf).value == 200
    assert buf.raw[n:200] == b"\0" * (200 - n)
    assert buf.raw[200:] == b"\xaa" * 56


def test_prune_options_struct_size_is_checked(tmp_path: Path) -> None:
    opts = PruneOptions()
    assert lib.wsprune_prune_options_init(ctypes.byref(opts), ctypes.sizeof(opts)) == 0
    for bad in (0, 71):  # 72: sizeof(wsprune_prune_options) in 0.2.0, the smallest accepted
        opts.struct_size = bad
        err = ctypes.c_void_p()
        assert not lib.wsprune_prune_sessions_with_options(bytes(tmp_path), ctypes.byref(opts), ctypes.byref(err))
        assert lib.wsprune_error_status(err) == 1
        lib.wsprune_error_free(err)
    opts.struct_size = ctypes.sizeof(PruneOptions)
    err = ctypes.c_void_p()
    r = lib.wsprune_prune_sessions_with_options(bytes(tmp_path), ctypes.byref(opts), ctypes.byref(err))
    assert r and not err.value
    lib.wsprune_prune_result_free(r)


def test_session_info_layout_matches_the_library(tmp_path: Path) -> None:
    sid = wsprune.create_session(tmp_path)
    (tmp_path / sid / "f").write_bytes(b"x" * 1234)
    n = ctypes.sizeof(SessionDetails)

    def call(struct_size: int) -> int:
        info = SessionDetails()
        info.struct_size = struct_size
        err = ctypes.c_void_p()
        status = int(lib.wsprune_session_info(bytes(tmp_path), sid.encode(), ctypes.byref(info), ctypes.byref(err)))
        if err.value:
            lib.wsprune_error_free(err)
        return status

    # The library accepts struct_size >= its sizeof: ctypes' size is the smallest it takes.
    assert call(n - 1) == 1
    assert call(n) == 0
    # Fields at the right offsets: a raw buffer read back through ctypes.
    buf = ctypes.create_string_buffer(b"\xaa" * (n + 8), n + 8)
    ctypes.c_size_t.from_buffer(buf).value = n
    err = ctypes.c_void_p()
    assert lib.wsprune_session_info(bytes(tmp_path), sid.encode(), ctypes.cast(buf, ctypes.POINTER(SessionDetails)), ctypes.byref(err)) == 0
    assert buf.raw[n:] == b"\xaa" * 8  # nothing written past the struct
    info = SessionDetails.from_buffer_copy(buf.raw[:n])
    assert info.size_bytes == tree_bytes(tmp_path / sid)
    assert info.state == 0 and info.in_use is False
    assert info.created_at_us == info.updated_at_us
    assert abs(info.updated_at_us / 1e6 - time.time()) < 60


# ---- prune_sessions with options ------------------------------------------------


def test_max_total_bytes_evicts_least_recently_used_first(tmp_path: Path) -> None:
    s = aged(tmp_path, 5, 4, 3, 2, 1)
    cap = sizes(tmp_path, s[3:]) + 100  # room for the two newest only
    dry = wsprune.prune_sessions(None, tmp_path, dry_run=True, max_total_bytes=cap)
    assert dry.deleted_rules == rules("max_total_bytes", s[:3])
    assert sorted(dry.deleted_sessions) == sorted(s[:3])
    assert dry.reclaimed_bytes == sizes(tmp_path, s[:3])
    assert all((tmp_path / sid).exists() for sid in s)

    real = wsprune.prune_sessions(older_than_hours=None, workspace_root=tmp_path, max_total_bytes=cap)
    assert real.deleted_rules == dry.deleted_rules and real.reclaimed_bytes == dry.reclaimed_bytes
    assert [(tmp_path / sid).exists() for sid in s] == [False, False, False, True, True]
    assert wsprune.prune_sessions(None, tmp_path, max_total_bytes=cap).deleted_sessions == []


def test_combined_rules_record_their_rule(tmp_path: Path) -> None:
    s = aged(tmp_path, 5, 4, 3, 2, 1)
    # The age rule takes s[0]; the cap then needs s[1] and s[2].
    r = wsprune.prune_sessions(4.5, tmp_path, dry_run=True, max_total_bytes=sizes(tmp_path, s[3:]) + 100)
    assert r.deleted_rules == {s[0]: "older_than", s[1]: "max_total_bytes", s[2]: "max_total_bytes"}
    r = wsprune.prune_sessions(None, tmp_path, dry_run=True, max_sessions=2)
    assert r.deleted_rules == rules("max_sessions", s[:3])
    r = wsprune.prune_sessions(None, tmp_path, dry_run=True, min_free_bytes=2**64 - 1)
    assert r.deleted_rules == rules("min_free_bytes", s)
    # More than any disk has: everything evictable would go, and the target is still out of reach.
    assert r.unmet_targets == ["min_free_bytes"]
    assert r.summary.endswith("; target not reached: min_free_bytes")
    # Target and actual value, and each session's bytes and idle age, from the result.
    assert [(u.rule, u.target) for u in r.unmet] == [("min_free_bytes", 2**64 - 1)]
    assert 0 < r.unmet[0].actual < 2**64 - 1
    assert sorted(r.deleted_details) == sorted(s)
    assert sum(d.bytes for d in r.deleted_details.values()) == r.reclaimed_bytes
    assert all(d.rule == "min_free_bytes" and d.age_hours > 0.5 for d in r.deleted_details.values())
    assert isinstance(r.deleted_details[s[0]], wsprune.DeletedSession)
    # The floor holds back the size and count rules, not the age rule.
    r = wsprune.prune_sessions(None, tmp_path, dry_run=True, max_sessions=1, min_age_hours=2.5)
    assert r.deleted_rules == rules("max_sessions", s[:3])
    r = wsprune.prune_sessions(0.5, tmp_path, dry_run=True, min_age_hours=2.5)
    assert r.deleted_rules == rules("older_than", s)
    # max_deletions: the least recently used first.
    r = wsprune.prune_sessions(0.0, tmp_path, dry_run=True, max_deletions=2)
    assert r.deleted_rules == rules("older_than", s[:2])
    r = wsprune.prune_sessions(0.0, tmp_path, max_deletions=2)
    assert r.deleted_rules == rules("older_than", s[:2])
    assert set(r.deleted_rules.values()) <= set(wsprune.RULES)
    # No rule at all: nothing goes.
    assert wsprune.prune_sessions(None, tmp_path).deleted_sessions == []
    assert all((tmp_path / sid).exists() for sid in s[2:])


def test_capacity_rules_spare_leased_legacy_and_future(tmp_path: Path) -> None:
    s = aged(tmp_path, 3, 2, 1)
    (tmp_path / LEGACY).mkdir()
    (tmp_path / LEGACY / "big").write_bytes(b"\0" * 50_000)
    future = wsprune.create_session(tmp_path)
    far = datetime(2999, 1, 1, tzinfo=timezone.utc)
    write_meta(tmp_path, future, far, far)
    with wsprune.lease(tmp_path, s[0]):
        r = wsprune.prune_sessions(None, tmp_path, max_total_bytes=1)
    assert r.deleted_rules == rules("max_total_bytes", s[1:])
    assert r.skipped_reasons == {s[0]: "in_use", LEGACY: "missing_metadata"}
    assert (tmp_path / s[0]).exists() and (tmp_path / LEGACY).exists() and (tmp_path / future).exists()


def test_interrupted_deletion_is_finished(tmp_path: Path) -> None:
    keep = wsprune.create_session(tmp_path)
    sid = str(uuid.uuid4())
    trash = tmp_path / f".wsprune-trash.{sid}.1.2"
    (trash / "a").mkdir(parents=True)
    (trash / "a" / "f").write_bytes(b"z" * 321)
    size = tree_bytes(trash)
    r = wsprune.prune_sessions(None, tmp_path)
    # Reported by its own name, never as a session.
    assert r.deleted_rules == {} and r.interrupted == [trash.name] and r.reclaimed_bytes == size
    assert not trash.exists() and (tmp_path / keep).exists()


def test_to_dict_matches_the_library_json(tmp_path: Path) -> None:
    old = aged(tmp_path, 48, 47)
    (tmp_path / LEGACY).mkdir()
    r = wsprune.prune_sessions(24.0, tmp_path, dry_run=True)
    # The same prune through the C API, serialised by the library.
    opts = PruneOptions()
    lib.wsprune_prune_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
    opts.dry_run = True
    err = ctypes.c_void_p()
    cr = lib.wsprune_prune_sessions_with_options(bytes(tmp_path), ctypes.byref(opts), ctypes.byref(err))
    assert cr
    try:
        p = lib.wsprune_prune_result_to_json(cr)
        try:
            c_json: Dict[str, Any] = json.loads(ctypes.string_at(p).decode())
        finally:
            lib.wsprune_string_free(p)
    finally:
        lib.wsprune_prune_result_free(cr)
    assert r.to_dict() == c_json
    assert r.to_dict()["deleted_rules"] == rules("older_than", old)
    # Existing fields and positional construction are unchanged; the new ones come last.
    names = [f.name for f in dataclasses.fields(wsprune.PruneResult)]
    assert names == [
        "deleted_sessions", "skipped_sessions", "reclaimed_bytes", "errors",
        "dry_run", "skipped_reasons", "summary", "deleted_rules", "interrupted", "unmet_targets",
        "deleted_details", "interrupted_bytes", "unmet",
    ]
    assert r.to_dict()["unmet_targets"] == []


def test_jobs_give_the_same_result(tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)

    def build(name: str) -> Path:
        root = tmp_path / name
        for i in range(40):
            sid = f"0f8fad5b-d9cb-469f-a165-{i:012x}"
            wsprune.create_session(root, sid)
            (root / sid / "d").mkdir()
            (root / sid / "d" / "f.bin").write_bytes(b"\0" * (100 * i))
            write_meta(root, sid, now - timedelta(hours=i), now - timedelta(hours=i))
        return root

    results = []
    for jobs in (1, 8):
        events: List[Event] = []
        for dry in (True, False):
            r = wsprune.prune_sessions(10.0, build(f"j{jobs}{dry}"), dry_run=dry, logger=events.append,
                                       max_sessions=5, max_deletions=30, jobs=jobs)
            results.append((r.deleted_sessions, r.deleted_rules, r.reclaimed_bytes))
        started = [e for e in events if e.name == "session.prune.started"]
        assert [e.fields["jobs"] for e in started] == [jobs, jobs]
    assert len(results[0][0]) == 30
    assert all(x == results[0] for x in results)


def test_lock_timeout(tmp_path: Path) -> None:
    (sid,) = aged(tmp_path, 48)
    # The workspace lock: the host directory's lock file, as a running prune holds it.
    fd = os.open(tmp_path / ".wsprune" / "lock", os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        start = time.monotonic()
        with pytest.raises(wsprune.BusyError) as e:
            wsprune.prune_sessions(24.0, tmp_path, lock_timeout=0)
        assert e.value.status == 5 and time.monotonic() - start < 1.0
        start = time.monotonic()
        with pytest.raises(wsprune.BusyError):
            wsprune.prune_sessions(24.0, tmp_path, lock_timeout=0.3)
        assert 0.29 <= time.monotonic() - start < 5.0
        threading.Timer(0.1, lambda: fcntl.flock(fd, fcntl.LOCK_UN)).start()
        r = wsprune.prune_sessions(24.0, tmp_path, lock_timeout=10)
    finally:
        time.sleep(0.15)  # let the timer run before the descriptor goes
        os.close(fd)
    assert r.deleted_sessions == [sid]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_total_bytes": 0},
        {"max_sessions": 0},
        {"min_free_bytes": 0},
        {"max_deletions": 0},
        {"max_sessions": -1},
        {"max_total_bytes": 2**64},
        {"max_sessions": 1.5},
        {"max_deletions": True},
        {"max_sessions": "3"},
        {"min_age_hours": -1.0},
        {"min_age_hours": float("nan")},
        {"min_age_hours": float("inf")},
        {"jobs": -1},
        {"jobs": 2**32},
        {"jobs": 1.0},
        {"lock_timeout": -0.001},
        {"lock_timeout": float("nan")},
        {"high_watermark_percent": 0},
        {"high_watermark_percent": 100.5},
        {"high_watermark_percent": float("nan")},
        {"high_watermark_percent": "85%"},
        {"high_watermark_percent": 80, "low_watermark_percent": 85},
        {"low_watermark_percent": 80},
        {"high_inode_watermark_percent": -1},
        {"high_inode_watermark_percent": 50, "low_inode_watermark_percent": 0},
        {"min_free_percent": 0},
        {"min_free_percent": 101},
    ],
)
def test_invalid_options(tmp_path: Path, kwargs: Dict[str, Any]) -> None:
    (sid,) = aged(tmp_path, 48)
    with pytest.raises(wsprune.InvalidArgumentError) as e:
        wsprune.prune_sessions(24.0, tmp_path, **kwargs)
    assert isinstance(e.value, ValueError)
    assert (tmp_path / sid).exists()


@pytest.mark.parametrize("name", ["max_total_bytes", "max_sessions", "min_free_bytes", "max_deletions"])
def test_a_cap_of_zero_is_refused_with_the_core_message(tmp_path: Path, name: str) -> None:
    (sid,) = aged(tmp_path, 48)
    with pytest.raises(wsprune.InvalidArgumentError) as e:
        wsprune.prune_sessions(None, tmp_path, dry_run=True, **{name: 0})
    assert str(e.value) == f"{name} must be at least 1; leave it unset to turn the rule off"
    # The core says the same for Rust's Some(0); C cannot, as its 0 is "unset".
    assert (tmp_path / sid).exists()


def test_min_age_defaults_to_the_library_hour_and_0_removes_it(tmp_path: Path) -> None:
    s = aged(tmp_path, 0.5, 0.2)
    # Unset: the library's 1 h floor spares both; the cap is reported unmet.
    r = wsprune.prune_sessions(None, tmp_path, max_sessions=1)
    assert r.deleted_sessions == [] and r.unmet_targets == ["max_sessions"]
    assert r.to_dict()["unmet_targets"] == ["max_sessions"]
    # Explicit values, 0 included, are taken as given.
    r = wsprune.prune_sessions(None, tmp_path, dry_run=True, max_sessions=1, min_age_hours=0.4)
    assert r.deleted_rules == rules("max_sessions", s[:1])
    r = wsprune.prune_sessions(None, tmp_path, max_sessions=1, min_age_hours=0)
    assert r.deleted_rules == rules("max_sessions", s[:1]) and r.unmet_targets == []
    assert [(tmp_path / sid).exists() for sid in s] == [False, True]


def test_options_are_keyword_only(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        wsprune.prune_sessions(24.0, tmp_path, False, None, 100)  # type: ignore[misc]


# ---- delete_session ---------------------------------------------------------------


def test_delete_session(tmp_path: Path) -> None:
    events: List[Event] = []
    sid = wsprune.create_session(tmp_path)  # fresh: age does not matter
    (tmp_path / sid / "sub").mkdir()
    (tmp_path / sid / "sub" / "f").write_bytes(b"x" * 5000)
    os.symlink("/etc/passwd", tmp_path / sid / "link")
    other = wsprune.create_session(tmp_path)
    expected = tree_bytes(tmp_path / sid)
    wsprune.set_logger(events.append)
    try:
        assert wsprune.delete_session(tmp_path, sid) == expected
    finally:
        wsprune.set_logger(None)
    assert sorted(listdir(tmp_path)) == [other]
    assert os.path.exists("/etc/passwd")
    assert any(e.name == "session.deleted" and e.fields["session_id"] == sid for e in events)
    with pytest.raises(wsprune.NotFoundError):
        wsprune.delete_session(tmp_path, sid)
    # Legacy and corrupted sessions too.
    (tmp_path / LEGACY).mkdir()
    (tmp_path / LEGACY / "x").write_bytes(b"12345")
    legacy_size = tree_bytes(tmp_path / LEGACY)
    assert wsprune.delete_session(tmp_path, LEGACY) == legacy_size
    (tmp_path / other / ".metadata.json").write_text("garbage")
    assert wsprune.delete_session(tmp_path, other, wait=1.0) > 0
    assert listdir(tmp_path) == []


def test_delete_session_errors(tmp_path: Path) -> None:
    with pytest.raises(wsprune.NotFoundError):
        wsprune.delete_session(tmp_path / "missing", LEGACY)
    sid = wsprune.create_session(tmp_path)
    with pytest.raises(wsprune.NotFoundError):
        wsprune.delete_session(tmp_path, LEGACY)
    for bad in BAD_IDS + [LEGACY + "\0"]:
        with pytest.raises(wsprune.InvalidSessionIdError):
            wsprune.delete_session(tmp_path, bad)
    with pytest.raises(wsprune.InvalidSessionIdError):
        wsprune.delete_session(tmp_path, None)  # type: ignore[arg-type]
    with pytest.raises(wsprune.InvalidArgumentError):
        wsprune.delete_session("", sid)
    for bad_wait in (-1.0, float("nan")):
        with pytest.raises(wsprune.InvalidArgumentError):
            wsprune.delete_session(tmp_path, sid, wait=bad_wait)
    assert (tmp_path / sid).exists()


def test_delete_session_busy_while_leased(tmp_path: Path) -> None:
    sid = wsprune.create_session(tmp_path)
    held = wsprune.lease(tmp_path, sid)
    start = time.monotonic()
    with pytest.raises(wsprune.BusyError) as e:
        wsprune.delete_session(tmp_path, sid)
    assert e.value.status_name == "WSPRUNE_STATUS_BUSY" and time.monotonic() - start < 1.0
    start = time.monotonic()
    with pytest.raises(wsprune.BusyError):
        wsprune.delete_session(tmp_path, sid, wait=0.2)
    assert 0.19 <= time.monotonic() - start < 5.0
    assert (tmp_path / sid).exists()
    timer = threading.Timer(0.1, held.release)
    timer.start()
    assert wsprune.delete_session(tmp_path, sid, wait=10.0) > 0
    timer.join()
    assert not (tmp_path / sid).exists()


# ---- session_info -------------------------------------------------------------------


def test_session_info(tmp_path: Path) -> None:
    sid = wsprune.create_session(tmp_path)
    (tmp_path / sid / "f").write_bytes(b"x" * 4321)
    created = datetime(2021, 3, 4, 5, 6, 7, 123456, tzinfo=timezone.utc)
    updated = datetime(2022, 8, 9, 10, 11, 12, 654321, tzinfo=timezone.utc)
    write_meta(tmp_path, sid, created, updated)
    info = wsprune.session_info(tmp_path, sid)
    assert info == wsprune.SessionInfo(sid, created, updated, tree_bytes(tmp_path / sid), SessionState.OK, False)
    assert info.created_at is not None and info.created_at.utcoffset() == timedelta(0)
    assert info.state == "ok" and str(info.state) == "ok"
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.size_bytes = 0  # type: ignore[misc]
    with wsprune.lease(tmp_path, sid):
        assert wsprune.session_info(tmp_path, sid).in_use
    # The clean exit of the lease touched it; info itself changes nothing.
    after = wsprune.session_info(tmp_path, sid)
    assert not after.in_use and after.updated_at is not None and after.updated_at > updated
    assert wsprune.session_info(tmp_path, sid) == after

    (tmp_path / LEGACY).mkdir()
    (tmp_path / LEGACY / "w").write_bytes(b"legacy")
    bad = unregistered_session(tmp_path)
    (tmp_path / bad / ".metadata.json").write_text("{not json")
    for s, state in ((LEGACY, SessionState.LEGACY), (bad, SessionState.CORRUPTED)):
        i = wsprune.session_info(tmp_path, s)
        assert (i.state, i.created_at, i.updated_at, i.in_use) == (state, None, None, False)
        assert i.size_bytes == tree_bytes(tmp_path / s)


def test_session_info_errors(tmp_path: Path) -> None:
    with pytest.raises(wsprune.NotFoundError):
        wsprune.session_info(tmp_path / "missing", LEGACY)
    sid = wsprune.create_session(tmp_path)
    with pytest.raises(wsprune.NotFoundError):
        wsprune.session_info(tmp_path, LEGACY)
    os.symlink(tmp_path / sid, tmp_path / LEGACY)
    with pytest.raises(wsprune.NotFoundError):
        wsprune.session_info(tmp_path, LEGACY)
    for bad in BAD_IDS:
        with pytest.raises(wsprune.InvalidSessionIdError):
            wsprune.session_info(tmp_path, bad)
    with pytest.raises(wsprune.InvalidArgumentError):
        wsprune.session_info("", sid)


# ---- repair_sessions -----------------------------------------------------------------


def test_repair_sessions(tmp_path: Path) -> None:
    (ok,) = aged(tmp_path, 48)
    ok_meta = (tmp_path / ok / ".metadata.json").read_text()
    (tmp_path / LEGACY / "sub").mkdir(parents=True)
    work = tmp_path / LEGACY / "sub" / "work.txt"
    work.write_text("legacy work")
    newest = datetime(2023, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    ns = int(newest.timestamp()) * 10**9 + newest.microsecond * 1000 + 789
    os.utime(work, ns=(ns, ns))
    for p in (tmp_path / LEGACY / "sub", tmp_path / LEGACY):
        os.utime(p, ns=(ns - 3600 * 10**9, ns - 3600 * 10**9))
    bad = unregistered_session(tmp_path)
    (tmp_path / bad / ".metadata.json").write_text("[]")
    leased = str(uuid.uuid4())
    (tmp_path / leased).mkdir()

    with wsprune.lease(tmp_path, leased):
        dry = wsprune.repair_sessions(tmp_path, dry_run=True)
        assert not (tmp_path / LEGACY / ".metadata.json").exists()
        real = wsprune.repair_sessions(tmp_path)
    for r, d in ((dry, True), (real, False)):
        assert r.dry_run is d
        assert [x.session_id for x in r.repaired] == sorted([LEGACY, bad])
        by_id = {x.session_id: x for x in r.repaired}
        assert by_id[LEGACY].previous_state is SessionState.LEGACY
        assert by_id[LEGACY].updated_at == newest
        assert by_id[bad].previous_state is SessionState.CORRUPTED
        assert by_id[bad].updated_at.tzinfo is not None
        assert list(r.errors) == [leased] and r.errors[leased]
    assert real.to_dict()["repaired"][0]["previous_state"] in ("legacy", "corrupted")
    assert (tmp_path / ok / ".metadata.json").read_text() == ok_meta
    for s in (LEGACY, bad):
        assert wsprune.session_info(tmp_path, s).state is SessionState.OK
    assert wsprune.session_info(tmp_path, LEGACY).updated_at == newest
    # Dated 2023, the legacy session is now prunable by age.
    assert wsprune.prune_sessions(24.0, tmp_path).deleted_rules[LEGACY] == "older_than"
    # The lease is gone: the session it held (no metadata) is repairable now.
    again = wsprune.repair_sessions(tmp_path)
    assert [(x.session_id, x.previous_state) for x in again.repaired] == [(leased, SessionState.LEGACY)]
    assert again.errors == {}
    assert wsprune.repair_sessions(tmp_path) == wsprune.RepairResult([], {}, False)


def test_repair_sessions_errors(tmp_path: Path) -> None:
    with pytest.raises(wsprune.NotFoundError):
        wsprune.repair_sessions(tmp_path / "missing")
    with pytest.raises(wsprune.InvalidArgumentError):
        wsprune.repair_sessions("")
    (tmp_path / "file").write_text("x")
    with pytest.raises(wsprune.WsPruneError):
        wsprune.repair_sessions(tmp_path / "file")
    empty = wsprune.repair_sessions(tmp_path)
    assert empty == wsprune.RepairResult([], {}, False)


def test_struct_layouts_match_the_c_compiler(tmp_path: Path) -> None:
    """Every field offset and size of the ctypes mirrors, against the C
    compiler's own view of wsprune.h (installed next to the library, else the
    source tree's)."""
    import shutil
    import subprocess

    header = Path(os.path.realpath(wsprune.library_path)).parent.parent / "include" / "wsprune.h"
    if not header.exists():  # a library bundled in the wheel: the source tree's header
        header = Path(__file__).resolve().parents[3] / "include" / "wsprune.h"
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None or not header.exists():
        pytest.skip(f"needs a C compiler and {header}")
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "wsprune.h"', "int main(void) {"]
    expected = []
    for struct, c_name in ((PruneOptions, "wsprune_prune_options"), (SessionDetails, "wsprune_session_details")):
        lines.append(f'printf("%zu\\n", sizeof({c_name}));')
        expected.append(ctypes.sizeof(struct))
        for fname, ftype in struct._fields_:  # type: ignore[misc]
            lines.append(f'printf("%zu %zu\\n", offsetof({c_name}, {fname}), sizeof((({c_name} *)0)->{fname}));')
            expected.append((getattr(struct, fname).offset, ctypes.sizeof(ftype)))
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", "-Wall", "-Werror", "-I", str(header.parent), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    got: List[Any] = []
    for line in out:
        parts = line.split()
        got.append(int(parts[0]) if len(parts) == 1 else (int(parts[0]), int(parts[1])) if parts else None)
    assert [g for g in got if g is not None] == expected
