"""Test helper: age a session the way the host's own touches would have.

A session wsprune creates is registered: its record in the root's host
directory (``.wsprune/sessions/<id>``) is what every call decides on, and the
``.metadata.json`` in the session is a mirror (docs/host-state.md). A test
that wants a session last used at some time writes both; a directory that is
not registered (made by the reference implementation) gets its
``.metadata.json`` only.
"""

from __future__ import annotations

from pathlib import Path

HOST_DIR = ".wsprune"


def record_path(root: Path, sid: str) -> Path:
    return Path(root) / HOST_DIR / "sessions" / sid


def write_session_metadata(root: Path, sid: str, text: str) -> None:
    """Writes ``text`` as session ``sid``'s metadata: its record too when it is registered."""
    record = record_path(root, sid)
    if record.exists():
        record.write_text(text)
    (Path(root) / sid / ".metadata.json").write_text(text)


def listdir(root: Path) -> list:
    """The root's entries without the host directory."""
    import os

    return [n for n in os.listdir(root) if n != HOST_DIR]


def unregistered_session(root: Path) -> str:
    """A session directory as the reference implementation (or wsprune 0.3)
    makes one: not registered, so judged by its own ``.metadata.json``."""
    import uuid

    sid = str(uuid.uuid4())
    (Path(root) / sid).mkdir(parents=True)
    return sid
