#!/usr/bin/env python3
"""Validates every `--json` output of the `wsprune` tool, and each line of
`--events json`, against its JSON Schema in docs/schemas/ (run by run.sh,
part of `make test`). Each output is produced by running the built tool on a
real temporary workspace; a schema that an output does not match, or an
output kind this script never produced, fails the run.

Usage: check.py WSPRUNE_BINARY
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "docs" / "schemas"
BIN = sys.argv[1] if len(sys.argv) > 1 else str(REPO / "target" / "debug" / "wsprune")

schemas = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
registry = Registry().with_resources(
    (s["$id"], Resource.from_contents(s)) for s in schemas.values()
)
checked: dict[str, int] = {name: 0 for name in schemas}
failures: list[str] = []


def validate(schema: str, doc: object, what: str) -> None:
    v = jsonschema.Draft202012Validator(
        schemas[schema], registry=registry, format_checker=jsonschema.FormatChecker()
    )
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    checked[schema] += 1
    for e in errors:
        failures.append(f"{what}: {schema}: {'/'.join(map(str, e.path))}: {e.message}")


def run(*args: str, code: int | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, env=env)
    if code is not None and p.returncode != code:
        failures.append(f"wsprune {' '.join(args)}: exit {p.returncode}, wanted {code}: {p.stderr.strip()}")
    return p


def out(schema: str, *args: str, code: int = 0) -> dict:
    p = run(*args, code=code)
    try:
        doc = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        failures.append(f"wsprune {' '.join(args)}: stdout is not one JSON document ({e}): {p.stdout[:200]!r}")
        return {}
    validate(schema, doc, "wsprune " + " ".join(args))
    return doc


def session(root: Path, age_hours: float, size: int = 100, sid: str | None = None) -> str:
    sid = sid or str(uuid.uuid4())
    d = root / sid
    d.mkdir(parents=True)
    (d / "data").write_bytes(b"x" * size)
    t = (datetime.now(timezone.utc) - timedelta(hours=age_hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    (d / ".metadata.json").write_text(json.dumps({"session_id": sid, "created_at": t, "updated_at": t}))
    return sid


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="operator-schemas-") as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        r = str(root)
        old = [session(root, 48) for _ in range(3)]
        session(root, 0.1)
        (root / str(uuid.uuid4())).mkdir()  # legacy: skipped
        (root / f".wsprune-trash.{uuid.uuid4()}.1.2").mkdir()  # leftover trash: finished
        out("prune.schema.json", "prune", r, "--dry-run", "--json")
        out("prune.schema.json", "prune", r, "--max-sessions", "1", "--no-age-rule", "--dry-run", "--json", code=3)
        out("ls.schema.json", "ls", r, "--json")
        # Labels in a record (as the host writes them), then ls filtered and grouped by them.
        owned = run("create", r, code=0).stdout.strip()
        rec = root / ".wsprune" / "sessions" / owned
        data = json.loads(rec.read_text())
        data["labels"] = {"owner": "alice", "tier": "pro"}
        rec.write_text(json.dumps(data, indent=2) + "\n")
        labelled = out("ls.schema.json", "ls", r, "--label", "owner=alice", "--json")
        if [s["session_id"] for s in labelled] != [owned] or labelled[0]["labels"] != data["labels"]:
            failures.append(f"ls --label owner=alice --json listed {labelled}")
        everyone = len(json.loads(run("ls", r, "--json").stdout))
        groups = out("ls-by.schema.json", "ls", r, "--by", "owner", "--json")["groups"]
        if [(g["value"], g["sessions"]) for g in groups] != [("alice", 1), (None, everyone - 1)]:
            failures.append(f"ls --by owner --json grouped {groups} of {everyone} sessions")
        run("rm", r, owned, code=0)
        out("session.schema.json", "info", r, old[0], "--json")
        out("open.schema.json", "open", r, "adopted", "--json")
        out("rm.schema.json", "rm", r, old[0], "--json")
        out("repair.schema.json", "repair", r, "--dry-run", "--json")
        # The events of a real prune, one JSON object a line on stderr.
        p = run("prune", r, "--json", "--events", "json", code=0)
        validate("prune.schema.json", json.loads(p.stdout), "prune --events json")
        lines = [line for line in p.stderr.splitlines() if line.strip()]
        if not any('"session.prune.deleted"' in line for line in lines):
            failures.append(f"--events json streamed no session.prune.deleted: {p.stderr[:300]!r}")
        for line in lines:
            validate("event.schema.json", json.loads(line), "an --events json line")
        # Fatal errors as JSON: usage, missing root, busy, already exists.
        out("error.schema.json", "prune", r, "--no-age-rule", "--json", code=64)
        out("error.schema.json", "prune", r + "-typo", "--json", code=66)
        out("error.schema.json", "info", r, str(uuid.uuid4()), "--json", code=66)
        # Another prune holds the workspace lock: the host directory's lock file.
        os.makedirs(os.path.join(r, ".wsprune"), mode=0o700, exist_ok=True)
        holder = subprocess.Popen(["flock", "-x", os.path.join(r, ".wsprune", "lock"), "sleep", "5"])
        time.sleep(0.3)
        try:
            out("error.schema.json", "prune", r, "--lock-timeout", "0.2s", "--json", code=75)
        finally:
            holder.kill()
            holder.wait()
        # A prune stopped by SIGTERM still prints its JSON (signal, exit 143).
        for _ in range(200):
            session(root, 48, size=10)
        p = subprocess.Popen([BIN, "prune", r, "--json", "--jobs", "1", "--events", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Wait for the first deletion, then stop it.
        assert p.stderr is not None
        for line in p.stderr:
            if "session.prune.deleted" in line:
                break
        p.send_signal(signal.SIGTERM)
        stdout, _ = p.communicate(timeout=60)
        doc = json.loads(stdout)
        validate("prune.schema.json", doc, "prune stopped by SIGTERM")
        if p.returncode != 143 or doc.get("signal") != "SIGTERM" or doc.get("exit_code") != 143:
            failures.append(f"SIGTERM: exit {p.returncode}, signal {doc.get('signal')!r}, exit_code {doc.get('exit_code')!r}")
    for name, n in checked.items():
        if n == 0:
            failures.append(f"{name}: no output was checked against it")
    for f in failures:
        print("FAIL", f)
    print(f"cli schemas: {sum(checked.values())} outputs checked against {len(schemas)} schemas, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
