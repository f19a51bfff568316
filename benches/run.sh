#!/usr/bin/env bash
# The benchmark suite (`make bench`; arguments go to the harness, e.g.
# `bash benches/run.sh --quick`): prepares the plotting venv first, so a missing
# matplotlib fails before the long run, then runs the harness
# (benches/suite/, which prints the tables and writes benchmarks.md and
# target/bench/results.json) and draws the scaling plot from that JSON.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/bench-venv
if ! "$venv/bin/python" -c 'import matplotlib' >/dev/null 2>&1; then
    echo "bench: installing matplotlib into $venv" >&2
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet matplotlib; } >&2; then
        echo "bench: could not install matplotlib into $venv (needs python3 with venv and PyPI);" \
            "the scaling plot cannot be drawn without it" >&2
        exit 1
    fi
fi

cargo bench --bench suite -- "$@"
"$venv/bin/python" benches/plot.py target/bench/results.json
