#!/usr/bin/env bash
# The C ABI tests: `bash tests/c/run.sh` from anywhere.
#  1. the header compiles standalone as C99 (included twice) and as C++;
#  2. tests/c/test_wsprune.c builds with -std=c99 -Wall -Wextra -Werror -pedantic
#     against the header and the shared library, and passes;
#  3. it passes again under valgrind with no errors and no definite or indirect leaks.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/ctest
mkdir -p "$out"
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -Iinclude)

echo "== cargo build (library)"
cargo build --quiet
# The SONAME is libwsprune.so.0 (what `make install` creates); give the build tree that name too.
ln -sf libwsprune.so target/debug/libwsprune.so.0

echo "== header: standalone C99, included twice"
printf '#include "wsprune.h"\n#include "wsprune.h"\nint main(void) { return wsprune_version() == 0; }\n' > "$out/header_twice.c"
cc "${CFLAGS[@]}" -c "$out/header_twice.c" -o "$out/header_twice.o"
echo "== header: C++"
printf '#include "wsprune.h"\nint main() { return wsprune_status_name(WSPRUNE_STATUS_OK) == nullptr; }\n' > "$out/header.cpp"
c++ -std=c++11 -Wall -Wextra -Werror -Iinclude -fsyntax-only "$out/header.cpp"

echo "== build tests/c/test_wsprune.c"
cc "${CFLAGS[@]}" -pthread tests/c/test_wsprune.c -o "$out/test_wsprune" \
    -Ltarget/debug -lwsprune -lm -Wl,-rpath,"$PWD/target/debug"

echo "== run"
"$out/test_wsprune"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind is not installed: apt-get install valgrind (.ci/run does this)" >&2
    exit 1
fi
echo "== run under valgrind"
valgrind --quiet --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    "$out/test_wsprune"
echo "== C ABI tests passed"
