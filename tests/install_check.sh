#!/usr/bin/env bash
# Installs the library into a temporary prefix and builds the C demo against
# it with nothing but pkg-config, then runs it: the "install like a C
# library" check. `bash tests/install_check.sh` from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d /tmp/wsprune-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
echo "== pkg-config: $(pkg-config --modversion wsprune): $(pkg-config --cflags --libs wsprune)"
test "$(readelf -d "$prefix/lib/libwsprune.so.0" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" = libwsprune.so.0
# The command-line tool is installed too, and runs.
"$prefix/bin/wsprune" --version | grep -q '^wsprune '
out=$(mktemp -d /tmp/wsprune-demo-build.XXXXXX)
trap 'rm -rf "$prefix" "$out"' EXIT
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -pedantic examples/demo.c -o "$out/demo" $(pkg-config --cflags --libs wsprune)
LD_LIBRARY_PATH="$prefix/lib" "$out/demo" | tail -n 3
# The static library links too.
# shellcheck disable=SC2046
cc -std=c99 examples/demo.c -o "$out/demo-static" $(pkg-config --cflags wsprune) "$prefix/lib/libwsprune.a" \
    $(pkg-config --libs-only-other --static wsprune) -lpthread -ldl -lm
"$out/demo-static" >/dev/null
echo "== install check passed (shared and static)"
