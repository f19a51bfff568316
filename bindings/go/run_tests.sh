#!/usr/bin/env bash
# Tests the Go binding against a freshly installed libwsprune.
#
#   bash bindings/go/run_tests.sh      (from the repository root, or anywhere)
#
# Installs the library into a temporary prefix (`make install PREFIX=$tmp`),
# points pkg-config and the dynamic loader at it, then runs: the gofmt check,
# go vet, `go test -race`, and the tests again with cgo pointer checking at its
# strictest (GOEXPERIMENT=cgocheck2, Go >= 1.21). Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
    echo "run_tests.sh: Go is not installed (no 'go' on PATH)." >&2
    echo "  Install Go 1.22 or newer from https://go.dev/dl/ (or your package manager) and retry." >&2
    exit 2
fi
if ! command -v "${PKG_CONFIG:-pkg-config}" >/dev/null 2>&1; then
    echo "run_tests.sh: pkg-config is missing (cgo needs it to find libwsprune); e.g. apt-get install pkg-config" >&2
    exit 2
fi
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "run_tests.sh: cargo is missing; install Rust (https://rustup.rs) to build libwsprune" >&2
    exit 2
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/wsprune-go.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "== make install PREFIX=$tmp"
make -C "$repo" --no-print-directory install PREFIX="$tmp"

export PKG_CONFIG_PATH="$tmp/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$tmp/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOFLAGS="-mod=mod${GOFLAGS:+ $GOFLAGS}"
export CGO_ENABLED=1
# Go's build cache does not key on what `#cgo pkg-config` returns for --libs,
# so a cached test binary could link against an earlier (deleted) temporary
# prefix. CGO_CFLAGS/CGO_LDFLAGS are part of the key: naming the prefix there
# makes every new prefix a new build.
export CGO_CFLAGS="-I$tmp/include${CGO_CFLAGS:+ $CGO_CFLAGS}"
export CGO_LDFLAGS="-L$tmp/lib${CGO_LDFLAGS:+ $CGO_LDFLAGS}"
echo "== $(go version); wsprune $(pkg-config --modversion wsprune) from $(pkg-config --variable=libdir wsprune)"

cd "$here"

echo "== gofmt -l"
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
    echo "gofmt: these files need formatting:" >&2
    echo "$unformatted" >&2
    exit 1
fi

echo "== go vet ./..."
go vet ./...

echo "== go test -race ./..."
go test -race -count=1 ./...

# Strict cgo pointer checking. Since Go 1.21 it is a build-time experiment
# (GOEXPERIMENT=cgocheck2; GODEBUG=cgocheck=2 no longer exists); before, it
# was GODEBUG=cgocheck=2. -short skips the one 2-second test (the busy
# lease), which the run above already covered.
minor="$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
if [ -n "$minor" ] && [ "$minor" -ge 21 ]; then
    echo "== GOEXPERIMENT=cgocheck2 go test -short ./..."
    GOEXPERIMENT="${GOEXPERIMENT:+$GOEXPERIMENT,}cgocheck2" go test -count=1 -short ./...
else
    echo "== GODEBUG=cgocheck=2 go test -short ./..."
    GODEBUG="${GODEBUG:+$GODEBUG,}cgocheck=2" go test -count=1 -short ./...
fi

# The Prometheus collector is its own module (the binding depends on nothing
# but the C library): vetted and tested on its own, scraped in-process
# against real workspaces, and compared with the installed tool's
# `wsprune metrics` (WSPRUNE_CLI).
echo "== collector/: go vet, go test -race"
(
    cd collector
    go vet ./...
    WSPRUNE_CLI="$tmp/bin/wsprune" go test -race -count=1 ./...
)

echo "== Go binding: all checks passed"
