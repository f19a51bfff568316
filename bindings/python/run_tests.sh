#!/usr/bin/env bash
# Python binding tests: `bash bindings/python/run_tests.sh` from the repo root.
# Installs the package the way a user does (`pip install ./bindings/python`,
# which builds libwsprune and bundles it) into a fresh virtualenv, checks
# that it imports with no other setup, then runs mypy --strict and pytest
# against the installed package.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v python3 >/dev/null 2>&1 || { echo "python3 is required" >&2; exit 2; }
tmp=$(mktemp -d /tmp/wsprune-py.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
venv=target/py-venv
rm -rf "$venv" bindings/python/build   # fresh: nothing left from an earlier install
python3 -m venv "$venv"
echo "== pip install ./bindings/python[prometheus] (fresh venv; builds and bundles libwsprune; the extra brings prometheus_client)"
# Its own cargo target directory, so that this build (without the cli
# feature) and `cargo build` do not keep rebuilding each other's library.
CARGO_TARGET_DIR="$PWD/target/py-build" "$venv/bin/python" -m pip install --quiet "./bindings/python[prometheus]"
echo "== import with no WSPRUNE_LIBRARY, from outside the source tree"
(cd "$tmp" && env -u WSPRUNE_LIBRARY "$OLDPWD/$venv/bin/python" -c '
import pathlib, wsprune, wsprune.sessions
lib = pathlib.Path(wsprune.library_path)
assert lib.parent == pathlib.Path(wsprune.__file__).parent and lib.name == "libwsprune.so", lib
print("wsprune", wsprune.version(), "from", lib)
')
"$venv/bin/python" -m pip install --quiet pytest mypy
# WSPRUNE_REFERENCE (a directory holding the reference's sandbox/ package)
# adds a test against its own storage adapter and logger, which need structlog.
# A checkout beside the project's shared/ material (as CI's is) uses its copy.
if [ -z "${WSPRUNE_REFERENCE:-}" ] && [ -f "$PWD/../shared/reference/sandbox/core/storage.py" ]; then
    WSPRUNE_REFERENCE="$(cd "$PWD/../shared/reference" && pwd)"
    export WSPRUNE_REFERENCE
fi
if [ -n "${WSPRUNE_REFERENCE:-}" ]; then "$venv/bin/python" -m pip install --quiet structlog; fi
echo "== mypy --strict"
"$venv/bin/python" -m mypy --strict bindings/python/src/wsprune
echo "== pytest (the bundled library)"
status=0  # both pytest runs go ahead; either failing fails the script
env -u WSPRUNE_LIBRARY "$venv/bin/python" -m pytest -q -rs bindings/python/tests || status=1
echo "== pytest (WSPRUNE_LIBRARY overrides the bundled library)"
site=$("$venv/bin/python" -c 'import pathlib, wsprune; print(pathlib.Path(wsprune.__file__).parent)')
cp "$site/libwsprune.so" "$tmp/libwsprune.so"
WSPRUNE_LIBRARY="$tmp/libwsprune.so" "$venv/bin/python" -m pytest -q bindings/python/tests/test_loading.py || status=1
exit $status
