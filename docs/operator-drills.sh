#!/usr/bin/env bash
# Needs root (mounts a tmpfs and a read-only bind mount), jq and timeout(1).
# Runs the four failure drills and prints each as Markdown.
set -u
W=${W:-target/debug/wsprune}
T=${T:-/tmp/wsprune-drills}; rm -rf "$T"; mkdir -p "$T"
mk() { # root n age_hours size
  for i in $(seq 1 $2); do id=$(cat /proc/sys/kernel/random/uuid); mkdir -p $1/$id; head -c $4 /dev/zero > $1/$id/data
    t=$(date -u -d "-$3 hours" +%Y-%m-%dT%H:%M:%S.000000Z); printf '{"session_id":"%s","created_at":"%s","updated_at":"%s"}' $id $t $t > $1/$id/.metadata.json; done; }
show() { # title, then command in "$@"; also journal form
  local out err rc j
  echo; echo '```console'; echo "\$ ${CMD}"
  "$@" >$T/out 2>$T/err; rc=$?
  cat $T/out; sed 's/^/[stderr] /' $T/err; echo "[exit $rc]"; echo '```'
}
journal() { # run with stdout+stderr being "the journal"
  : > $T/j; local m; m=$(stat -c '%d:%i' $T/j)
  JOURNAL_STREAM=$m "$@" >>$T/j 2>&1; local rc=$?
  echo; echo 'As the journal receives it (stdout and stderr connected to journald, `JOURNAL_STREAM` set):'; echo; echo '```text'; cat $T/j; echo "[exit $rc]"; echo '```'
}
echo "### 1. Full disk (a 2 MiB tmpfs, filled to the last block)"
mkdir -p $T/full; mount -t tmpfs -o size=2m tmpfs $T/full; mkdir $T/full/ws; mk $T/full/ws 4 48 102400
dd if=/dev/zero of=$T/full/filler bs=4k 2>/dev/null
CMD="wsprune prune $T/full/ws --json | jq '{free_bytes_before, free_bytes_after, reclaimed_bytes, exit_code}'"
show sh -c "$W prune $T/full/ws --json | jq -c '{free_bytes_before, free_bytes_after, reclaimed_bytes, exit_code}'"
dd if=/dev/zero of=$T/full/filler2 bs=4k 2>/dev/null
CMD="wsprune create $T/full/ws"
show $W create $T/full/ws
umount $T/full
echo "### 2. Read-only root (a read-only bind mount of a root holding 1,393 stale sessions)"
mkdir -p $T/src $T/ro; mk $T/src 1393 48 10; mount --bind $T/src $T/ro; mount -o remount,bind,ro $T/ro
CMD="wsprune prune $T/ro"; show $W prune $T/ro
CMD="wsprune prune $T/ro --json"; show $W prune $T/ro --json
journal $W prune $T/ro
umount $T/ro
echo "### 3. SIGTERM mid-prune (4,000 stale sessions of 64 KiB)"
mk $T/big 4000 48 65536
CMD="timeout --preserve-status -s TERM 0.3 wsprune prune $T/big --jobs 2 | tail -n 3"
show bash -c "timeout --preserve-status -s TERM 0.3 $W prune $T/big --jobs 2 | tail -n 3; exit \${PIPESTATUS[0]}"
echo; echo "Left behind: $(ls -A $T/big | wc -l) sessions, $(ls -A $T/big | grep -c '^\.wsprune-trash' ) trash directories."
CMD="timeout --preserve-status -s TERM 0.2 wsprune prune $T/big --json | jq -c '{signal, exit_code, deleted: (.deleted_sessions|length)}'"
show bash -c "timeout --preserve-status -s TERM 0.2 $W prune $T/big --json | jq -c '{signal, exit_code, deleted: (.deleted_sessions|length)}'; exit \${PIPESTATUS[0]}"
: > $T/j; m=$(stat -c '%d:%i' $T/j); (JOURNAL_STREAM=$m timeout --preserve-status -s TERM 0.1 $W prune $T/big -q >>$T/j 2>&1; echo "[exit $?]" >> $T/j)
echo; echo 'As the journal receives it (`-q`):'; echo; echo '```text'; cat $T/j; echo '```'
mkfiles() { for d in $1/*/; do for i in $(seq 1 $2); do : > $d/f$i; done; done; }
echo "### 4. Two prunes at once (the first is deleting 400 sessions of 300 files each; the second waits --lock-timeout 0.5s)"
mk $T/two 400 48 1; mkfiles $T/two 300
($W prune $T/two -q --jobs 1 >/dev/null 2>&1 &) ; sleep 0.1
CMD="wsprune prune $T/two --lock-timeout 0.5s"; show $W prune $T/two --lock-timeout 0.5s
journal $W prune $T/two --lock-timeout 0.5s --json
while pgrep -f "prune $T/two -q" >/dev/null; do sleep 0.2; done
rm -rf $T
