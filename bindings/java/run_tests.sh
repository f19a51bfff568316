#!/usr/bin/env bash
# Tests the Java binding against a freshly installed libwsprune.
#
#   bash bindings/java/run_tests.sh      (from the repository root, or anywhere)
#
# Installs the library into a temporary prefix (`make install PREFIX=$tmp`),
# points the dynamic loader at it (LD_LIBRARY_PATH: the binding's ordinary
# lookup; one test also loads it through WSPRUNE_LIBRARY and jna.library.path),
# then runs `mvn -q -B test` in bindings/java and prints Surefire's totals,
# which -q hides. Installs Maven with apt-get only when `mvn` is missing. The
# first run downloads JNA, JUnit and the Maven plugins; later runs work offline.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if ! command -v java >/dev/null 2>&1; then
    echo "run_tests.sh: Java is not installed (no 'java' on PATH); install a JDK 17 or newer." >&2
    exit 2
fi
if ! command -v mvn >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "== installing Maven (apt-get install maven)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq maven >/dev/null
    else
        echo "run_tests.sh: Maven is missing (no 'mvn' on PATH); install it (e.g. apt-get install maven)." >&2
        exit 2
    fi
fi
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/wsprune-java.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "== make install PREFIX=$tmp"
make -C "$repo" --no-print-directory install PREFIX="$tmp"

export LD_LIBRARY_PATH="$tmp/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset WSPRUNE_LIBRARY
echo "== $(java -version 2>&1 | head -n1); $(mvn -v 2>/dev/null | head -n1 | sed 's/\x1b\[[0-9;]*m//g')"

cd "$here"
rm -rf target/surefire-reports
echo "== mvn -q -B test"
status=0
# (Debian's Maven 3.8 prints stray colour resets even in batch mode: dropped.)
mvn -q -B -Dstyle.color=never -Dwsprune.header="$tmp/include/wsprune.h" test 2>&1 |
    sed 's/\x1b\[0m//g' || status=$?

# Surefire's totals (mvn -q prints them only on failure).
if ls target/surefire-reports/TEST-*.xml >/dev/null 2>&1; then
    sed -n 's/.*<testsuite [^>]* tests="\([0-9]*\)" errors="\([0-9]*\)" skipped="\([0-9]*\)" failures="\([0-9]*\)".*/\1 \2 \3 \4/p' \
        target/surefire-reports/TEST-*.xml |
        awk '{t+=$1; e+=$2; s+=$3; f+=$4} END {printf "Tests run: %d, Failures: %d, Errors: %d, Skipped: %d\n", t, f, e, s}'
fi
if [ "$status" -ne 0 ]; then
    echo "== Java binding: tests FAILED" >&2
    exit "$status"
fi

# The README's first program, run as the README says (jar + JNA on the class
# path, the library found through LD_LIBRARY_PATH).
echo "== examples/FirstProgram.java (the README's recipe)"
mvn -q -B -Dstyle.color=never package -DskipTests dependency:build-classpath \
    -Dmdep.outputFile=target/classpath.txt -DincludeScope=runtime 2>&1 | sed 's/\x1b\[0m//g'
java -cp "target/wsprune-0.4.0.jar:$(cat target/classpath.txt)" examples/FirstProgram.java "$tmp/ws" \
    >"$tmp/first.out"
grep -q '^Would prune 0 sessions' "$tmp/first.out" && grep -q '^refused: ' "$tmp/first.out" &&
    grep -Eq '^[0-9a-f-]{36} ok [0-9]+ bytes$' "$tmp/first.out" && grep -q '^stored {session_id=' "$tmp/first.out" || {
    echo "FirstProgram.java printed:" >&2
    cat "$tmp/first.out" >&2
    exit 1
}
echo "== examples/SessionOptionsExample.java (the README's recipe)"
java -cp "target/wsprune-0.4.0.jar:$(cat target/classpath.txt)" examples/SessionOptionsExample.java "$tmp/ws2" \
    >"$tmp/options.out"
grep -q '^opened chat-8 true$' "$tmp/options.out" && grep -q '^not adopted without asking$' "$tmp/options.out" &&
    test "$(stat -c %a "$tmp/ws2/chat-8")" = 750 && test -d "$tmp/ws2/.wsprune/sessions" &&
    test -f "$tmp/ws2/.wsprune/sessions/operator-dir" || {
    echo "SessionOptionsExample.java printed:" >&2
    cat "$tmp/options.out" >&2
    exit 1
}
echo "== examples/PinExample.java (the README's recipe)"
java -cp "target/wsprune-0.4.0.jar:$(cat target/classpath.txt)" examples/PinExample.java "$tmp/ws3" \
    >"$tmp/pins.out"
grep -q '^expiring {notebook-7=ttl}$' "$tmp/pins.out" && grep -q '"expires_at"' "$tmp/ws3/.wsprune/sessions/notebook-7" || {
    echo "PinExample.java printed:" >&2
    cat "$tmp/pins.out" >&2
    exit 1
}
echo "== Java binding: all checks passed"
