#!/usr/bin/env bash
# The benchmark suite (`make bench`; arguments go to the harness, e.g.
# `bash benches/run.sh --quick`): prepares the plotting venv first, so a missing
# matplotlib fails before the long run, installs rmz if missing, then runs the harness
# (benches/suite/, which prints the tables and writes benchmarks.md and
# target/bench/results.json) and draws the scaling plot from that JSON.
set -euo pipefail
cd "$(dirname "$0")/.."

# `--touch` measures create and touch alone: no plot, no rmz.
for a in "$@"; do
    if [ "$a" = --touch ]; then
        exec cargo bench --bench suite -- "$@"
    fi
done

venv=target/bench-venv
if ! "$venv/bin/python" -c 'import matplotlib' >/dev/null 2>&1; then
    echo "bench: installing matplotlib into $venv" >&2
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet matplotlib; } >&2; then
        echo "bench: could not install matplotlib into $venv (needs python3 with venv and PyPI);" \
            "the scaling plot cannot be drawn without it" >&2
        exit 1
    fi
fi

# rmz (the `rmz` crate: fuc's parallel deleter) is one of the deleters a
# prune is compared with. Installed with cargo where it is not on PATH; a
# machine that cannot build it runs the suite without it (the document says so).
tools=$PWD/target/bench-tools
export PATH="$tools/bin:$PATH"
if ! command -v rmz >/dev/null; then
    echo "bench: installing rmz into $tools (cargo install rmz@3.2.1)" >&2
    cargo install --quiet --locked --root "$tools" rmz@3.2.1 >&2 ||
        echo "bench: could not install rmz; the suite runs without it" >&2
fi

cargo bench --bench suite -- "$@"
"$venv/bin/python" benches/plot.py target/bench/results.json
