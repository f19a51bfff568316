#!/usr/bin/env bash
# `make conformance`: builds what the runners need, then runs every scenario
# on every available surface (tests/conformance/run.py; arguments are passed
# on, e.g. --surface go --scenario 'prune-*').
#
# As bindings/go/run_tests.sh does, the library is installed into a temporary
# prefix (`make install PREFIX=$tmp`); the C runner dlopens that copy, the Go
# runner links it through pkg-config, the Python runner loads it
# (WSPRUNE_LIBRARY) and the CLI runner runs $tmp/bin/wsprune.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/wsprune-conformance.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

make --no-print-directory install PREFIX="$tmp" >/dev/null
cargo build --quiet --release --example c_abi_runner

export WSPRUNE_LIBRARY="$tmp/lib/libwsprune.so"
export WSPRUNE_CLI="$tmp/bin/wsprune"
export LD_LIBRARY_PATH="$tmp/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export WSPRUNE_CONFORMANCE_BUILD="$tmp/runners"

if command -v go >/dev/null 2>&1; then
    # As in bindings/go/run_tests.sh: naming the prefix in CGO_* keys Go's
    # build cache on it.
    (
        cd tests/conformance/runners/go
        PKG_CONFIG_PATH="$tmp/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
        GOFLAGS="-mod=mod${GOFLAGS:+ $GOFLAGS}" CGO_ENABLED=1 \
        CGO_CFLAGS="-I$tmp/include${CGO_CFLAGS:+ $CGO_CFLAGS}" \
        CGO_LDFLAGS="-L$tmp/lib${CGO_LDFLAGS:+ $CGO_LDFLAGS}" \
            go build -o "$WSPRUNE_CONFORMANCE_BUILD/go_runner" .
    )
else
    echo "conformance: Go is not installed; the go surface is not available" >&2
fi

if command -v npm >/dev/null 2>&1 && [ ! -d bindings/node/node_modules/koffi ]; then
    # The Node runner loads the binding, which needs koffi (bindings/node/package-lock.json).
    (cd bindings/node && npm ci --no-audit --no-fund --loglevel=error)
fi

if command -v mvn >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
    # The Java runner's classes and classpath, compiled afresh (the runner
    # script compiles them only when missing). Maven's output is shown only
    # if it fails: even with -q it writes bare terminal resets, which would
    # land in front of the result lines.
    if ! (cd bindings/java && mvn -q -B -Dstyle.color=never test-compile dependency:build-classpath \
        -Dmdep.outputFile="$PWD/target/classpath.txt" -Dmdep.includeScope=runtime) >"$tmp/mvn.log" 2>&1; then
        cat "$tmp/mvn.log" >&2
        exit 1
    fi
fi

python3 tests/conformance/run.py "$@"
