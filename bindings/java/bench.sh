#!/usr/bin/env bash
# One touch and one create through the Java binding vs through C, side by side
# in one run (docs/binding-benchmarks.md, "Java binding"). Not part of `make test`.
#
#   bash bindings/java/bench.sh [SESSIONS [TOUCHES [ROUNDS]]]   (defaults 1000 20000 6)
#
# Installs the library into target/bench/prefix (make install), compiles
# bench/touch_create.c against it and the binding (Maven), then alternates C and Java runs ROUNDS
# times, each in a fresh directory under target/, and prints the median over
# rounds of each run's median latency and the Java/C ratio.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
sessions="${1:-1000}" touches="${2:-20000}" rounds="${3:-6}"

out="$here/target/bench"
rm -rf "$out" && mkdir -p "$out"
make -C "$repo" --no-print-directory install PREFIX="$out/prefix" >/dev/null
lib="$out/prefix/lib"
cc -O2 -o "$out/touch_create" "$here/bench/touch_create.c" -I"$out/prefix/include" -L"$lib" -lwsprune -Wl,-rpath,"$lib"
(cd "$here" && mvn -q -B -Dstyle.color=never test-compile dependency:build-classpath \
    -Dmdep.outputFile="$out/classpath.txt" -DincludeScope=runtime 2>&1 | sed 's/\x1b\[0m//g')
cp="$here/target/classes:$here/target/test-classes:$(cat "$out/classpath.txt")"

run_c() {
    "$out/touch_create" "$out/c$1" "$sessions" "$touches" >>"$out/c.txt"
    rm -rf "$out/c$1"
}
run_java() {
    WSPRUNE_LIBRARY="$lib/libwsprune.so" java -cp "$cp" dev.wsprune.TouchCreateBench \
        "$out/java$1" "$sessions" "$touches" >>"$out/java.txt"
    rm -rf "$out/java$1"
}
# The order alternates so that neither side always runs right after the
# other's clean-up (the filesystem's deferred work).
for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then run_c "$r"; run_java "$r"; else run_java "$r"; run_c "$r"; fi
done

med() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
c_create=$(cut -d' ' -f1 "$out/c.txt" | med); c_touch=$(cut -d' ' -f2 "$out/c.txt" | med)
j_create=$(cut -d' ' -f1 "$out/java.txt" | med); j_touch=$(cut -d' ' -f2 "$out/java.txt" | med)
echo "C per run (create_ns touch_ns): $(tr '\n' ' ' <"$out/c.txt")"
echo "Java per run (create_ns touch_ns): $(tr '\n' ' ' <"$out/java.txt")"
echo "$rounds rounds, $sessions creates and $touches touches per run; median of per-run medians:"
echo "| op | C (µs) | Java (µs) | Java / C |"
echo "| --- | --- | --- | --- |"
awk -v c="$c_touch" -v j="$j_touch" 'BEGIN {printf "| touch | %.1f | %.1f | %.2fx |\n", c/1000, j/1000, j/c}'
awk -v c="$c_create" -v j="$j_create" 'BEGIN {printf "| create | %.1f | %.1f | %.2fx |\n", c/1000, j/1000, j/c}'
