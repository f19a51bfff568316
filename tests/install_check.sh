#!/usr/bin/env bash
# The C API page's build and install recipes (docs/c-api.md), run as written: its C program
# built in the build tree (shared and static), then installed
# into a temporary prefix and built with nothing but pkg-config (the shared
# module with an rpath, the wsprune-static module), run under valgrind with the
# installed suppression file; and the C demo, which prunes. `bash tests/install_check.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d /tmp/wsprune-install.XXXXXX)
out=$(mktemp -d /tmp/wsprune-demo-build.XXXXXX)
trap 'rm -rf "$prefix" "$out"' EXIT

# docs/c-api.md's C program; its workspace moved from /tmp/ws into our temp dir.
awk '/^# C API/{f=1} f&&/^```c$/{p=1;next} p&&/^```$/{exit} p' docs/c-api.md | sed "s#/tmp/ws#$out/ws#g" > "$out/app.c"
grep -q wsprune_session_create "$out/app.c"

# Build tree (docs/c-api.md).
make --no-print-directory build >/dev/null
cc -std=c99 -Wall -Wextra -Werror "$out/app.c" -Iinclude -Ltarget/release -lwsprune -Wl,-rpath,"$PWD/target/release" -o "$out/app"
(cd "$out" && env -u LD_LIBRARY_PATH ./app) | grep -q "Would prune"
cc -std=c99 "$out/app.c" -Iinclude target/release/libwsprune.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -o "$out/app-static"
if readelf -d "$out/app-static" | grep -q 'NEEDED.*libwsprune'; then
    echo "static build-tree recipe linked the shared library" >&2
    exit 1
fi
"$out/app-static" | grep -q "Would prune"
echo "== build-tree recipes: shared (rpath) and static"

# Installed (docs/c-api.md, "Installing like a C library").
make --no-print-directory install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
echo "== pkg-config: $(pkg-config --modversion wsprune): $(pkg-config --cflags --libs wsprune)"
test "$(readelf -d "$prefix/lib/libwsprune.so.0" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" = libwsprune.so.0
"$prefix/bin/wsprune" --version | grep -q '^wsprune '
# shellcheck disable=SC2046
cc "$out/app.c" $(pkg-config --cflags --libs wsprune) -Wl,-rpath,"$(pkg-config --variable=libdir wsprune)" -o "$out/app"
(cd "$out" && env -u LD_LIBRARY_PATH ./app) | grep -q "Would prune"
# shellcheck disable=SC2046
cc "$out/app.c" $(pkg-config --cflags --libs wsprune-static) -o "$out/app-static"
if readelf -d "$out/app-static" | grep -q 'NEEDED.*libwsprune'; then
    echo "pkg-config wsprune-static linked the shared library" >&2
    exit 1
fi
"$out/app-static" | grep -q "Would prune"
# The demo prunes several sessions (worker threads): clean under valgrind with
# the installed suppressions, as docs/c-api.md advises.
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -pedantic examples/demo.c -o "$out/demo" $(pkg-config --cflags --libs wsprune) \
    -Wl,-rpath,"$(pkg-config --variable=libdir wsprune)"
"$out/demo" | tail -n 3
if command -v valgrind >/dev/null 2>&1; then
    valgrind --quiet --leak-check=full --error-exitcode=1 \
        --suppressions="$(pkg-config --variable=suppressions wsprune)" "$out/demo" >/dev/null
    echo "== valgrind --leak-check=full with the installed suppressions: clean"
fi
echo "== install check passed (build tree and installed; shared and static)"
