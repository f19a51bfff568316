"""The session options (directory mode, adopt, reserved names) and
migrate, through the idiomatic API, on a real filesystem; and the README's
recipe for them, run as written."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterator

import pytest

import wsprune

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(p: Path) -> int:
    return p.lstat().st_mode & 0o7777


def registered(root: Path, sid: str) -> bool:
    return (root / ".wsprune" / "sessions" / sid).exists()


def test_dir_mode_unset_is_0700_and_explicit_is_used(tmp_path: Path) -> None:
    sid = wsprune.create_session(tmp_path, "plain")
    assert mode(tmp_path / sid) == 0o700
    wsprune.create_session(tmp_path, "shared", dir_mode=0o750)
    assert mode(tmp_path / "shared") == 0o750
    name, created = wsprune.open_session(tmp_path, "fresh", dir_mode=0o710)
    assert created and mode(tmp_path / name) == 0o710


@pytest.mark.parametrize("bad", [0, 0o644, 0o1777, -1, 2**40, True, "0750", 0.5])
def test_bad_dir_mode_is_invalid_argument_and_creates_nothing(tmp_path: Path, bad: object) -> None:
    with pytest.raises(wsprune.InvalidArgumentError):
        wsprune.create_session(tmp_path, "nb", dir_mode=bad)  # type: ignore[arg-type]
    assert not (tmp_path / "nb").exists()


def test_reserved_names_refused_with_adopt_or_without(tmp_path: Path) -> None:
    (tmp_path / "pip-cache").mkdir()
    with pytest.raises(wsprune.InvalidSessionIdError):
        wsprune.open_session(tmp_path, "pip-cache", adopt=True, reserved=["pip-cache"])
    with pytest.raises(wsprune.InvalidSessionIdError):
        wsprune.create_session(tmp_path, "models", reserved=("pip-cache", "models"))
    assert not (tmp_path / "pip-cache" / ".metadata.json").exists()
    assert not (tmp_path / "models").exists()
    for bad in ("pip-cache", [b"x"], ["a\0b"], ["\udc80"]):
        with pytest.raises(wsprune.InvalidArgumentError):
            wsprune.open_session(tmp_path, "x1", reserved=bad)  # type: ignore[arg-type]
    assert not (tmp_path / "x1").exists()


def test_adopt_is_needed_for_a_directory_without_metadata(tmp_path: Path) -> None:
    d = tmp_path / "scratch"
    d.mkdir()
    (d / "keep.txt").write_text("operator data")
    with pytest.raises(wsprune.NotFoundError, match="adopt"):
        wsprune.open_session(tmp_path, "scratch")
    assert not (d / ".metadata.json").exists() and not registered(tmp_path, "scratch")
    assert wsprune.open_session(tmp_path, "scratch", adopt=True) == ("scratch", False)
    assert registered(tmp_path, "scratch") and (d / ".metadata.json").is_file()
    assert (d / "keep.txt").read_text() == "operator data"
    # Registered now: opening it again needs no adopt.
    assert wsprune.open_session(tmp_path, "scratch") == ("scratch", False)


def test_migrate_dry_run_then_for_real(tmp_path: Path) -> None:
    old = tmp_path / "old-nb"
    old.mkdir()
    ts = "2020-01-02T00:00:00+00:00"
    (old / ".metadata.json").write_text(json.dumps({"session_id": "old-nb", "created_at": ts, "updated_at": ts}))
    legacy = "11111111-2222-4333-8444-555555555555"
    broken = "22222222-2222-4333-8444-555555555555"
    (tmp_path / legacy).mkdir()
    (tmp_path / broken).mkdir()
    (tmp_path / broken / ".metadata.json").write_text("{broken")

    dry = wsprune.migrate_sessions(tmp_path, dry_run=True)
    assert dry.dry_run
    assert sorted(m.session_id for m in dry.registered) == [legacy, "old-nb"]
    assert list(dry.skipped) == [broken] and "repair" in dry.skipped[broken]
    assert not any(registered(tmp_path, s) for s in (legacy, "old-nb", broken))

    real = wsprune.migrate_sessions(tmp_path)
    by_id = {m.session_id: m for m in real.registered}
    assert not real.dry_run and set(by_id) == {legacy, "old-nb"}
    assert by_id["old-nb"].had_metadata and by_id["old-nb"].updated_at.year == 2020
    assert not by_id[legacy].had_metadata
    assert registered(tmp_path, legacy) and registered(tmp_path, "old-nb") and not registered(tmp_path, broken)
    assert wsprune.migrate_sessions(tmp_path).registered == []
    with pytest.raises(wsprune.NotFoundError):
        wsprune.migrate_sessions(tmp_path / "missing")


def readme_block(marker: str) -> str:
    """The README's python block that contains `marker`."""
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), re.S):
        if marker in block:
            return str(block)
    raise AssertionError(f"no python block with {marker!r} in {README}")


def test_readme_session_options_recipe_runs(tmp_path: Path) -> None:
    code = readme_block("adopt=True")
    code = code.replace('"/tmp/ws"', repr(str(tmp_path / "ws")))
    exec(compile(code, str(README), "exec"), {})
    assert mode(tmp_path / "ws" / "chat-8") == 0o750
    assert registered(tmp_path / "ws", "operator-dir")
