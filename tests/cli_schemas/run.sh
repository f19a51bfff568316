#!/usr/bin/env bash
# Checks every `wsprune ... --json` output against docs/schemas/ (check.py).
# Python's jsonschema validates (already in the Python toolchain CI installs;
# a Rust validator crate would add dozens of crates to every build): taken
# from the system if importable, else installed into a venv under target/.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
cargo build --quiet --bin wsprune
py=python3
if ! python3 -c 'import jsonschema, referencing' 2>/dev/null; then
    venv="$repo/target/schema-venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet jsonschema
    py="$venv/bin/python"
fi
exec "$py" tests/cli_schemas/check.py "$repo/target/debug/wsprune"
