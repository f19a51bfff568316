"""wsprune.prometheus: the collector scraped in-process (a registry and
generate_latest, as a /metrics handler does) against a real temporary
root, every value checked; the names are docs/metrics.md's table, the
tool's; and the README's recipe, run as written."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Tuple

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import wsprune
from du import tree_bytes
from test_retention import write_meta
from wsprune.prometheus import WorkspaceCollector

REPO = Path(__file__).resolve().parents[3]
README = Path(__file__).resolve().parent.parent / "README.md"
Samples = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]


def scrape(root: Path, measure_sizes: bool = False) -> Tuple[Samples, Dict[str, Tuple[str, str]]]:
    """The exposition's samples by (name, labels without root), and each
    family's (type, help); every sample's root label checked."""
    registry = CollectorRegistry()
    registry.register(WorkspaceCollector(root, measure_sizes=measure_sizes))
    text = generate_latest(registry).decode()
    samples: Samples = {}
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = (family.type, family.documentation)
        for s in family.samples:
            labels = dict(s.labels)
            assert labels.pop("root") == str(root), s
            assert s.timestamp is None, s
            samples[(s.name, tuple(sorted(labels.items())))] = s.value
    return samples, families


def backdated(root: Path, hours: float) -> str:
    sid = wsprune.create_session(root)
    when = datetime.now(timezone.utc) - timedelta(hours=hours)
    write_meta(root, sid, when, when)
    return sid


def test_the_collector_scrapes_a_real_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    fresh, day, old = backdated(root, 0.5), backdated(root, 30), backdated(root, 1000)
    (root / fresh / "data.bin").write_bytes(b"x" * 3000)
    legacy = root / "77777777-7777-4777-8777-777777777777"
    legacy.mkdir()
    (legacy / "data.bin").write_bytes(b"y" * 5000)
    with wsprune.lease(root, day):
        got, families = scrape(root, measure_sizes=True)
    size = {sid: tree_bytes(root / sid) for sid in (fresh, day, old, legacy.name)}
    want: Samples = {
        ("wsprune_sessions", (("state", "ok"),)): 3,
        ("wsprune_sessions", (("state", "legacy"),)): 1,
        ("wsprune_sessions", (("state", "corrupted"),)): 0,
        ("wsprune_sessions", (("state", "unreadable"),)): 0,
        ("wsprune_sessions_leased", ()): 1,
        ("wsprune_sessions_bytes", ()): sum(size.values()),
    }
    buckets = {"3600": fresh, "21600": None, "86400": None, "604800": day, "2592000": None, "+Inf": old}
    for upper, sid in buckets.items():
        want[("wsprune_idle_sessions", (("upper_seconds", upper),))] = 1 if sid else 0
        want[("wsprune_idle_sessions_bytes", (("upper_seconds", upper),))] = size[sid] if sid else 0
    for key, value in want.items():
        assert got[key] == value, key
    assert abs(got[("wsprune_oldest_idle_seconds", ())] - 1000 * 3600) < 120
    import os

    st = os.statvfs(root)
    assert got[("wsprune_filesystem_size_bytes", ())] == st.f_blocks * st.f_frsize
    assert got[("wsprune_filesystem_files", ())] == st.f_files
    assert 0 < got[("wsprune_filesystem_avail_bytes", ())] <= st.f_blocks * st.f_frsize
    assert got[("wsprune_filesystem_files_free", ())] <= st.f_files
    assert len(got) == len(want) + 5  # the oldest idle time and the four filesystem figures
    assert all(t == "gauge" and doc for t, doc in families.values()), families

    # Without sizes: no byte families; the lease gone, 0 leased.
    quick, families = scrape(root)
    assert "wsprune_sessions_bytes" not in families and "wsprune_idle_sessions_bytes" not in families
    assert quick[("wsprune_sessions_leased", ())] == 0
    assert quick[("wsprune_idle_sessions", (("upper_seconds", "+Inf"),))] == 1


def test_an_empty_root_has_no_oldest_idle_and_a_missing_root_fails_the_scrape(tmp_path: Path) -> None:
    got, _ = scrape(tmp_path)
    assert ("wsprune_oldest_idle_seconds", ()) not in got
    assert got[("wsprune_sessions", (("state", "ok"),))] == 0
    registry = CollectorRegistry()
    registry.register(WorkspaceCollector(tmp_path / "missing"))  # describe() does not scrape
    with pytest.raises(wsprune.NotFoundError):
        generate_latest(registry)


def documented() -> Dict[str, str]:
    """docs/metrics.md's statistics table: name -> its extra label ('' if none)."""
    text = (REPO / "docs" / "metrics.md").read_text()
    table = text.split("Workspace statistics", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `(wsprune_[a-z_]+)` \| (?:`([a-z_]+)`)?", table, re.M)
    assert len(rows) >= 10, table
    return {name: label for name, label in rows}


def test_the_names_are_docs_metrics_md(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    backdated(tmp_path / "ws", 2)
    got, families = scrape(tmp_path / "ws", measure_sizes=True)
    table = documented()
    assert set(families) == set(table)
    for (name, labels) in got:
        assert [k for k, _ in labels] == ([table[name]] if table[name] else []), name


def test_wsprune_imports_without_prometheus_client() -> None:
    code = "import sys, wsprune; assert 'prometheus_client' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_readme_prometheus_recipe_runs(tmp_path: Path) -> None:
    blocks = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if "WorkspaceCollector" in b]
    assert len(blocks) == 1
    root = tmp_path / "ws"
    wsprune.create_session(root)
    code = blocks[0].replace('"/var/lib/sandbox/workspaces"', repr(str(root)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    assert f'wsprune_sessions{{root="{root}",state="ok"}} 1.0' in out.getvalue(), out.getvalue()
