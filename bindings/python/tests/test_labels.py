"""Label selectors and per-owner caps through the Python binding: the
options reach the library, and the library's refusals come back as
InvalidArgumentError (docs/contract.md, "Labels")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict

import pytest

import wsprune
from hoststate import record_path


def labelled(root: Path, labels: Dict[str, str], age_hours: float) -> str:
    """A registered session whose record carries ``labels`` and was last used ``age_hours`` ago."""
    sid = wsprune.create_session(root)
    record = json.loads(record_path(root, sid).read_text())
    when = (datetime.now(timezone.utc) - timedelta(hours=age_hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    record.update(created_at=when, updated_at=when, labels=labels)
    record_path(root, sid).write_text(json.dumps(record, indent=2) + "\n")
    return sid


def test_a_selector_limits_the_prune_to_matching_sessions(tmp_path: Path) -> None:
    alice = labelled(tmp_path, {"owner": "alice"}, 48)
    bob = labelled(tmp_path, {"owner": "bob", "tier": "pro"}, 48)
    r = wsprune.prune_sessions(24, tmp_path, label_selector="owner=alice")
    assert r.deleted_sessions == [alice]
    r = wsprune.prune_sessions(24, tmp_path, dry_run=True, label_selector="tier!=pro")
    assert r.deleted_sessions == []
    assert (tmp_path / bob).is_dir()


def test_per_owner_caps_evict_within_each_owner(tmp_path: Path) -> None:
    a = [labelled(tmp_path, {"owner": "alice"}, h) for h in (10, 9, 8)]
    b = labelled(tmp_path, {"owner": "bob"}, 30)
    r = wsprune.prune_sessions(None, tmp_path, per_owner="owner", max_sessions_per_owner=2, min_age_hours=0)
    assert r.deleted_sessions == [a[0]]
    assert r.deleted_rules == {a[0]: "max_sessions_per_owner"}
    assert "max_sessions_per_owner" in wsprune.RULES
    assert (tmp_path / b).is_dir()


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"label_selector": ""}, "empty"),
        ({"label_selector": "owner=al ice"}, '"owner"'),
        ({"label_selector": "owner\0x"}, "NUL"),
        ({"label_selector": "owner=\ud800"}, "UTF-8"),
        ({"max_sessions_per_owner": 2}, "per_owner"),
        ({"per_owner": "owner", "max_sessions_per_owner": 0}, "at least 1"),
        ({"per_owner": "owner"}, "no per-owner cap"),
    ],
)
def test_bad_label_options_are_invalid_arguments(tmp_path: Path, kwargs: dict, says: str) -> None:
    sid = labelled(tmp_path, {"owner": "alice"}, 48)
    with pytest.raises(wsprune.InvalidArgumentError, match=None) as e:
        wsprune.prune_sessions(24, tmp_path, **kwargs)
    assert says in str(e.value)
    assert (tmp_path / sid).is_dir()


def test_labels_set_at_create_and_open_and_changed(tmp_path: Path) -> None:
    sid = wsprune.create_session(tmp_path, labels={"owner": "alice", "tier": "free"})
    assert json.loads(record_path(tmp_path, sid).read_text())["labels"] == {"owner": "alice", "tier": "free"}
    assert wsprune.open_session(tmp_path, sid, labels={"tier": "pro"}) == (sid, False)
    assert wsprune.set_labels(tmp_path, sid, "gpu=", "tier-") == {"owner": "alice", "gpu": ""}
    assert wsprune.prune_sessions(0, tmp_path, dry_run=True, label_selector="gpu").deleted_sessions == [sid]


@pytest.mark.parametrize("labels", [{"bad key": "x"}, {"owner": "a b"}, {"k": 1}, ["owner=alice"]])
def test_bad_labels_create_nothing(tmp_path: Path, labels: Any) -> None:
    with pytest.raises(wsprune.InvalidArgumentError):
        wsprune.create_session(tmp_path, "s1", labels=labels)
    assert not (tmp_path / "s1").exists()


def test_set_labels_refuses_bad_changes_and_missing_sessions(tmp_path: Path) -> None:
    sid = wsprune.create_session(tmp_path, labels={"owner": "alice"})
    for bad in ("owner", "own er=x", "\0", "x=\ud800"):
        with pytest.raises(wsprune.InvalidArgumentError):
            wsprune.set_labels(tmp_path, sid, bad)
    with pytest.raises(wsprune.NotFoundError):
        wsprune.set_labels(tmp_path, "missing", "a=b")
    assert wsprune.set_labels(tmp_path, sid) == {"owner": "alice"}


def test_readme_recipe_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import re

    readme = Path(__file__).resolve().parent.parent / "README.md"
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme.read_text(), re.S) if "set_labels" in b)
    root = tmp_path / "ws"
    exec(compile(block.replace('"/tmp/ws-labels"', repr(str(root))), str(readme), "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["['max_sessions_per_owner']", "{'tier': 'pro'}", "3"]
    owners = sorted((i.labels or {}).get("owner", "-") for i in wsprune.list_sessions(root))
    assert owners == ["-", "alice", "alice", "bob"]
