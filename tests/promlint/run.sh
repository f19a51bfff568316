#!/usr/bin/env bash
# `make test-promlint`: lints wsprune's Prometheus metrics with client_golang's
# promlint (the linter `promtool check metrics` runs): `wsprune metrics ROOT
# --sizes`, and the files `wsprune prune --metrics-file` writes after a prune
# that succeeded and after one that failed, on a small sample root. The
# linter (main.go) is built through the Go module proxy, pinned by go.mod and
# go.sum. Names and meanings: docs/metrics.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
cargo build --quiet --bin wsprune
cli="$repo/target/debug/wsprune"
tmp=$(mktemp -d /tmp/wsprune-promlint.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root="$tmp/ws"
"$cli" create "$root" >/dev/null
"$cli" create "$root" >/dev/null
mkdir "$root/22222222-2222-4222-8222-222222222222"   # legacy: no metadata
# A session of the reference implementation, last used in 2020: the prune takes it.
old=33333333-3333-4333-8333-333333333333
mkdir "$root/$old"
printf '{"session_id":"%s","created_at":"2020-01-01T00:00:00Z","updated_at":"2020-01-01T00:00:00Z","version":1}' \
    "$old" > "$root/$old/.metadata.json"
(cd "$here" && GOFLAGS=-mod=readonly go build -o "$tmp/promlint" .)
# The linter must catch what it is here for (a counter without _total, no
# HELP, a non-base unit), or its passes below mean nothing.
if printf '# TYPE x_milliseconds counter\nx_milliseconds 1\n' | "$tmp/promlint" >/dev/null; then
    echo "promlint: the linter passed a bad exposition" >&2; exit 1
fi

echo "== wsprune metrics ROOT --sizes | promlint"
"$cli" metrics "$root" --sizes > "$tmp/metrics.prom"
"$tmp/promlint" < "$tmp/metrics.prom"

echo "== wsprune prune ROOT --metrics-file FILE; promlint < FILE"
"$cli" prune "$root" --older-than 24h -q --metrics-file "$tmp/prune.prom" >/dev/null
"$tmp/promlint" < "$tmp/prune.prom"
grep -q '^wsprune_prune_last_deleted_sessions{root=".*",rule="older_than"} 1$' "$tmp/prune.prom" \
    || { echo "promlint: the prune's outcome is missing from the metrics file" >&2; exit 1; }

echo "== a failed prune (root missing); promlint < FILE"
if "$cli" prune "$tmp/missing" --metrics-file "$tmp/failed.prom" 2>/dev/null; then
    echo "promlint: a prune of a missing root succeeded" >&2; exit 1
fi
"$tmp/promlint" < "$tmp/failed.prom"
grep -q '^wsprune_prune_last_success{root=".*"} 0$' "$tmp/failed.prom" \
    || { echo "promlint: the failed prune is not in the metrics file" >&2; exit 1; }
echo "== promlint: wsprune's metrics pass"
