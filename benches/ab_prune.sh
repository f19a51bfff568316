#!/usr/bin/env bash
# Side by side, in one run: the prune and the dry run of two wsprune
# binaries (before and after a change) on the same workload, alternating,
# ROUNDS times each; prints the median seconds of each and the ratio
# after/before. Not part of `make bench` (docs/performance.md records runs).
#
#   bash benches/ab_prune.sh BEFORE_WSPRUNE AFTER_WSPRUNE [SESSIONS] [ROUNDS] [DIR]
#
# Workload: SESSIONS stale sessions (default 300), each with 40 small files
# (0 to 4 KiB) at the top and 160 in vendor/pkgNN/src/util trees, written
# once as a template under DIR (default /tmp) and copied (cp -a) before
# every run, outside the timing.
set -euo pipefail
before=$1 after=$2 sessions=${3:-300} rounds=${4:-5} dir=${5:-/tmp}
work=$(mktemp -d "$dir/wsprune-ab.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 - "$work/template" "$sessions" <<'EOF'
import os, random, sys, uuid
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(17)
os.makedirs(root)
for _ in range(n):
    sid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    d = os.path.join(root, sid)
    os.makedirs(d)
    with open(os.path.join(d, ".metadata.json"), "w") as f:
        f.write('{"session_id": "%s", "created_at": "2020-01-01T00:00:00.000000Z", '
                '"updated_at": "2020-01-01T00:00:00.000000Z", "version": 1}\n' % sid)
    for i in range(40):
        with open(os.path.join(d, "f%d" % i), "wb") as f:
            f.write(b"x" * rnd.randrange(4096))
    for p in range(8):
        sub = os.path.join(d, "vendor", "pkg%02d" % p, "src", "util")
        os.makedirs(sub)
        for i in range(20):
            with open(os.path.join(sub, "m%d.py" % i), "wb") as f:
                f.write(b"y" * rnd.randrange(4096))
EOF
run() { # binary, extra args: prints seconds
    rm -rf "$work/ws"
    cp -a "$work/template" "$work/ws"
    sync
    local t0 t1
    t0=$(date +%s.%N)
    "$1" prune "$work/ws" --older-than 1d --jobs 1 "${@:2}" >/dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A times
for _ in $(seq "$rounds"); do
    for which in before after; do
        bin=$before; [ "$which" = after ] && bin=$after
        times[$which-prune]+="$(run "$bin") "
        times[$which-dry]+="$(run "$bin" --dry-run) "
    done
done
for what in prune dry; do
    b=$(tr ' ' '\n' <<<"${times[before-$what]}" | grep . | median)
    a=$(tr ' ' '\n' <<<"${times[after-$what]}" | grep . | median)
    printf '%-6s before %.3f s  after %.3f s  after/before %.2f\n' "$what" "$b" "$a" "$(echo "$a / $b" | bc -l)"
done
