package wsprune

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stamp formats t as the library writes timestamps.
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// agedSessions creates one session per age (each with a payload of payload
// bytes), backdated by that age, and returns their ids in the same order.
func agedSessions(t *testing.T, root string, payload int, ages ...time.Duration) []string {
	t.Helper()
	now := time.Now()
	ids := make([]string, len(ages))
	for i, age := range ages {
		ids[i] = mustCreate(t, root)
		writeFile(t, filepath.Join(root, ids[i], "payload.bin"), bytes.Repeat([]byte{'p'}, payload))
		backdate(t, root, ids[i], stamp(now.Add(-age)))
	}
	return ids
}

func sessionSizes(t *testing.T, root string, ids ...string) uint64 {
	t.Helper()
	var n uint64
	for _, id := range ids {
		n += treeSize(t, filepath.Join(root, id))
	}
	return n
}

// wantRules checks that res deleted exactly the sessions of want, each by the rule given.
func wantRules(t *testing.T, what string, res *PruneResult, want map[string]string) {
	t.Helper()
	if !mapsEqual(res.DeletedRules, want) || len(res.Deleted) != len(want) {
		t.Fatalf("%s: deleted %v with rules %v, want %v", what, res.Deleted, res.DeletedRules, want)
	}
	for _, id := range res.Deleted {
		if _, ok := want[id]; !ok {
			t.Fatalf("%s: deleted %s, want %v", what, id, want)
		}
	}
}

func rules(rule string, ids ...string) map[string]string {
	m := map[string]string{}
	for _, id := range ids {
		m[id] = rule
	}
	return m
}

func TestPruneOptionsZeroValueIsTheLibraryDefault(t *testing.T) {
	root := newRoot(t)
	ids := agedSessions(t, root, 10, time.Second, 10*time.Hour, 48*time.Hour)
	// A size or count rule alone keeps the 24 h age rule beside it.
	res := mustPrune(t, root, PruneOptions{MaxSessions: 1, DryRun: true})
	want := rules(RuleMaxSessions, ids[1])
	want[ids[2]] = RuleOlderThan
	wantRules(t, "count rule with a zero OlderThan", res, want)
	// The zero value is the 24 h age rule, never "older than 0".
	for _, dry := range []bool{true, false} {
		res := mustPrune(t, root, PruneOptions{DryRun: dry})
		wantRules(t, "zero value", res, rules(RuleOlderThan, ids[2]))
	}
	// Every idle session, explicitly.
	res = mustPrune(t, root, PruneOptions{OlderThan: EveryIdleSession, DryRun: true})
	wantRules(t, "EveryIdleSession", res, rules(RuleOlderThan, ids[0], ids[1]))
	if len(res.UnmetTargets) != 0 || res.UnmetTargets == nil {
		t.Errorf("unmet targets %#v, want empty", res.UnmetTargets)
	}
}

func TestPruneMinAgeDefaultAndNoMinAge(t *testing.T) {
	root := newRoot(t)
	ids := agedSessions(t, root, 10, 30*time.Minute, 10*time.Minute)
	// MinAge 0 is the library's 1 h floor: neither session may go, and the cap is reported unmet.
	res := mustPrune(t, root, PruneOptions{NoAgeRule: true, MaxSessions: 1})
	wantRules(t, "default floor", res, nil)
	if !slices.Equal(res.UnmetTargets, []string{RuleMaxSessions}) {
		t.Errorf("unmet targets %v, want [max_sessions]", res.UnmetTargets)
	}
	if !strings.HasSuffix(res.Summary, "; target not reached: max_sessions") {
		t.Errorf("summary %q", res.Summary)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"unmet_targets":["max_sessions"]`) {
		t.Errorf("JSON %s", b)
	}
	// The target and the actual count, read from the result (never from events).
	if want := []UnmetTarget{{Rule: RuleMaxSessions, Target: 1, Actual: uint64(len(ids))}}; !slices.Equal(res.Unmet, want) {
		t.Errorf("unmet %+v, want %+v", res.Unmet, want)
	}
	// An explicit MinAge below it.
	res = mustPrune(t, root, PruneOptions{NoAgeRule: true, MaxSessions: 1, MinAge: 20 * time.Minute, DryRun: true})
	wantRules(t, "20 min floor", res, rules(RuleMaxSessions, ids[0]))
	// No floor at all.
	res = mustPrune(t, root, PruneOptions{NoAgeRule: true, MaxSessions: 1, NoMinAge: true})
	wantRules(t, "no floor", res, rules(RuleMaxSessions, ids[0]))
	if len(res.UnmetTargets) != 0 {
		t.Errorf("unmet targets %v after the cap was met", res.UnmetTargets)
	}
}

func TestPruneMaxTotalBytesEvictsOldestFirst(t *testing.T) {
	root := newRoot(t)
	// s[0] is the least recently used.
	s := agedSessions(t, root, 10_000, 5*time.Hour, 4*time.Hour, 3*time.Hour, 2*time.Hour, time.Hour)
	capBytes := sessionSizes(t, root, s[3], s[4]) + 100 // room for the two newest only
	opts := PruneOptions{NoAgeRule: true, MaxTotalBytes: capBytes, DryRun: true}

	dry := mustPrune(t, root, opts)
	wantRules(t, "dry run", dry, rules(RuleMaxTotalBytes, s[0], s[1], s[2]))
	if want := sessionSizes(t, root, s[0], s[1], s[2]); dry.ReclaimedBytes != want {
		t.Errorf("dry run reclaimed %d, want %d", dry.ReclaimedBytes, want)
	}
	for _, id := range s {
		if !exists(filepath.Join(root, id)) {
			t.Fatalf("dry run deleted %s", id)
		}
	}

	opts.DryRun = false
	res := mustPrune(t, root, opts)
	wantRules(t, "real", res, rules(RuleMaxTotalBytes, s[0], s[1], s[2]))
	if res.ReclaimedBytes != dry.ReclaimedBytes {
		t.Errorf("reclaimed %d, dry run said %d", res.ReclaimedBytes, dry.ReclaimedBytes)
	}
	for i, id := range s {
		if exists(filepath.Join(root, id)) != (i >= 3) {
			t.Errorf("session %d (%s): exists %v", i, id, exists(filepath.Join(root, id)))
		}
	}
	// Under the cap now: nothing more goes.
	res = mustPrune(t, root, opts)
	wantRules(t, "under the cap", res, nil)
}

func TestPruneCombinedRulesRecordTheirRule(t *testing.T) {
	root := newRoot(t)
	s := agedSessions(t, root, 10_000, 5*time.Hour, 4*time.Hour, 3*time.Hour, 2*time.Hour, time.Hour)
	// The age rule takes s[0]; the cap then needs s[1] and s[2] to go.
	opts := PruneOptions{
		OlderThan:     4*time.Hour + 30*time.Minute,
		MaxTotalBytes: sessionSizes(t, root, s[3], s[4]) + 100,
		DryRun:        true,
	}
	res := mustPrune(t, root, opts)
	want := rules(RuleMaxTotalBytes, s[1], s[2])
	want[s[0]] = RuleOlderThan
	wantRules(t, "age + size", res, want)

	// Count rule: keep the 2 most recently used.
	res = mustPrune(t, root, PruneOptions{NoAgeRule: true, MaxSessions: 2, DryRun: true})
	wantRules(t, "max sessions", res, rules(RuleMaxSessions, s[0], s[1], s[2]))

	// Free space: asking for more than any disk has evicts everything
	// evictable, and says the target is out of reach.
	res = mustPrune(t, root, PruneOptions{NoAgeRule: true, MinFreeBytes: math.MaxUint64, DryRun: true})
	wantRules(t, "min free bytes", res, rules(RuleMinFreeBytes, s...))
	if !slices.Equal(res.UnmetTargets, []string{RuleMinFreeBytes}) {
		t.Errorf("unmet targets %v, want [min_free_bytes]", res.UnmetTargets)
	}

	// MinAge is a floor for the size and count rules only.
	res = mustPrune(t, root, PruneOptions{NoAgeRule: true, MaxSessions: 1, MinAge: 150 * time.Minute, DryRun: true})
	wantRules(t, "max sessions with a floor", res, rules(RuleMaxSessions, s[0], s[1], s[2]))
	res = mustPrune(t, root, PruneOptions{OlderThan: 30 * time.Minute, MinAge: 150 * time.Minute, DryRun: true})
	wantRules(t, "the floor does not hold back the age rule", res, rules(RuleOlderThan, s...))

	// MaxDeletions: the oldest first, whatever the rule.
	res = mustPrune(t, root, PruneOptions{OlderThan: EveryIdleSession, MaxDeletions: 2, DryRun: true})
	wantRules(t, "max deletions", res, rules(RuleOlderThan, s[0], s[1]))
	res = mustPrune(t, root, PruneOptions{OlderThan: EveryIdleSession, MaxDeletions: 2})
	wantRules(t, "max deletions, real", res, rules(RuleOlderThan, s[0], s[1]))
	res = mustPrune(t, root, PruneOptions{NoAgeRule: true, MaxSessions: 1, MaxDeletions: 1})
	wantRules(t, "max sessions, max deletions", res, rules(RuleMaxSessions, s[2]))

	// No rule at all: nothing goes.
	res = mustPrune(t, root, PruneOptions{NoAgeRule: true})
	wantRules(t, "no rule", res, nil)
	if !exists(filepath.Join(root, s[3])) || !exists(filepath.Join(root, s[4])) {
		t.Fatal("the newest sessions were deleted")
	}
}

func TestPruneCapacityRulesSpareLeasedAndLegacy(t *testing.T) {
	root := newRoot(t)
	s := agedSessions(t, root, 10_000, 3*time.Hour, 2*time.Hour, time.Hour)
	legacy := "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	writeFile(t, filepath.Join(root, legacy, "old.bin"), make([]byte, 50_000))
	l, err := Acquire(root, s[0])
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(false)
	// A cap of 1 byte wants everything gone; the leased and the legacy session stay.
	res := mustPrune(t, root, PruneOptions{NoAgeRule: true, MaxTotalBytes: 1})
	wantRules(t, "cap with a lease", res, rules(RuleMaxTotalBytes, s[1], s[2]))
	if got := res.SkippedReasons(); got[s[0]] != ReasonInUse || got[legacy] != ReasonMissingMetadata {
		t.Errorf("skipped %v", got)
	}
	if !exists(filepath.Join(root, s[0])) || !exists(filepath.Join(root, legacy)) {
		t.Fatal("a leased or legacy session was evicted")
	}
}

// TestPruneJobs prunes two identical workspaces with 1 and with 8 workers:
// the results must be the same, and the prune must say it used that many.
func TestPruneJobs(t *testing.T) {
	now := time.Now()
	build := func() string {
		root := newRoot(t)
		for i := 0; i < 40; i++ {
			id := fmt.Sprintf("0f8fad5b-d9cb-469f-a165-%012x", i)
			if _, err := CreateSessionWithID(root, id); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(root, id, "d", "f.bin"), make([]byte, 100*i))
			backdate(t, root, id, stamp(now.Add(-time.Duration(i)*time.Hour)))
		}
		return root
	}
	c := collect(t)
	var results []*PruneResult
	for _, jobs := range []int{1, 8} {
		for _, dry := range []bool{true, false} {
			res := mustPrune(t, build(), PruneOptions{OlderThan: 10 * time.Hour, MaxSessions: 5, MaxDeletions: 30, Jobs: jobs, DryRun: dry})
			res.Summary = strings.Replace(res.Summary, "Would prune", "Pruned", 1)
			res.Summary = strings.Replace(res.Summary, "would reclaim", "reclaimed", 1)
			res.DryRun = false
			results = append(results, res)
		}
		started := c.named("session.prune.started", "")
		for _, e := range started[len(started)-2:] {
			if got := integer(t, e, "jobs"); got != int64(jobs) {
				t.Errorf("Jobs %d: the prune used %d workers", jobs, got)
			}
		}
	}
	first := results[0]
	if len(first.Deleted) != 30 {
		t.Fatalf("deleted %d sessions, want 30 (max deletions): %+v", len(first.Deleted), first)
	}
	for _, r := range results[1:] {
		if !slices.Equal(r.Deleted, first.Deleted) || !mapsEqual(r.DeletedRules, first.DeletedRules) ||
			r.ReclaimedBytes != first.ReclaimedBytes || r.Summary != first.Summary {
			t.Errorf("results differ:\n%+v\n%+v", first, r)
		}
	}
	// Sessions 10..39 are older than 10 hours (30 of them: all within the budget).
	for _, id := range first.Deleted {
		if first.DeletedRules[id] != RuleOlderThan {
			t.Errorf("%s deleted by %q", id, first.DeletedRules[id])
		}
	}
}

func TestPruneInterruptedDeletion(t *testing.T) {
	root := newRoot(t)
	keep := mustCreate(t, root)
	const id = "0f8fad5b-d9cb-469f-a165-70867728950e"
	trash := filepath.Join(root, ".wsprune-trash."+id+".1234.5678")
	writeFile(t, filepath.Join(trash, "half", "deleted.bin"), make([]byte, 777))
	size := treeSize(t, trash)
	res := mustPrune(t, root, PruneOptions{NoAgeRule: true})
	// Leftover trash is reported by its own name, never as a session.
	wantRules(t, "interrupted", res, map[string]string{})
	if !slices.Equal(res.Interrupted, []string{filepath.Base(trash)}) {
		t.Errorf("Interrupted = %q, want [%q]", res.Interrupted, filepath.Base(trash))
	}
	if exists(trash) || !exists(filepath.Join(root, keep)) {
		t.Fatalf("trash left %v, or the session deleted", exists(trash))
	}
	if res.ReclaimedBytes != size {
		t.Errorf("reclaimed %d, want %d", res.ReclaimedBytes, size)
	}
}

func TestPruneOptionsInvalid(t *testing.T) {
	root := newRoot(t)
	id := createOld(t, root)
	for name, opts := range map[string]PruneOptions{
		"negative Jobs":          {OlderThan: time.Hour, Jobs: -1},
		"negative MinAge":        {OlderThan: time.Hour, MinAge: -time.Minute},
		"negative OlderThan":     {OlderThan: -time.Hour, MaxSessions: 1},
		"NoMinAge with a MinAge": {MaxSessions: 1, MinAge: time.Hour, NoMinAge: true},
	} {
		_, err := Prune(root, opts)
		wantErr(t, name, err, ErrInvalidArgument, StatusInvalidArgument)
	}
	if math.MaxInt > math.MaxUint32 {
		_, err := Prune(root, PruneOptions{Jobs: int(uint64(math.MaxUint32) + 1)})
		wantErr(t, "Jobs > 2^32-1", err, ErrInvalidArgument, StatusInvalidArgument)
	}
	// The age rule off ignores OlderThan, negative or not.
	res := mustPrune(t, root, PruneOptions{NoAgeRule: true, OlderThan: -time.Hour, MaxSessions: 1})
	wantRules(t, "no age rule", res, nil)
	if !exists(filepath.Join(root, id)) {
		t.Fatal("an invalid prune deleted a session")
	}
}

func TestMillis(t *testing.T) {
	for d, want := range map[time.Duration]uint32{
		-time.Hour:              0,
		0:                       0,
		time.Nanosecond:         1,
		time.Millisecond:        1,
		1500 * time.Microsecond: 2,
		30 * time.Second:        30000,
		2000 * time.Hour:        math.MaxUint32,
		math.MaxInt64:           math.MaxUint32,
	} {
		if got := millis(d); got != want {
			t.Errorf("millis(%v) = %d, want %d", d, got, want)
		}
	}
}

// TestPruneLockTimeout holds the workspace lock (an exclusive flock on the
// root, as a running prune does) and checks how long Prune waits for it.
func TestPruneLockTimeout(t *testing.T) {
	root := newRoot(t)
	id := createOld(t, root)
	// The workspace lock is the host directory's lock file.
	dir, err := os.OpenFile(filepath.Join(root, ".wsprune", "lock"), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if err := syscall.Flock(int(dir.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Prune(root, PruneOptions{OlderThan: time.Hour, LockTimeout: -1})
	wantErr(t, "no wait", err, ErrBusy, StatusBusy)
	if d := time.Since(start); d > 10*time.Second { // waiting would be 30 s (the default); room for a loaded machine
		t.Errorf("LockTimeout < 0 waited %v", d)
	}
	start = time.Now()
	_, err = Prune(root, PruneOptions{OlderThan: time.Hour, LockTimeout: 300 * time.Millisecond})
	wantErr(t, "300 ms", err, ErrBusy, StatusBusy)
	if d := time.Since(start); d < 290*time.Millisecond || d > 5*time.Second {
		t.Errorf("LockTimeout 300ms waited %v", d)
	}
	// Released while a prune waits: it goes ahead.
	fd := int(dir.Fd())
	unlocked := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		unlocked <- syscall.Flock(fd, syscall.LOCK_UN)
	}()
	res, err := Prune(root, PruneOptions{OlderThan: time.Hour, LockTimeout: 10 * time.Second})
	if uerr := <-unlocked; uerr != nil {
		t.Fatal(uerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	wantRules(t, "after the lock was released", res, rules(RuleOlderThan, id))
}

func TestPruneResultJSONHasRules(t *testing.T) {
	root := newRoot(t)
	id := createOld(t, root)
	res := mustPrune(t, root, PruneOptions{OlderThan: time.Hour, DryRun: true})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"deleted_sessions":["` + id + `"],"deleted_rules":{"` + id + `":"older_than"}`; !strings.Contains(string(b), want) {
		t.Errorf("JSON %s lacks %s", b, want)
	}
	// Bytes and idle age of each deleted session, from the result.
	if d, ok := res.DeletedDetails[id]; !ok || d.Rule != RuleOlderThan || d.AgeHours < 1 || d.Bytes == 0 || d.Bytes != res.ReclaimedBytes {
		t.Errorf("details %+v (reclaimed %d)", res.DeletedDetails, res.ReclaimedBytes)
	}
}

func TestOptionsDefaults(t *testing.T) {
	c, err := newOptions()
	if err != nil {
		t.Fatal(err)
	}
	if n := uint64(c.struct_size); n != sizeofPruneOptions {
		t.Fatalf("struct_size %d, sizeof %d", n, sizeofPruneOptions)
	}
	if c.older_than_hours != 24 || !c.use_older_than || c.lock_timeout_ms != 30000 || c.jobs != 0 || c.dry_run ||
		c.min_age_hours != 1 {
		t.Errorf("defaults %+v", *c)
	}
	if time.Duration(float64(c.older_than_hours)*float64(time.Hour)) != DefaultOlderThan {
		t.Errorf("DefaultOlderThan %v disagrees with the library's %v h", DefaultOlderThan, c.older_than_hours)
	}
	// The zero PruneOptions leaves every default as the library set it.
	z, err := newOptions()
	if err != nil {
		t.Fatal(err)
	}
	if err := (PruneOptions{}).toC(z); err != nil {
		t.Fatal(err)
	}
	if *z != *c {
		t.Errorf("zero PruneOptions %+v, library defaults %+v", *z, *c)
	}
}
