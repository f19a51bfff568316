#!/usr/bin/env bash
# Bounded fuzzing run of every cargo-fuzz target in .fuzz/ (libFuzzer, with
# AddressSanitizer and debug assertions): `bash .ci/fuzz.sh` or `make fuzz`.
#
#   FUZZ_SECONDS=60        seconds of fuzzing per target (libFuzzer -max_total_time)
#   FUZZ_TARGETS="a b"     targets to run (default: every target in .fuzz/fuzz_targets)
#   FUZZ_TOOLCHAIN=nightly rustup toolchain (cargo fuzz needs nightly)
#   FUZZ_FEATURES=...      features of the fuzz crate, e.g. strict (docs/fuzzing.md)
#   FUZZ_ARGS="..."        extra libFuzzer flags, e.g. "-jobs=2 -workers=2"
#
# Installs what is missing (the nightly toolchain, cargo-fuzz). Each target
# starts from the committed seed corpus .fuzz/corpus/<target>/, which is only
# read: new inputs go to target/fuzz/corpus/<target>/ (kept between local runs,
# never committed). A crash is saved under .fuzz/artifacts/<target>/ and fails
# the run, with the command that reproduces it. Longer runs: docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
toolchain=${FUZZ_TOOLCHAIN:-nightly}
cargo_fuzz_version=0.13.2 # the version installed when missing (any installed one is used)
case "$seconds" in '' | *[!0-9]* | 0)
    echo "fuzz: FUZZ_SECONDS must be a positive whole number of seconds, got '$seconds'" >&2
    exit 2
    ;;
esac

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! rustc "+$toolchain" --version >/dev/null 2>&1; then
    echo "fuzz: installing the $toolchain toolchain"
    rustup toolchain install "$toolchain" --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi
echo "fuzz: $(rustc "+$toolchain" --version), $(cargo fuzz --version)"

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo "+$toolchain" fuzz list --fuzz-dir .fuzz)
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no fuzz targets found (cargo fuzz list)" >&2
    exit 1
fi
features=()
[ -n "${FUZZ_FEATURES:-}" ] && features=(--features "$FUZZ_FEATURES")
extra=()
[ -n "${FUZZ_ARGS:-}" ] && read -r -a extra <<<"$FUZZ_ARGS"

echo "== fuzz: cargo fmt --check (the fuzz crate is outside the main workspace and make lint)"
cargo fmt --manifest-path .fuzz/Cargo.toml --check

echo "== fuzz: build ${targets[*]}"
cargo "+$toolchain" fuzz build --fuzz-dir .fuzz "${features[@]}"

logs=target/fuzz/logs
mkdir -p "$logs"
passed=0 failed=0
for t in "${targets[@]}"; do
    seeds=.fuzz/corpus/$t
    out=target/fuzz/corpus/$t
    mkdir -p "$out"
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
        echo "fuzz: no seed corpus in $seeds" >&2
        exit 1
    fi
    echo "== fuzz: $t for ${seconds}s (seeds: $(find "$seeds" -type f | wc -l) files in $seeds; new inputs: $out)"
    # The first corpus directory is the one libFuzzer writes to: ours under target/.
    if cargo "+$toolchain" fuzz run --fuzz-dir .fuzz "${features[@]}" "$t" "$out" "$seeds" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" \
        >"$logs/$t.log" 2>&1; then
        passed=$((passed + 1))
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n1)
        cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$logs/$t.log" | tail -n1)
        echo "fuzz: $t passed: ${runs:-?} inputs in ${seconds}s, $cov, corpus now $(find "$out" -type f | wc -l) files"
    else
        failed=$((failed + 1))
        echo "fuzz: $t FAILED; from $logs/$t.log:" >&2
        grep -E -A4 'panicked at|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|^SUMMARY' "$logs/$t.log" |
            grep -v '^ *[0-9]*: \|^ *at \|^ *#[0-9]' | head -n 40 >&2 || true
        echo "fuzz: ..." >&2
        grep -v '^#' "$logs/$t.log" | tail -n 25 >&2
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
