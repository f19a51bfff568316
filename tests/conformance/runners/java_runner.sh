#!/usr/bin/env bash
# The Java surface's conformance runner (tests/conformance/PROTOCOL.md): speaks
# the request/response line protocol on stdin/stdout through the Java binding
# (bindings/java; class dev.wsprune.ConformanceRunner in its test sources).
#
#   bash tests/conformance/runners/java_runner.sh < requests.jsonl
#
# It starts the JVM on the classes that the binding's build compiled
# (`make test-java`, or in bindings/java: mvn -q -B test-compile
# dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
# -DincludeScope=runtime). Only when they are missing does it run that
# Maven command itself, output on stderr so that stdout carries responses.
# The library: $WSPRUNE_LIBRARY if set, else the loader path (LD_LIBRARY_PATH,
# jna.library.path), else this checkout's target/release/libwsprune.so.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
java_dir="$repo/bindings/java"
cp_file="$java_dir/target/classpath.txt"

if [ ! -f "$cp_file" ] || [ ! -f "$java_dir/target/test-classes/dev/wsprune/ConformanceRunner.class" ]; then
    (cd "$java_dir" && mvn -q -B -Dstyle.color=never test-compile dependency:build-classpath \
        -Dmdep.outputFile="$cp_file" -DincludeScope=runtime) >&2
fi

if [ -z "${WSPRUNE_LIBRARY:-}" ] && [ -z "${LD_LIBRARY_PATH:-}" ] \
    && [ -f "$repo/target/release/libwsprune.so" ]; then
    export WSPRUNE_LIBRARY="$repo/target/release/libwsprune.so"
fi
exec java -cp "$java_dir/target/classes:$java_dir/target/test-classes:$(cat "$cp_file")" \
    dev.wsprune.ConformanceRunner
