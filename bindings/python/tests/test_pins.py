"""Pins, per-session TTLs and the look-ahead (docs/contract.md, "Pins",
"Per-session TTL", "Look-ahead") through the Python binding: each call
reaches the host's record, and a prune decides by it."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import wsprune
from hoststate import record_path


def record(root: Path, sid: str) -> dict:
    return json.loads(record_path(root, sid).read_text())


def test_create_with_a_ttl_writes_it_into_the_record(tmp_path: Path) -> None:
    expires = datetime.now(timezone.utc) + timedelta(hours=2)
    sid = wsprune.create_session(tmp_path, "t", idle_ttl=timedelta(hours=1), expires_at=expires)
    rec = record(tmp_path, sid)
    assert rec["idle_ttl_seconds"] == 3600
    assert rec["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M:%S"))
    wsprune.set_session_ttl(tmp_path, sid, idle_ttl=90)
    rec = record(tmp_path, sid)
    assert rec["idle_ttl_seconds"] == 90 and "expires_at" not in rec
    wsprune.set_session_ttl(tmp_path, sid)
    assert "idle_ttl_seconds" not in record(tmp_path, sid)
    # A fraction of a second is refused, not cut off (1.9 was stored as 1).
    for bad in (0.5, 0, timedelta(0), -1, "1h", 1.9, timedelta(seconds=90, microseconds=1)):
        with pytest.raises(wsprune.InvalidArgumentError):
            wsprune.set_session_ttl(tmp_path, sid, idle_ttl=bad)  # type: ignore[arg-type]


def test_a_ttl_deletes_the_session_whatever_the_age_rule(tmp_path: Path) -> None:
    sid = wsprune.create_session(tmp_path, "short", idle_ttl=1)
    keep = wsprune.create_session(tmp_path, "keep")
    time.sleep(1.2)
    r = wsprune.prune_sessions(older_than_hours=None, workspace_root=tmp_path, max_deletions=5)
    assert r.deleted_sessions == [sid]
    assert r.deleted_rules == {sid: "ttl"}
    assert wsprune.list_sessions(tmp_path)[0].session_id == keep


def test_a_pinned_session_is_skipped_and_deleted_only_with_force(tmp_path: Path) -> None:
    sid = wsprune.create_session(tmp_path, "pinned", idle_ttl=1)
    wsprune.pin_session(tmp_path, sid, until=datetime.now(timezone.utc) + timedelta(hours=1))
    assert record(tmp_path, sid)["pinned"] is True
    time.sleep(1.2)
    r = wsprune.prune_sessions(workspace_root=tmp_path)
    assert r.deleted_sessions == [] and r.skipped_reasons == {sid: "pinned"}
    # The look-ahead: two hours on, the pin has ended and the TTL takes it.
    ahead = datetime.now(timezone.utc) + timedelta(hours=2)
    r = wsprune.prune_sessions(workspace_root=tmp_path, dry_run=True, as_of=ahead)
    assert r.deleted_rules == {sid: "ttl"}
    with pytest.raises(wsprune.InvalidArgumentError, match="dry run"):
        wsprune.prune_sessions(workspace_root=tmp_path, as_of=ahead)
    with pytest.raises(wsprune.InvalidArgumentError, match="pinned"):
        wsprune.delete_session(tmp_path, sid)
    wsprune.unpin_session(tmp_path, sid)
    wsprune.pin_session(tmp_path, sid)
    assert wsprune.delete_session(tmp_path, sid, force=True) > 0
    with pytest.raises(wsprune.NotFoundError):
        wsprune.pin_session(tmp_path, sid)
    with pytest.raises(wsprune.InvalidArgumentError):
        wsprune.pin_session(tmp_path, "x", until=datetime(2000, 1, 1))


def test_readme_recipe_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme.read_text(), re.S) if "pin_session" in b)
    code = block.replace('"/tmp/ws"', repr(str(tmp_path / "ws")))
    exec(compile(code, str(readme), "exec"), {})
    assert "{'notebook-7': 'ttl'}" in capsys.readouterr().out
    rec = record(tmp_path / "ws", "notebook-7")
    assert "pinned" not in rec and "idle_ttl_seconds" not in rec and "expires_at" in rec
