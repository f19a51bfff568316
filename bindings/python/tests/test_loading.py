"""How `import wsprune` finds libwsprune, and how it fails: each case in a
fresh interpreter, since the library is loaded once per process."""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

import wsprune


def run_import(env_library: Optional[str], code: str = "import wsprune; print(wsprune.library_path)") -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ)
    env.pop("WSPRUNE_LIBRARY", None)
    if env_library is not None:
        env["WSPRUNE_LIBRARY"] = env_library
    # The package as this test run imports it (installed or from the source tree).
    env["PYTHONPATH"] = str(Path(wsprune.__file__).parent.parent)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_wrong_wsprune_library_path_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope" / "libwsprune.so")
    p = run_import(missing)
    assert p.returncode != 0
    assert "ImportError" in p.stderr or "LibraryError" in p.stderr
    assert missing in p.stderr
    not_elf = tmp_path / "libwsprune.so"
    not_elf.write_text("not a library")
    p = run_import(str(not_elf))
    assert p.returncode != 0 and str(not_elf) in p.stderr and "cannot load" in p.stderr


def test_a_foreign_library_is_an_import_error_not_attribute_error() -> None:
    other = ctypes.util.find_library("z") or ctypes.util.find_library("m")
    if other is None:
        pytest.skip("no other shared library to point at")
    p = run_import(other)
    assert p.returncode != 0
    assert "AttributeError" not in p.stderr
    assert "LibraryError" in p.stderr and "needs libwsprune >=" in p.stderr


def test_an_old_library_is_an_import_error_with_its_version(tmp_path: Path) -> None:
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "old.c"
    src.write_text('const char *wsprune_version(void) { return "0.1.0"; }\n'
                   'const char *wsprune_status_name(int s) { (void)s; return "ok"; }\n')
    lib = tmp_path / "libwsprune.so"
    subprocess.run([cc, "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    p = run_import(str(lib))
    assert p.returncode != 0 and "AttributeError" not in p.stderr
    assert "libwsprune 0.1.0" in p.stderr and str(lib) in p.stderr
    assert "missing: " in p.stderr and "wsprune_session_create" in p.stderr


def test_wsprune_library_overrides_the_bundled_one() -> None:
    env = os.environ.get("WSPRUNE_LIBRARY")
    if not env:
        pytest.skip("WSPRUNE_LIBRARY not set")
    copy = Path(env)
    p = run_import(str(copy))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(copy)


def test_bundled_library_is_found_without_environment() -> None:
    bundled = Path(wsprune.__file__).parent / "libwsprune.so"
    if not bundled.exists():
        pytest.skip("this install carries no bundled library (a source-tree run)")
    p = run_import(None)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(bundled.resolve())


def test_a_library_without_a_function_the_package_calls_names_what_is_missing(tmp_path: Path) -> None:
    # A 0.3.0 library: everything the package calls but 0.4.0's result accessors.
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.skip("no C compiler")
    newer = {"wsprune_prune_result_deleted_bytes", "wsprune_prune_result_deleted_age_hours",
             "wsprune_prune_result_interrupted_bytes", "wsprune_prune_result_unmet_target_value",
             "wsprune_prune_result_unmet_actual"}
    assert newer <= wsprune._lib.REQUIRED
    stubs = "".join(f"void {n}(void) {{}}\n" for n in sorted(wsprune._lib.REQUIRED - newer - {"wsprune_version"}))
    src = tmp_path / "old.c"
    src.write_text('const char *wsprune_version(void) { return "0.3.0"; }\n' + stubs)
    lib = tmp_path / "libwsprune.so"
    subprocess.run([cc, "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    p = run_import(str(lib))
    assert p.returncode != 0 and "AttributeError" not in p.stderr
    assert "libwsprune 0.3.0" in p.stderr and "needs libwsprune >= 0.4.0" in p.stderr
    missing = p.stderr.split("missing: ", 1)[1].split(")", 1)[0].split(", ")
    assert sorted(missing) == sorted(newer)
