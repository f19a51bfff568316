#!/usr/bin/env bash
# Line coverage of src/ with cargo-llvm-cov, failing under the gate:
# `bash .ci/coverage.sh` or `make coverage`.
#
#   COVERAGE_MIN=90   the gate, in percent of lines of src/ (default 90)
#
# What runs instrumented (all against one instrumented build, in
# target/llvm-cov-target, so the normal target/debug is never touched):
#   1. the Rust tests (`cargo test --tests`: unit tests of the library and
#      binaries, and every integration test in tests/);
#   2. the C ABI test programs tests/c/test_*.c (as tests/c/run.sh builds
#      them), linked against the instrumented libwsprune.so: they are what
#      exercises src/ffi/;
#   3. the Python binding's pytest suite, loading the same libwsprune.so
#      through WSPRUNE_LIBRARY (ctypes), which calls the C ABI again.
# The Go binding's tests are not run here: a Go program exits without running
# libc's atexit handlers, which is where the profiling runtime inside
# libwsprune.so writes its counters.
#
# Nothing in src/ is excluded from the report. Doc tests are not counted
# (rustdoc is not instrumented on stable), and code that runs only in a
# child process killed by a signal (the crash tests) writes no counters.
#
# Prints the per-file table (regions, functions, lines) and the total, then
# each file under the gate with its uncovered lines; every file's uncovered
# lines are in target/llvm-cov/missing.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

min=${COVERAGE_MIN:-90}
llvm_cov_version=0.9.1 # the version installed when missing (any installed one is used)

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! rustup component list --installed 2>/dev/null | grep -q '^llvm-tools'; then
    echo "coverage: installing the llvm-tools-preview component"
    rustup component add llvm-tools-preview
fi
if ! cargo llvm-cov --version >/dev/null 2>&1; then
    echo "coverage: installing cargo-llvm-cov $llvm_cov_version"
    cargo install cargo-llvm-cov --version "$llvm_cov_version" --locked
fi
echo "coverage: $(cargo llvm-cov --version), $(rustc --version)"

# A separate target directory: the coverage flags are passed through
# cargo-llvm-cov's rustc wrapper rather than RUSTFLAGS, so sharing target/
# could leave instrumented artifacts behind for a plain build to reuse.
export CARGO_TARGET_DIR=$repo/target/llvm-cov-target
# shellcheck disable=SC1090
source <(cargo llvm-cov show-env --sh 2>/dev/null)
cargo llvm-cov clean --workspace
# Some tests re-run their own binary as an unprivileged user (uid 65534), which
# cannot write its counters into the root-owned target directory: profiles go
# to a world-writable (sticky) directory first and are moved in for the report.
profdir=$(mktemp -d "${TMPDIR:-/tmp}/wsprune-cov.XXXXXX")
trap 'rm -rf "$profdir"' EXIT
chmod 1777 "$profdir"
export LLVM_PROFILE_FILE="$profdir/$(basename "$LLVM_PROFILE_FILE")"

echo "== coverage: Rust tests (instrumented)"
# One build for the tests and the shared library the C and Python tests load
# (--lib with --tests: the same features, so the same code in both).
cargo build --lib --tests
cargo test --tests

echo "== coverage: C ABI test programs against the instrumented library"
lib=$CARGO_TARGET_DIR/debug
ln -sf libwsprune.so "$lib/libwsprune.so.0"
out=$CARGO_TARGET_DIR/ctest
mkdir -p "$out"
for src in tests/c/test_*.c; do
    p=$(basename "$src" .c)
    echo "== coverage: $src"
    cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -pthread "$src" \
        -o "$out/$p" -L"$lib" -lwsprune -lm -Wl,-rpath,"$lib"
    "$out/$p"
done

echo "== coverage: Python binding tests against the instrumented library"
if command -v python3 >/dev/null 2>&1; then
    venv=target/py-venv # the one bindings/python/run_tests.sh makes; made here if missing
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pytest --version >/dev/null 2>&1 || "$venv/bin/python" -m pip install --quiet pytest
    WSPRUNE_LIBRARY="$lib/libwsprune.so" PYTHONPATH="$repo/bindings/python/src" \
        "$venv/bin/python" -m pytest -q -p no:cacheprovider bindings/python/tests
else
    echo "coverage: python3 is missing; the Python binding's tests are not counted" >&2
fi

echo "== coverage: report (src/ only)"
find "$profdir" -maxdepth 1 -name '*.profraw' -exec mv -t "$CARGO_LLVM_COV_TARGET_DIR" {} +
report_dir=$repo/target/llvm-cov
mkdir -p "$report_dir"
# Only the crate's own sources (src/): the test, example, benchmark and fuzz
# directories of this repository are left out (dependencies already are).
repo_re=$(printf '%s' "$repo" | sed 's/[].[^$*+?(){}|\\]/\\&/g')
ignore="^$repo_re/(tests|examples|benches|\.fuzz)/"
# llvm-cov may warn that "N functions have mismatched data": the same function
# compiled into several binaries (the library, its unit-test build, the tool)
# with different structural hashes; a known, harmless effect of merging them.
# The crash tests SIGKILL children at random points, now and then while one
# writes its counters at exit: its truncated profile is skipped with a warning
# (--failure-mode all: fail only if no profile at all can be read).
cargo llvm-cov report --failure-mode all --ignore-filename-regex "$ignore" --show-missing-lines \
    >"$report_dir/summary.txt"
sed '/^Uncovered Lines:/,$d' "$report_dir/summary.txt" # the per-file table and the total
sed -n '/^Uncovered Lines:/,$p' "$report_dir/summary.txt" | tail -n +2 >"$report_dir/missing.txt"
cargo llvm-cov report --failure-mode all --ignore-filename-regex "$ignore" --json --summary-only \
    --output-path "$report_dir/summary.json"

python3 - "$report_dir/summary.json" "$min" "$report_dir/missing.txt" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))["data"][0]
minimum = float(sys.argv[2])
missing = dict(l.rstrip("\n").split(": ", 1) for l in open(sys.argv[3]) if ": " in l)
lines = data["totals"]["lines"]
pct = lines["percent"]
print(f"coverage: src/ lines {lines['covered']}/{lines['count']} = {pct:.2f}% (gate: {minimum:g}%)")
under = [
    (f["filename"], f["summary"]["lines"])
    for f in data["files"]
    if f["summary"]["lines"]["percent"] < minimum
]
for name, l in sorted(under, key=lambda x: x[1]["percent"]):
    print(f"coverage:   under {minimum:g}%: {name.split('/src/', 1)[-1]}: {l['percent']:.1f}% ({l['count'] - l['covered']} lines missed)")
    print(f"coverage:     uncovered lines: {missing.get(name, '?')}")
if pct < minimum:
    print(f"coverage: FAILED: {pct:.2f}% < {minimum:g}% (uncovered lines: target/llvm-cov/missing.txt)")
    sys.exit(1)
print("coverage: 1 passed, 0 failed")
EOF
