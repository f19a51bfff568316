"""Fixtures shared by the tests."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest


@pytest.fixture
def reference(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The reference project's ``sandbox`` package, from the directory in
    ``$WSPRUNE_REFERENCE`` (holding ``sandbox/``); it needs structlog."""
    where = os.environ.get("WSPRUNE_REFERENCE")
    if not where or not (Path(where) / "sandbox" / "core" / "storage.py").exists():
        pytest.skip("set WSPRUNE_REFERENCE to a directory holding the reference's sandbox/ package")
    pytest.importorskip("structlog")
    monkeypatch.syspath_prepend(where)
    return SimpleNamespace(
        storage=importlib.import_module("sandbox.core.storage"),
        logging=importlib.import_module("sandbox.core.logging"),
    )
