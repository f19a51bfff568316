#!/usr/bin/env bash
# Validates the OpenSpec change (and every other spec and change under
# openspec/) with the OpenSpec CLI in strict mode: `bash .ci/spec.sh` or
# `make spec`.
#
# The CLI (npm package @fission-ai/openspec, pinned below; needs Node.js
# >= 20.19) is installed into target/tools/openspec on first use. Telemetry
# and the update check are off: OPENSPEC_TELEMETRY=0 and DO_NOT_TRACK=1 (the
# CLI's documented opt-outs) and OPENSPEC_NO_UPDATE_CHECK=1.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.13.2
change=${SPEC_CHANGE:-add-workspace-pruning}
export OPENSPEC_TELEMETRY=0 DO_NOT_TRACK=1 OPENSPEC_NO_UPDATE_CHECK=1
export NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "spec: Node.js (>= 20.19) and npm are required for the OpenSpec CLI" >&2
    exit 2
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    echo "spec: Node.js $(node --version) is too old for @fission-ai/openspec@$version (needs >= 20.19)" >&2
    exit 2
fi

prefix=target/tools/openspec
cli=$prefix/node_modules/.bin/openspec
if [ ! -x "$cli" ] || [ "$("$cli" --version 2>/dev/null)" != "$version" ]; then
    echo "spec: installing @fission-ai/openspec@$version into $prefix"
    mkdir -p "$prefix"
    npm install --silent --prefix "$prefix" --no-save "@fission-ai/openspec@$version" >/dev/null
fi
echo "spec: openspec $("$cli" --version), node $(node --version)"

echo "== openspec validate $change --strict"
"$cli" validate "$change" --strict --no-interactive
echo "== openspec validate --all --strict"
"$cli" validate --all --strict --no-interactive
echo "spec: 1 passed, 0 failed"
