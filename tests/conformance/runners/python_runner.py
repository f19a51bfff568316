#!/usr/bin/env python3
"""Conformance runner for the Python binding (tests/conformance/PROTOCOL.md):
one JSON request per stdin line, one JSON response per stdout line, each
request mapped onto the `wsprune` package's idiomatic calls.

An absent option is not passed at all (the keyword's default is the unset);
`older_than_hours: null` is `older_than_hours=None` (age rule off). The
session options are keywords: `dir_mode` (the octal string as an int),
`adopt`, `reserved`, `idle_ttl_seconds` (as ``idle_ttl``, seconds) and
`expires_at` (a datetime). Times (`until`, `expires_at`, `as_of`) arrive as
RFC 3339 strings and are passed as aware datetimes.

Every op of the protocol is expressible on this surface.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import wsprune

STATUS = {
    0: "ok", 1: "invalid_argument", 2: "invalid_session_id", 3: "not_found",
    4: "already_exists", 5: "busy", 6: "io", 7: "panic",
}
PRUNE_KEYS = (
    "max_total_bytes",
    "max_sessions",
    "min_free_bytes",
    "max_deletions",
    "min_age_hours",
    "jobs",
    "min_free_percent",
    "high_watermark_percent",
    "low_watermark_percent",
    "high_inode_watermark_percent",
    "low_inode_watermark_percent",
    "label_selector",
    "per_owner",
    "max_sessions_per_owner",
    "max_bytes_per_owner",
)

events: list[str] = []


def session_options(op: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The request's session options as keyword arguments (absent: not passed)."""
    kw: dict[str, Any] = {k: op[k] for k in keys if k in op}
    if "dir_mode" in kw:
        kw["dir_mode"] = int(kw["dir_mode"], 8)
    if "idle_ttl_seconds" in op:
        kw["idle_ttl"] = op["idle_ttl_seconds"]
    if "expires_at" in op:
        kw["expires_at"] = when(op["expires_at"])
    return kw


def when(s: str) -> datetime:
    """An RFC 3339 time of the request as an aware datetime."""
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def rule_name(t: Any) -> str:
    if isinstance(t, str):
        return t
    if isinstance(t, dict):
        return str(t.get("rule"))
    return str(getattr(t, "rule", t))


def prune(root: str, o: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {k: o[k] for k in PRUNE_KEYS if k in o}
    if "older_than_hours" in o:
        kw["older_than_hours"] = o["older_than_hours"]
    for key in ("older_than_hours", "min_age_hours"):
        if isinstance(kw.get(key), str):  # "NaN", "Infinity", "-Infinity"
            kw[key] = float(kw[key])
    if "dry_run" in o:
        kw["dry_run"] = o["dry_run"]
    if "single_host" in o:
        kw["single_host"] = o["single_host"]
    if "as_of" in o:
        kw["as_of"] = when(o["as_of"])
    r = wsprune.prune_sessions(workspace_root=root, **kw)
    out: dict[str, Any] = {
        "deleted": list(r.deleted_sessions),
        "rules": dict(r.deleted_rules),
        "skipped": dict(r.skipped_reasons),
        "errors": sorted(r.errors),
        "reclaimed_bytes": r.reclaimed_bytes,
        "dry_run": r.dry_run,
    }
    # Fields of the contract that older packages lack: absent, not invented.
    if hasattr(r, "interrupted"):
        out["interrupted"] = list(r.interrupted)
    if hasattr(r, "unmet_targets"):
        out["unmet_targets"] = [rule_name(t) for t in r.unmet_targets]
    if hasattr(r, "unmet"):
        out["unmet"] = [{"rule": u.rule, "target": u.target, "actual": u.actual} for u in r.unmet]
        out["deleted_bytes"] = {sid: d.bytes for sid, d in r.deleted_details.items()}
    return out


def run(root: str, op: dict[str, Any]) -> dict[str, Any]:
    kind = op["kind"]
    if kind == "create":
        return {"id": wsprune.create_session(root, op.get("id"), **session_options(op, "dir_mode", "reserved", "labels"))}
    if kind == "migrate":
        r = wsprune.migrate_sessions(root, dry_run=bool(op.get("dry_run")))
        return {"registered": [m.session_id for m in r.registered], "skipped": sorted(r.skipped), "dry_run": r.dry_run}
    if kind == "open":
        sid, created = wsprune.open_session(root, op.get("id"), **session_options(op, "dir_mode", "adopt", "reserved", "labels"))
        return {"id": sid, "created": created}
    if kind == "touch":
        return {"outcome": wsprune.touch_session(root, op["id"])}
    if kind == "acquire":
        lease = wsprune.lease(root, op["id"])
        return {"touched": lease.release(touch=bool(op.get("release_touch")))}
    if kind == "delete":
        bytes_ = wsprune.delete_session(
            root, op["id"], single_host=bool(op.get("single_host")), force=bool(op.get("force"))
        )
        return {"reclaimed_bytes": bytes_}
    if kind == "pin":
        wsprune.pin_session(root, op["id"], until=when(op["until"]) if "until" in op else None)
        return {}
    if kind == "unpin":
        wsprune.unpin_session(root, op["id"])
        return {}
    if kind == "set_ttl":
        kw = session_options(op)
        wsprune.set_session_ttl(root, op["id"], **kw)
        return {}
    if kind == "label":
        return {"labels": wsprune.set_labels(root, op["id"], *op.get("changes", []))}
    if kind == "info":
        i = wsprune.session_info(root, op["id"])
        return {"state": i.state.value, "size_bytes": i.size_bytes, "in_use": i.in_use}
    if kind == "repair":
        return {"repaired": len(wsprune.repair_sessions(root, dry_run=bool(op.get("dry_run"))).repaired)}
    if kind == "list":
        listed = wsprune.list_sessions(root)
        return {
            "sessions": {i.session_id: i.state.value for i in listed},
            "labels": {i.session_id: i.labels for i in listed},
        }
    if kind == "prune":
        return prune(root, op.get("options", {}))
    if kind == "stats":
        s = wsprune.workspace_stats(root, measure_sizes=bool(op.get("measure_sizes")))
        sized = s.total_bytes is not None
        return {
            "sessions": dict(s.sessions),
            "leased": s.leased,
            "total_bytes": s.total_bytes,
            "idle_sessions": [b.sessions for b in s.idle],
            "idle_bytes": [b.bytes for b in s.idle] if sized else None,
            "oldest_idle_hours": None if s.oldest_idle_seconds is None else int(s.oldest_idle_seconds // 3600),
            "filesystem_consistent": 0 < s.fs_size_bytes
            and s.fs_available_bytes <= s.fs_size_bytes
            and s.fs_free_inodes <= s.fs_inodes,
        }
    raise ValueError(f"unknown op {kind!r}")


def handle(req: dict[str, Any]) -> dict[str, Any]:
    del events[:]
    try:
        result = run(req["root"], req["op"])
        return {"status": "ok", "message": "", "result": result, "events": list(events)}
    except wsprune.WsPruneError as e:
        status = STATUS.get(e.status if e.status is not None else -1, f"unknown({e.status})")
        return {"status": status, "message": str(e), "result": None, "events": list(events)}


def main() -> None:
    wsprune.set_logger(lambda e: events.append(e.name))
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(handle(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
