#!/usr/bin/env bash
# Python binding tests: `bash bindings/python/run_tests.sh` from the repo root.
# Installs the library into a temporary prefix, pip-installs the package into
# a virtualenv, and runs pytest against the installed library.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v python3 >/dev/null 2>&1 || { echo "python3 is required" >&2; exit 2; }
prefix=$(mktemp -d /tmp/wsprune-py.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory install PREFIX="$prefix" >/dev/null
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pytest mypy
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps ./bindings/python
echo "== mypy --strict"
"$venv/bin/python" -m mypy --strict bindings/python/src/wsprune
echo "== pytest (library: $prefix/lib/libwsprune.so)"
WSPRUNE_LIBRARY="$prefix/lib/libwsprune.so" "$venv/bin/python" -m pytest -q bindings/python/tests
