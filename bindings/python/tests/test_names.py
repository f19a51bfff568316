"""Session names and leftover trash through the Python binding: UUID
spellings (one UUID, one session), custom ids, open_session, and trash
reported by its own name in PruneResult.interrupted."""

import os
from pathlib import Path

import pytest

import wsprune
from hoststate import listdir, unregistered_session, write_session_metadata
from du import tree_bytes

CANON = "abcdef01-2345-6789-abcd-ef0123456789"
SPELLINGS = [CANON, CANON.upper(), CANON.replace("-", ""), CANON.replace("-", "").upper()]


def test_a_root_with_a_nul_is_refused_not_cut(tmp_path: Path) -> None:
    # C would cut "<dir>\0-staging" to "<dir>" and prune it.
    root = tmp_path / "ws"
    sid = wsprune.create_session(root)
    for bad in (str(root) + "\0-staging", os.fsencode(root) + b"\0x", str(root) + "\ud800"):
        with pytest.raises(wsprune.InvalidArgumentError):
            wsprune.prune_sessions(0, bad)
        with pytest.raises(wsprune.InvalidArgumentError):
            wsprune.session_info(bad, sid)
        with pytest.raises(wsprune.InvalidArgumentError):
            wsprune.create_session(bad)
    assert listdir(root) == [sid]
    for bad_id in ("a\0b", "t\ud800", "t\udc00"):
        with pytest.raises(wsprune.InvalidSessionIdError):
            wsprune.create_session(root, bad_id)
    assert listdir(root) == [sid]


def test_one_uuid_one_session(tmp_path: Path) -> None:
    assert wsprune.create_session(tmp_path, SPELLINGS[3]) == CANON
    assert listdir(tmp_path) == [CANON]
    for s in SPELLINGS:
        with pytest.raises(wsprune.AlreadyExistsError):
            wsprune.create_session(tmp_path, s)
        wsprune.touch_session(tmp_path, s)
        assert wsprune.session_info(tmp_path, s).state == wsprune.SessionState.OK
        assert wsprune.open_session(tmp_path, s) == (CANON, False)
        with wsprune.lease(tmp_path, s):
            with pytest.raises(wsprune.BusyError):
                wsprune.delete_session(tmp_path, SPELLINGS[0])
    assert listdir(tmp_path) == [CANON]


def test_custom_ids(tmp_path: Path) -> None:
    longest = "é" * 127 + "x"
    for sid in ["chat 7: notebook", "名前", longest]:
        assert wsprune.create_session(tmp_path, sid) == sid
        wsprune.touch_session(tmp_path, sid)
        with wsprune.lease(tmp_path, sid):
            assert wsprune.session_info(tmp_path, sid).in_use
    assert wsprune.delete_session(tmp_path, longest) > 0
    assert sorted(listdir(tmp_path)) == sorted(["chat 7: notebook", "名前"])
    for bad in ["..", ".x", "a/b", "site-packages", "tab\t", "x" * 256, "bad\udcff"]:
        with pytest.raises(wsprune.InvalidSessionIdError):
            wsprune.open_session(tmp_path, bad)
        with pytest.raises(wsprune.InvalidSessionIdError):
            wsprune.touch_session(tmp_path, bad)


def test_open_session(tmp_path: Path) -> None:
    sid, created = wsprune.open_session(tmp_path)
    assert created and len(sid) == 36
    assert wsprune.open_session(tmp_path, "reused") == ("reused", True)
    assert wsprune.open_session(tmp_path, "reused") == ("reused", False)
    (tmp_path / "adopted").mkdir()
    with pytest.raises(wsprune.NotFoundError):
        wsprune.session_info(tmp_path, "adopted")
    # A directory that is not a session is not adopted by an open (a prune
    # would delete it with whatever it holds).
    with pytest.raises(wsprune.NotFoundError):
        wsprune.open_session(tmp_path, "adopted")
    with pytest.raises(wsprune.NotFoundError):
        wsprune.session_info(tmp_path, "adopted")


def test_leftover_trash_beside_a_live_session(tmp_path: Path) -> None:
    live = wsprune.create_session(tmp_path)
    trash = tmp_path / f".wsprune-trash.{live}.1.2"
    trash.mkdir()
    (trash / "f").write_bytes(b"x" * 40)
    size = tree_bytes(trash)
    r = wsprune.prune_sessions(24, tmp_path)
    assert r.deleted_sessions == [] and r.errors == {}
    assert r.interrupted == [trash.name] and r.reclaimed_bytes == size
    assert r.to_dict()["interrupted"] == [trash.name]
    assert (tmp_path / live).is_dir() and not trash.exists()
