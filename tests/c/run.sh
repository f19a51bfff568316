#!/usr/bin/env bash
# The C ABI tests: `bash tests/c/run.sh` from anywhere.
#  1. the header compiles standalone as C99 (included twice) and as C++;
#  2. every tests/c/test_*.c program builds with -std=c99 -Wall -Wextra
#     -Werror -pedantic against the header and the shared library, and passes;
#  3. each passes again built with AddressSanitizer + UndefinedBehaviorSanitizer
#     (and LeakSanitizer where it works here; see below);
#  4. each passes again under valgrind with no errors and no definite or indirect leaks.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/ctest
mkdir -p "$out"
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -Iinclude)
LINK=(-Ltarget/debug -lwsprune -lm -Wl,-rpath,"$PWD/target/debug")

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

programs=()
for src in tests/c/test_*.c; do
    programs+=("$(basename "$src" .c)")
done

for p in "${programs[@]}"; do
    echo "== build and run tests/c/$p.c"
    cc "${CFLAGS[@]}" -pthread "tests/c/$p.c" -o "$out/$p" "${LINK[@]}"
    "$out/$p"
done

# The sanitizers instrument the C side only: the Rust library is the same
# (uninstrumented) build. ASan still sees every heap allocation, since Rust
# allocates with malloc, so it catches the C side using an object the library
# freed, reading past a string or buffer the library returned or filled, a
# double free, and (with LeakSanitizer) results and errors never freed; UBSan
# catches undefined behaviour in the C side. A write by Rust code past a C
# buffer is seen only when it goes through an intercepted libc call (memcpy);
# valgrind, run next, instruments the library too and covers heap writes
# from either side.
SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -g -O1)
# LeakSanitizer stops the process's threads with ptrace-like machinery that
# some containers forbid; probe it on a program with a known leak and turn
# leak detection off (valgrind below still checks leaks) only if it cannot work.
printf '#include <stdlib.h>\nint main(void) { void *volatile p = malloc(7); p = 0; return p != 0; }\n' \
    > "$out/lsan_probe.c"
if ! cc "${SAN[@]}" "$out/lsan_probe.c" -o "$out/lsan_probe"; then
    echo "cannot build with -fsanitize=address,undefined: the compiler's sanitizer runtimes" \
        "(libasan, libubsan; Debian: libgcc-<version>-dev) are missing" >&2
    exit 1
fi
ASAN_OPTIONS=detect_leaks=1 "$out/lsan_probe" > "$out/lsan_probe.log" 2>&1 || true
if grep -q "LeakSanitizer: detected memory leaks" "$out/lsan_probe.log"; then
    leaks=1
else
    leaks=0
    echo "LeakSanitizer does not work here (it could not report a planted leak);" \
        "leaks are checked by the valgrind run only" >&2
fi
for p in "${programs[@]}"; do
    echo "== build and run tests/c/$p.c with -fsanitize=address,undefined (detect_leaks=$leaks)"
    cc "${CFLAGS[@]}" "${SAN[@]}" -pthread "tests/c/$p.c" -o "$out/${p}_asan" "${LINK[@]}"
    ASAN_OPTIONS="detect_leaks=$leaks:detect_stack_use_after_return=1:strict_string_checks=1:abort_on_error=0" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        "$out/${p}_asan"
done

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind is not installed: apt-get install valgrind (.ci/run does this)" >&2
    exit 1
fi
for p in "${programs[@]}"; do
    echo "== run tests/c/$p.c under valgrind"
    valgrind --quiet --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
        "$out/$p"
done
echo "== C ABI tests passed"
