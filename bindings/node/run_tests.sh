#!/usr/bin/env bash
# Tests the Node.js binding against a freshly installed libwsprune.
#
#   bash bindings/node/run_tests.sh      (from the repository root, or anywhere)
#
# Installs the library into a temporary prefix (`make install PREFIX=$tmp`),
# then: npm ci (koffi, typescript), tsc --noEmit on the declarations, the
# tests with `node --test` (library found by the system loader through
# LD_LIBRARY_PATH, the pkg-config libdir), and `npm pack` installed into a
# fresh directory, where the README's first program runs as written against
# the installed library (WSPRUNE_LIBRARY from pkg-config), from ESM and
# CommonJS, followed by its listing example. Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run_tests.sh: '$tool' is missing: install Node.js 18 or newer (https://nodejs.org, or apt-get install nodejs npm)" >&2
        exit 2
    fi
done
if ! command -v "${PKG_CONFIG:-pkg-config}" >/dev/null 2>&1; then
    echo "run_tests.sh: pkg-config is missing; e.g. apt-get install pkg-config" >&2
    exit 2
fi
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/wsprune-node.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "== make install PREFIX=$tmp/prefix"
make -C "$repo" --no-print-directory install PREFIX="$tmp/prefix" >/dev/null

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
libdir="$(pkg-config --variable=libdir wsprune)"
echo "== node $(node --version), npm $(npm --version); wsprune $(pkg-config --modversion wsprune) from $libdir"

cd "$here"
echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "== tsc --noEmit"
npx --no-install tsc --noEmit -p .

echo "== node --test (libwsprune through the system loader, LD_LIBRARY_PATH=$libdir)"
(unset WSPRUNE_LIBRARY; LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" node --test test/*.test.mjs)

echo "== npm pack, installed in a fresh directory"
tarball="$(npm pack --silent --pack-destination "$tmp")"
app="$tmp/app"
mkdir -p "$app"
cd "$app"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$tmp/$tarball"
# The README's programs share the demo root /tmp/wsprune-demo: start it
# afresh, so that what an earlier run left there (an adopted operator-dir)
# does not change what they print.
rm -rf /tmp/wsprune-demo
# The README's first program, exactly as written there.
awk '/^<!-- first-program -->/{getline; f=1; next} f && /^```/{exit} f' "$here/README.md" > first.mjs
test -s first.mjs
export WSPRUNE_LIBRARY="$libdir/libwsprune.so"
node first.mjs | tee out.txt
grep -q '^created ' out.txt
grep -q '^Would prune' out.txt
# The README's listing example, run after it: it lists the session just made.
awk '/Saved as `list.mjs`/{f=1; next} f && /^```js/{g=1; next} g && /^```/{exit} g' "$here/README.md" > list.mjs
test -s list.mjs
node list.mjs | tee list.txt
grep -q "^$(sed -n 's/^created //p' out.txt) ok " list.txt
grep -q "stored:" list.txt
# The README's session-options example.
awk '/Saved as `options.mjs`/{f=1; next} f && /^```js/{g=1; next} g && /^```/{exit} g' "$here/README.md" > options.mjs
test -s options.mjs
node options.mjs | tee options.txt
grep -q '^opened chat-8 ' options.txt
grep -q '^not adopted without asking' options.txt
test "$(stat -c %a /tmp/wsprune-demo/operator-dir/.metadata.json)" = 600
# The README's pins example: the look-ahead sees the TTL pass once the pin ends.
awk '/Saved as `pins.mjs`/{f=1; next} f && /^```js/{g=1; next} g && /^```/{exit} g' "$here/README.md" > pins.mjs
test -s pins.mjs
node pins.mjs | tee pins.txt
grep -q "^expiring { 'notebook-7': 'ttl'" pins.txt
grep -q '"expires_at"' /tmp/wsprune-demo/.wsprune/sessions/notebook-7
node -e "const w = require('wsprune'); if (typeof w.pruneSessions !== 'function' || !w.version()) process.exit(1); console.log('CommonJS: wsprune', w.version())"
test -f node_modules/wsprune/index.d.ts

echo "== Node.js binding: all checks passed"
