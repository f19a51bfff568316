package wsprune

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fill puts files of known sizes, a nested directory and a symlink into a session.
func fill(t *testing.T, root, id string, n int) {
	t.Helper()
	dir := filepath.Join(root, id)
	writeFile(t, filepath.Join(dir, "out.txt"), bytes.Repeat([]byte("x"), 1000+n))
	writeFile(t, filepath.Join(dir, "a", "b", "c", "deep.bin"), make([]byte, 4096*n+7))
	writeFile(t, filepath.Join(dir, "empty"), nil)
	if err := os.Mkdir(filepath.Join(dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A symlink counts itself (its own blocks), never its target.
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
}

func mustPrune(t *testing.T, root string, opts PruneOptions) *PruneResult {
	t.Helper()
	res, err := Prune(root, opts)
	if err != nil {
		t.Fatalf("Prune(%q, %+v): %v", root, opts, err)
	}
	if res.Deleted == nil || res.DeletedRules == nil || res.Skipped == nil || res.Errors == nil {
		t.Fatalf("nil slice or map in %#v", res)
	}
	if len(res.DeletedRules) != len(res.Deleted) {
		t.Fatalf("%d deleted sessions but %d rules: %#v", len(res.Deleted), len(res.DeletedRules), res)
	}
	for _, id := range res.Deleted {
		switch res.DeletedRules[id] {
		case RuleOlderThan, RuleMaxTotalBytes, RuleMaxSessions, RuleMinFreeBytes, RuleInterrupted:
		default:
			t.Fatalf("deleted %s by rule %q", id, res.DeletedRules[id])
		}
	}
	if res.DryRun != opts.DryRun {
		t.Fatalf("DryRun = %v, want %v", res.DryRun, opts.DryRun)
	}
	if res.String() != res.Summary || res.Summary == "" {
		t.Fatalf("String() %q, Summary %q", res.String(), res.Summary)
	}
	return res
}

func TestPruneOldVsRecent(t *testing.T) {
	root := newRoot(t)
	old := createOld(t, root)
	fill(t, root, old, 1)
	recent := mustCreate(t, root)
	fill(t, root, recent, 2)
	// Nine hours old: kept by a 24h prune, deleted by an 8h one.
	nine := mustCreate(t, root)
	backdate(t, root, nine, time.Now().UTC().Add(-9*time.Hour).Format("2006-01-02T15:04:05.000000Z"))
	// A timestamp in the future is never deleted.
	future := mustCreate(t, root)
	backdate(t, root, future, "2999-01-01T00:00:00.000000Z")
	// Things in the root that are not sessions are ignored, not reported.
	writeFile(t, filepath.Join(root, "notes.txt"), []byte("hi"))
	if err := os.Mkdir(filepath.Join(root, "not-a-session"), 0o755); err != nil {
		t.Fatal(err)
	}
	size := treeSize(t, filepath.Join(root, old))

	res := mustPrune(t, root, PruneOptions{OlderThan: DefaultOlderThan})
	if !slices.Equal(res.Deleted, []string{old}) || len(res.Skipped) != 0 || len(res.Errors) != 0 {
		t.Fatalf("24h prune: %+v", res)
	}
	if res.ReclaimedBytes != size {
		t.Errorf("ReclaimedBytes = %d, want %d", res.ReclaimedBytes, size)
	}
	if exists(filepath.Join(root, old)) {
		t.Error("old session still exists")
	}
	for _, keep := range []string{recent, nine, future, "notes.txt", "not-a-session"} {
		if !exists(filepath.Join(root, keep)) {
			t.Errorf("%s was deleted", keep)
		}
	}
	want := fmt.Sprintf("Pruned 1 session (0 skipped, 0 errors), reclaimed %.1f KB", float64(size)/1024)
	if res.String() != want {
		t.Errorf("summary %q, want %q", res, want)
	}

	// A custom threshold: 8h takes the nine-hour-old session.
	res = mustPrune(t, root, PruneOptions{OlderThan: 8 * time.Hour})
	if !slices.Equal(res.Deleted, []string{nine}) {
		t.Fatalf("8h prune: %+v", res)
	}
	// EveryIdleSession: everything not in the future.
	res = mustPrune(t, root, PruneOptions{OlderThan: EveryIdleSession})
	if !slices.Equal(res.Deleted, []string{recent}) || !exists(filepath.Join(root, future)) {
		t.Fatalf("0h prune: %+v", res)
	}
}

func TestPruneDryRunMatchesRealPrune(t *testing.T) {
	root := newRoot(t)
	var old []string
	var size uint64
	for i := 0; i < 3; i++ {
		id := createOld(t, root)
		fill(t, root, id, i)
		old = append(old, id)
		size += treeSize(t, filepath.Join(root, id))
	}
	recent := mustCreate(t, root)
	legacy := "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	if err := os.Mkdir(filepath.Join(root, legacy), 0o755); err != nil {
		t.Fatal(err)
	}

	dry := mustPrune(t, root, PruneOptions{OlderThan: DefaultOlderThan, DryRun: true})
	for _, id := range old {
		if !exists(filepath.Join(root, id)) {
			t.Fatalf("dry run deleted %s", id)
		}
		if got := readMetadata(t, root, id)["updated_at"]; got != oldStamp {
			t.Fatalf("dry run changed metadata of %s: %v", id, got)
		}
	}
	if !exists(filepath.Join(root, recent)) {
		t.Fatal("dry run deleted the recent session")
	}
	if !strings.HasPrefix(dry.Summary, "Would prune 3 sessions (1 skipped, 0 errors), would reclaim ") {
		t.Errorf("dry-run summary %q", dry.Summary)
	}

	real := mustPrune(t, root, PruneOptions{OlderThan: DefaultOlderThan})
	if !slices.Equal(sorted(dry.Deleted), sorted(old)) || !slices.Equal(sorted(real.Deleted), sorted(old)) {
		t.Fatalf("dry run %v, real %v, want %v", dry.Deleted, real.Deleted, old)
	}
	if dry.ReclaimedBytes != size || real.ReclaimedBytes != size {
		t.Fatalf("reclaimed: dry run %d, real %d, want %d", dry.ReclaimedBytes, real.ReclaimedBytes, size)
	}
	if !slices.Equal(dry.Skipped, real.Skipped) || !strings.HasPrefix(real.Summary, "Pruned 3 sessions (1 skipped, 0 errors), reclaimed ") {
		t.Errorf("dry run %+v, real %+v", dry, real)
	}
	for _, id := range old {
		if exists(filepath.Join(root, id)) {
			t.Errorf("%s survived the real prune", id)
		}
	}
}

func TestPruneSkipsWhatItCannotJudge(t *testing.T) {
	root := newRoot(t)
	legacy := "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	if err := os.MkdirAll(filepath.Join(root, legacy), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, legacy, "data.txt"), []byte("legacy work"))
	corrupted := unregistered(t, root)
	writeFile(t, metadataPath(root, corrupted), []byte("{this is not json"))
	badStamp := unregistered(t, root)
	writeFile(t, metadataPath(root, badStamp), []byte(`{"session_id":"`+badStamp+`","created_at":"yesterday","updated_at":"a while ago","version":1}`))
	leased := createOld(t, root)
	l, err := Acquire(root, leased)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(false)

	want := map[string]string{
		legacy:    ReasonMissingMetadata,
		corrupted: ReasonCorruptedMetadata,
		badStamp:  ReasonCorruptedTimestamp,
		leased:    ReasonInUse,
	}
	for _, dry := range []bool{true, false} {
		res := mustPrune(t, root, PruneOptions{DryRun: dry})
		if len(res.Deleted) != 0 || len(res.Errors) != 0 || res.ReclaimedBytes != 0 {
			t.Fatalf("dry run %v: %+v", dry, res)
		}
		if got := res.SkippedReasons(); len(res.Skipped) != len(want) || !mapsEqual(got, want) {
			t.Fatalf("dry run %v: skipped %v, want %v", dry, got, want)
		}
		if !strings.Contains(res.Summary, "(4 skipped, 0 errors)") {
			t.Errorf("summary %q", res.Summary)
		}
	}
	for id := range want {
		if !exists(filepath.Join(root, id)) {
			t.Errorf("skipped session %s was deleted", id)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPruneReclaimedBytesExact(t *testing.T) {
	root := newRoot(t)
	id := createOld(t, root)
	dir := filepath.Join(root, id)
	for i, n := range []int{0, 1, 511, 4096, 100_003} {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("d%d", i%2), fmt.Sprintf("f%d", i)), make([]byte, n))
	}
	if err := os.Symlink("../../somewhere/else", filepath.Join(dir, "d0", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "d1", "f3"), filepath.Join(dir, "d0", "f3-again")); err != nil {
		t.Fatal(err)
	}
	// What du says the session takes (allocated blocks, each inode once).
	out, err := exec.Command("du", "-sB1", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	want, err := strconv.ParseUint(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if got := treeSize(t, dir); got != want {
		t.Fatalf("test bookkeeping: treeSize %d, du %d", got, want)
	}
	dry := mustPrune(t, root, PruneOptions{OlderThan: time.Hour, DryRun: true})
	res := mustPrune(t, root, PruneOptions{OlderThan: time.Hour})
	if dry.ReclaimedBytes != want || res.ReclaimedBytes != want {
		t.Fatalf("reclaimed: dry run %d, real %d, want %d", dry.ReclaimedBytes, res.ReclaimedBytes, want)
	}
}

func TestPruneMissingRoot(t *testing.T) {
	res := mustPrune(t, filepath.Join(t.TempDir(), "nope"), PruneOptions{OlderThan: time.Hour})
	if len(res.Deleted)+len(res.Skipped)+len(res.Errors) != 0 || res.ReclaimedBytes != 0 {
		t.Fatalf("%+v", res)
	}
	if res.Summary != "Pruned 0 sessions (0 skipped, 0 errors), reclaimed 0 B" {
		t.Errorf("summary %q", res.Summary)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"deleted_sessions":[],"deleted_rules":{},"skipped_sessions":[],"reclaimed_bytes":0,"errors":{},"interrupted":[],"dry_run":false,"summary":"Pruned 0 sessions (0 skipped, 0 errors), reclaimed 0 B","unmet_targets":[],"deleted_details":{},"interrupted_bytes":{},"unmet":[]}`
	if string(b) != wantJSON {
		t.Errorf("JSON %s", b)
	}
}

// TestPruneRecordsPerSessionErrors puts a bind mount inside a stale session:
// the library refuses to descend into it, records an error for that session,
// and carries on with the others. Needs root (CAP_SYS_ADMIN).
func TestPruneRecordsPerSessionErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind-mount")
	}
	root := newRoot(t)
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "precious.txt"), []byte("must survive"))
	bad := createOld(t, root)
	good := createOld(t, root)
	mnt := filepath.Join(root, bad, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(outside, mnt, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount here: %v", err)
	}
	t.Cleanup(func() {
		// The session may have been moved to a trash name: unmount wherever it is.
		paths, _ := filepath.Glob(filepath.Join(root, "*", "mnt"))
		for _, p := range paths {
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
		}
	})
	res := mustPrune(t, root, PruneOptions{OlderThan: time.Hour})
	if !slices.Contains(res.Deleted, good) || slices.Contains(res.Deleted, bad) {
		t.Errorf("deleted %v", res.Deleted)
	}
	if msg := res.Errors[bad]; msg == "" || len(res.Errors) != 1 {
		t.Errorf("errors %v, want one for %s", res.Errors, bad)
	}
	t.Logf("error for the session with a mount: %s", res.Errors[bad])
	if !strings.Contains(res.Summary, "1 error)") {
		t.Errorf("summary %q", res.Summary)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "precious.txt")); err != nil || string(b) != "must survive" {
		t.Fatalf("the prune reached through the mount: %q %v", b, err)
	}
}

// TestConcurrentTouchAndPrune has goroutines touching (and leasing) sessions
// while another prunes repeatedly. Sessions touched before the pruner starts
// must survive; stale untouched ones must go; contested ones (stale, touched
// concurrently) may go either way, but never half: a surviving session has
// valid metadata, a deleted one is gone, and nothing is deleted twice.
func TestConcurrentTouchAndPrune(t *testing.T) {
	root := newRoot(t)
	c := collect(t) // events arrive concurrently on every goroutine's thread
	var protected, doomed, contested []string
	for i := 0; i < 4; i++ {
		protected = append(protected, mustCreate(t, root))
		doomed = append(doomed, createOld(t, root))
		contested = append(contested, createOld(t, root))
	}
	for _, id := range doomed {
		fill(t, root, id, 1)
	}

	stop := make(chan struct{})
	var workers sync.WaitGroup
	var mu sync.Mutex
	var unexpected []error
	fail := func(err error) {
		mu.Lock()
		unexpected = append(unexpected, err)
		mu.Unlock()
	}
	for g := 0; g < 4; g++ {
		workers.Add(1)
		go func(g int) {
			defer workers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := Touch(root, protected[(g+i)%len(protected)]); err != nil {
					fail(fmt.Errorf("touch of a protected session: %w", err))
				}
				if err := Touch(root, contested[(g+i)%len(contested)]); err != nil && !errors.Is(err, ErrNotFound) {
					fail(fmt.Errorf("touch of a contested session: %w", err))
				}
				if g == 0 {
					l, err := Acquire(root, protected[i%len(protected)])
					if err != nil {
						fail(fmt.Errorf("acquire: %w", err))
						continue
					}
					if err := l.Release(i%2 == 0); err != nil {
						fail(fmt.Errorf("release: %w", err))
					}
				}
			}
		}(g)
	}

	deletedBy := map[string]int{}
	var pruner sync.WaitGroup
	pruner.Add(1)
	go func() {
		defer pruner.Done()
		for i := 0; i < 40; i++ {
			res, err := Prune(root, PruneOptions{OlderThan: time.Hour, DryRun: i%5 == 4})
			if err != nil {
				fail(fmt.Errorf("prune: %w", err))
				return
			}
			if len(res.Errors) != 0 {
				fail(fmt.Errorf("prune errors: %v", res.Errors))
			}
			if !res.DryRun {
				for _, id := range res.Deleted {
					deletedBy[id]++
				}
			}
		}
	}()
	pruner.Wait()
	close(stop)
	workers.Wait()

	for _, err := range unexpected {
		t.Error(err)
	}
	for id, n := range deletedBy {
		if n != 1 {
			t.Errorf("%s deleted %d times", id, n)
		}
	}
	for _, id := range protected {
		if deletedBy[id] != 0 || !exists(filepath.Join(root, id)) {
			t.Errorf("protected session %s was deleted", id)
		}
		readMetadata(t, root, id)
	}
	for _, id := range doomed {
		if deletedBy[id] != 1 || exists(filepath.Join(root, id)) {
			t.Errorf("stale session %s was not deleted", id)
		}
	}
	for _, id := range contested {
		gone := !exists(filepath.Join(root, id))
		if gone != (deletedBy[id] == 1) {
			t.Errorf("contested session %s: gone %v, reported deleted %d times", id, gone, deletedBy[id])
		}
		if !gone {
			readMetadata(t, root, id) // parses
			wantErrNil(t, Touch(root, id))
		} else {
			wantErr(t, "touch of a pruned session", Touch(root, id), ErrNotFound, StatusNotFound)
		}
	}
	// Nothing but sessions is left in the root (no trash directories).
	for _, name := range rootNames(t, root) {
		if !uuidV4.MatchString(name) {
			t.Errorf("left in the root: %s", name)
		}
	}
	if len(c.named("session.prune.completed", "")) != 40 {
		t.Errorf("got %d session.prune.completed events, want 40", len(c.named("session.prune.completed", "")))
	}
}

func wantErrNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}
