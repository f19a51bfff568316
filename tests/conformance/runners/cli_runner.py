#!/usr/bin/env python3
"""Conformance runner for the `wsprune` command-line tool
(tests/conformance/PROTOCOL.md): each request becomes one `wsprune`
invocation (`--json` where the command has it); the binary is $WSPRUNE_CLI.

Mapping:
- status: exit 0 is `ok`, and so are 1 (some sessions failed) and 3 (a
  target not reached) when the JSON result is there. Every other class has
  its own exit status (see `STATUS_OF_EXIT`); 64, a usage error, is
  `invalid_session_id` when its one `wsprune: error: ...` line says so.
- hours: `--older-than {h}h`, `--min-age {h}h`; `older_than_hours: null` is
  `--no-age-rule` (with `--allow-no-rule` when no size or count rule is
  given either: the tool refuses a prune with no rule unless asked). Byte options are `{n}B`,
  percentages `{p}%` (`--min-free 15%`, `--high-watermark 85%`). An absent key passes no option.
- touch outcome: the tool warns on stderr for legacy and corrupted metadata.
- delete: `rm --json` gives the exact bytes freed.
- missing root: the tool refuses a workspace root that does not exist (exit
  66), where the library's prune gives an empty result: a typo in a cron line
  must not silently prune nothing (docs/contract.md, "The tool's two
  exceptions"). That scenario is listed below as not expressible.
- acquire: `wsprune lease ROOT ID [--no-touch] -- true` (holds the lease
  while `true` runs, then touches); the touch outcome as for touch.
- session options: `dir_mode` is `--dir-mode MODE` (octal, as given),
  each `reserved` name a `--reserve NAME`, `adopt: true` is `open --adopt`.
- migrate: `wsprune migrate ROOT --json [--dry-run]`.
- pins and TTLs: `wsprune pin ROOT ID [--until TIME]`, `wsprune unpin ROOT
  ID`, `wsprune ttl ROOT ID [--idle-ttl Ns] [--expires-at TIME]` (neither:
  `--clear`), `create/open --idle-ttl Ns --expires-at TIME`, `rm --force`,
  `prune --as-of TIME`; TIME is the request's RFC 3339 string as given.
- events: the tool can stream them (`--events json`), but responses carry
  `"events": null` and the harness does not check them on this surface.

Not expressible:
- `prune` of a missing root: see above.
- `min_free_bytes` and `min_free_percent` together: `--min-free` takes one
  of them (the library takes the larger target).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from typing import Any

CLI = os.environ.get("WSPRUNE_CLI", "target/release/wsprune")


def hours(v: Any) -> str:
    h = float(v)
    if math.isnan(h) or math.isinf(h):
        return f"{v}h"  # the tool's parser must refuse it
    return f"{h:.6f}".rstrip("0").rstrip(".") + "h" if h >= 0 else f"{h}h"


#: The tool's exit statuses (`wsprune --help`) as conformance statuses.
STATUS_OF_EXIT = {64: "invalid_argument", 66: "not_found", 73: "already_exists", 74: "io", 75: "busy", 77: "io"}


def classify(code: int, msg: str) -> str:
    if code == 64 and "invalid session id" in msg.lower():
        return "invalid_session_id"
    # One class for the tool (the root is not there to work in), two statuses in the library.
    if code == 66 and "is not a directory" in msg:
        return "io"
    return STATUS_OF_EXIT.get(code, f"exit {code}")


CAPACITY_KEYS = (
    "max_total_bytes",
    "max_sessions",
    "min_free_bytes",
    "min_free_percent",
    "high_watermark_percent",
    "high_inode_watermark_percent",
    "max_sessions_per_owner",
    "max_bytes_per_owner",
)
PERCENT_FLAGS = (
    ("min_free_percent", "--min-free"),
    ("high_watermark_percent", "--high-watermark"),
    ("low_watermark_percent", "--low-watermark"),
    ("high_inode_watermark_percent", "--high-inode-watermark"),
    ("low_inode_watermark_percent", "--low-inode-watermark"),
)


def percent(p: Any) -> str:
    """A percentage as the tool reads it (repr keeps every digit: 1e-09, 85.0)."""
    return repr(float(p)) if not isinstance(p, int) else str(p)


def prune_args(o: dict[str, Any]) -> list[str]:
    a: list[str] = []
    if "older_than_hours" in o:
        a += ["--no-age-rule"] if o["older_than_hours"] is None else [f"--older-than={hours(o['older_than_hours'])}"]
        if o["older_than_hours"] is None and not any(k in o for k in CAPACITY_KEYS):
            a.append("--allow-no-rule")
    for key, flag in (
        ("max_total_bytes", "--max-total-size"),
        ("min_free_bytes", "--min-free"),
        ("max_bytes_per_owner", "--max-bytes-per-owner"),
    ):
        if key in o:
            a.append(f"{flag}={o[key]}B")
    for key, flag in PERCENT_FLAGS:
        if key in o:
            a.append(f"{flag}={percent(o[key])}%")
    for key, flag in (
        ("max_sessions", "--max-sessions"),
        ("max_deletions", "--max-deletions"),
        ("max_sessions_per_owner", "--max-sessions-per-owner"),
        ("label_selector", "--label"),
        ("per_owner", "--per-owner"),
    ):
        if key in o:
            a.append(f"{flag}={o[key]}")
    if "min_age_hours" in o:
        a.append(f"--min-age={hours(o['min_age_hours'])}")
    if "jobs" in o:
        a.append(f"--jobs={o['jobs']}")
    if o.get("dry_run"):
        a.append("--dry-run")
    if o.get("single_host"):
        a.append("--single-host")
    if "as_of" in o:
        a.append(f"--as-of={o['as_of']}")
    return a


def ttl_args(op: dict[str, Any]) -> list[str]:
    """A TTL (create, open, ttl): `--idle-ttl Ns`, `--expires-at TIME`."""
    a = [f"--idle-ttl={op['idle_ttl_seconds']}s"] if "idle_ttl_seconds" in op else []
    return a + ([f"--expires-at={op['expires_at']}"] if "expires_at" in op else [])


def session_args(op: dict[str, Any]) -> list[str]:
    """The session options of a create or open (`adopt` is open's own flag)."""
    args = ["--dir-mode", op["dir_mode"]] if op.get("dir_mode") is not None else []
    for name in op.get("reserved", []):
        args += ["--reserve", name]
    for key, value in op.get("labels", {}).items():
        args.append(f"--label={key}={value}")
    return args + ttl_args(op)


def prune_result(j: dict[str, Any]) -> dict[str, Any]:
    out = {
        "deleted": j["deleted_sessions"],
        "rules": j["deleted_rules"],
        "skipped": j["skipped_reasons"],
        "errors": sorted(j["errors"]),
        "reclaimed_bytes": j["reclaimed_bytes"],
        "dry_run": j["dry_run"],
    }
    if "interrupted" in j:
        out["interrupted"] = j["interrupted"]
    if "unmet_targets" in j:
        out["unmet_targets"] = [t if isinstance(t, str) else t.get("rule") for t in j["unmet_targets"]]
        out["unmet"] = [t for t in j["unmet_targets"] if isinstance(t, dict)]
    if "deleted" in j:
        out["deleted_bytes"] = {d["session_id"]: d["bytes"] for d in j["deleted"]}
    return out


def handle(req: dict[str, Any]) -> dict[str, Any]:
    root, op = req["root"], req["op"]
    kind = op["kind"]
    if kind == "prune" and not os.path.lexists(root):
        return {"not_expressible": "the tool refuses a missing workspace root (exit 66) so that a typo in a cron line does not silently prune nothing"}
    if kind == "create":
        argv = ["create", root] + ([op["id"]] if op.get("id") is not None else []) + session_args(op)
    elif kind == "open":
        argv = (
            ["open", root, "--json"]
            + ([op["id"]] if op.get("id") is not None else [])
            + session_args(op)
            + (["--adopt"] if op.get("adopt") else [])
        )
    elif kind == "migrate":
        argv = ["migrate", root, "--json"] + (["--dry-run"] if op.get("dry_run") else [])
    elif kind == "touch":
        argv = ["touch", root, op["id"]]
    elif kind == "acquire":
        argv = ["lease", root, op["id"]] + ([] if op.get("release_touch") else ["--no-touch"]) + ["--", "true"]
    elif kind == "delete":
        argv = ["rm", root, op["id"], "--json"] + (["--single-host"] if op.get("single_host") else [])
        argv += ["--force"] if op.get("force") else []
    elif kind == "pin":
        argv = ["pin", root, op["id"]] + ([f"--until={op['until']}"] if "until" in op else [])
    elif kind == "unpin":
        argv = ["unpin", root, op["id"]]
    elif kind == "set_ttl":
        argv = ["ttl", root, op["id"]] + (ttl_args(op) or ["--clear"])
    elif kind == "label":
        argv = ["label", root, op["id"], *op.get("changes", []), "--json"]
    elif kind == "info":
        argv = ["info", root, op["id"], "--json"]
    elif kind == "list":
        argv = ["ls", root, "--json"]
    elif kind == "repair":
        argv = ["repair", root, "--json"] + (["--dry-run"] if op.get("dry_run") else [])
    elif kind == "prune":
        o = op.get("options", {})
        if "min_free_bytes" in o and "min_free_percent" in o:
            return {"not_expressible": "--min-free takes a size or a percentage, not both"}
        argv = ["prune", root, "--json"] + prune_args(o)
    elif kind == "stats":
        argv = ["stats", root, "--json"] + (["--sizes"] if op.get("measure_sizes") else [])
    else:
        return {"status": "bad_request", "message": f"unknown op {kind!r}"}
    for a in argv:
        if "\0" in a:
            return {"not_expressible": "a command-line argument cannot hold NUL"}
        try:
            os.fsencode(a)
        except UnicodeEncodeError:
            return {"not_expressible": "a command-line argument is bytes: a lone surrogate has no encoding"}
    p = subprocess.run([CLI, *argv], capture_output=True, text=True, timeout=60)
    err_lines = [line for line in p.stderr.splitlines() if line.strip()]
    error_line = next((line for line in err_lines if line.startswith("wsprune: error:") or line.startswith("error:")), "")
    # prune/repair exit 1 when some sessions failed, ls when a session is unreadable: the JSON is still there.
    if p.returncode not in (0, 1, 3) or (p.returncode != 0 and not p.stdout.strip()):
        status = classify(p.returncode, error_line)
        return {"status": status, "message": " ".join(err_lines)[:500], "result": None, "events": None}
    out = p.stdout.strip()
    result: dict[str, Any]
    if kind == "create":
        result = {"id": out.splitlines()[0].strip() if out else ""}
    elif kind == "open":
        j = json.loads(out)
        result = {"id": j["session_id"], "created": j["created"]}
    elif kind in ("touch", "acquire"):
        warn = p.stderr.lower()
        outcome = "legacy" if "legacy" in warn or "no metadata" in warn else "corrupted" if "corrupted" in warn else "updated"
        if kind == "touch":
            result = {"outcome": outcome}
        else:
            result = {"touched": outcome if op.get("release_touch") else None}
    elif kind == "delete":
        result = {"reclaimed_bytes": json.loads(out)["reclaimed_bytes"]}
    elif kind in ("pin", "unpin", "set_ttl"):
        result = {}
    elif kind == "label":
        result = {"labels": json.loads(out)["labels"]}
    elif kind == "info":
        j = json.loads(out)
        result = {"state": j["state"], "size_bytes": j["size_bytes"], "in_use": j["in_use"]}
    elif kind == "list":
        listed = json.loads(out)
        result = {
            "sessions": {s["session_id"]: s["state"] for s in listed},
            "labels": {s["session_id"]: s["labels"] for s in listed},
        }
    elif kind == "repair":
        result = {"repaired": len(json.loads(out)["repaired"])}
    elif kind == "migrate":
        j = json.loads(out)
        result = {
            "registered": [m["session_id"] for m in j["registered"]],
            "skipped": sorted(j["skipped"]),
            "dry_run": j["dry_run"],
        }
    elif kind == "stats":
        j = json.loads(out)
        fs, oldest = j["filesystem"], j["oldest_idle_seconds"]
        sized = j["total_bytes"] is not None
        result = {
            "sessions": j["sessions"],
            "leased": j["leased"],
            "total_bytes": j["total_bytes"],
            "idle_sessions": [b["sessions"] for b in j["idle"]],
            "idle_bytes": [b["bytes"] for b in j["idle"]] if sized else None,
            "oldest_idle_hours": None if oldest is None else int(oldest // 3600),
            "filesystem_consistent": 0 < fs["size_bytes"]
            and fs["available_bytes"] <= fs["size_bytes"]
            and fs["free_inodes"] <= fs["inodes"],
        }
    else:
        result = prune_result(json.loads(out))
    return {"status": "ok", "message": " ".join(err_lines), "result": result, "events": None}


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(handle(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
