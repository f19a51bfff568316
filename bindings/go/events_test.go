package wsprune

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPruneEvents(t *testing.T) {
	root := newRoot(t)
	c := collect(t)
	old := createOld(t, root)
	fill(t, root, old, 1)
	size := treeSize(t, filepath.Join(root, old))
	legacy := "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	if err := os.Mkdir(filepath.Join(root, legacy), 0o755); err != nil {
		t.Fatal(err)
	}
	recent := mustCreate(t, root)

	created := c.one(t, "session.metadata.created", recent)
	if created.Level != LevelInfo {
		t.Errorf("created: %v", created)
	}
	if _, err := time.Parse(time.RFC3339Nano, created.Fields["created_at"].(string)); err != nil {
		t.Errorf("created_at: %v", err)
	}

	res := mustPrune(t, root, PruneOptions{OlderThan: 24 * time.Hour})

	started := c.one(t, "session.prune.started", "")
	if started.Level != LevelInfo || num(t, started, "threshold_hours") != 24 ||
		started.Fields["workspace_root"] != root || started.Fields["dry_run"] != false {
		t.Errorf("started: %v", started)
	}
	candidate := c.one(t, "session.prune.candidate", old)
	if candidate.Level != LevelDebug || num(t, candidate, "threshold_hours") != 24 ||
		num(t, candidate, "age_hours") < 24*365*4 {
		t.Errorf("candidate: %v", candidate)
	}
	if len(c.named("session.prune.candidate", recent)) != 0 {
		t.Error("a recent session was a candidate")
	}
	deleted := c.one(t, "session.prune.deleted", old)
	if deleted.Level != LevelInfo || integer(t, deleted, "reclaimed_bytes") != int64(size) ||
		num(t, deleted, "age_hours") < 24*365*4 {
		t.Errorf("deleted: %v (want %d bytes)", deleted, size)
	}
	skipped := c.one(t, "session.prune.skipped", legacy)
	if skipped.Level != LevelInfo || skipped.Fields["reason"] != ReasonMissingMetadata {
		t.Errorf("skipped: %v", skipped)
	}
	completed := c.one(t, "session.prune.completed", "")
	if completed.Level != LevelInfo || integer(t, completed, "deleted_count") != 1 ||
		integer(t, completed, "skipped_count") != 1 || integer(t, completed, "error_count") != 0 ||
		integer(t, completed, "reclaimed_bytes") != int64(res.ReclaimedBytes) || completed.Fields["dry_run"] != false {
		t.Errorf("completed: %v", completed)
	}

	// Order: started first, completed last.
	var names []string
	for _, e := range c.all() {
		if strings.HasPrefix(e.Name, "session.prune.") {
			names = append(names, e.Name)
		}
	}
	if names[0] != "session.prune.started" || names[len(names)-1] != "session.prune.completed" {
		t.Errorf("order %v", names)
	}

	// A dry run says so in its events.
	stale := createOld(t, root)
	mustPrune(t, root, PruneOptions{OlderThan: time.Hour, DryRun: true})
	if e := c.one(t, "session.prune.deleted", stale); e.Fields["dry_run"] != true {
		t.Errorf("dry-run deleted event %v", e)
	}
	if e := c.named("session.prune.completed", ""); e[len(e)-1].Fields["dry_run"] != true {
		t.Errorf("dry-run completed event %v", e)
	}
}

func TestSetLoggerReplaceAndOff(t *testing.T) {
	root := newRoot(t)
	id := mustCreate(t, root)
	var a, b []string
	SetLogger(func(e Event) { a = append(a, e.Name) }) // Touch runs the callback on this goroutine
	wantErrNil(t, Touch(root, id))
	SetLogger(func(e Event) { b = append(b, e.Name) })
	wantErrNil(t, Touch(root, id))
	SetLogger(nil)
	wantErrNil(t, Touch(root, id))
	SetLogger(nil) // twice is fine
	if len(a) != 1 || len(b) != 1 || a[0] != "session.metadata.updated" {
		t.Errorf("first logger got %v, second %v", a, b)
	}
}

func TestLoggerMayCallTheLibrary(t *testing.T) {
	root := newRoot(t)
	id := mustCreate(t, root)
	var calls int
	SetLogger(func(e Event) {
		calls++
		_ = Version()
		SetLogger(nil) // documented as allowed from inside a callback
	})
	t.Cleanup(func() { SetLogger(nil) })
	wantErrNil(t, Touch(root, id))
	wantErrNil(t, Touch(root, id))
	if calls != 1 {
		t.Errorf("logger called %d times, want 1", calls)
	}
}

func TestLoggerPanicIsContained(t *testing.T) {
	root := newRoot(t)
	id := mustCreate(t, root)
	var reported []string
	saved := reportLoggerPanic
	reportLoggerPanic = func(e Event, v any) { reported = append(reported, e.Name+": "+v.(string)) }
	t.Cleanup(func() { SetLogger(nil); reportLoggerPanic = saved })
	SetLogger(func(Event) { panic("boom") })
	wantErrNil(t, Touch(root, id))
	if len(reported) != 1 || reported[0] != "session.metadata.updated: boom" {
		t.Errorf("reported %v", reported)
	}
}

// TestSetLoggerWhileEmitting replaces the logger over and over while other
// goroutines produce events, so that calls of a just-replaced logger race
// with the deletion of its handle. Nothing may crash, and once the last
// SetLogger returned, only the last logger gets events.
func TestSetLoggerWhileEmitting(t *testing.T) {
	root := newRoot(t)
	ids := []string{mustCreate(t, root), mustCreate(t, root)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := Touch(root, ids[g%2]); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	var total atomic.Int64
	SetLogger(func(Event) { total.Add(1) })
	for total.Load() == 0 { // wait for the touchers to run
		time.Sleep(time.Millisecond)
	}
	for i, deadline := 0, time.Now().Add(300*time.Millisecond); time.Now().Before(deadline); i++ {
		SetLogger(func(Event) { total.Add(1) })
		if i%10 == 0 {
			SetLogger(nil)
		}
	}
	var last atomic.Int64
	var retiredCalls atomic.Int64
	SetLogger(func(Event) { retiredCalls.Add(1) })
	SetLogger(func(Event) { last.Add(1) })
	before := retiredCalls.Load()
	time.Sleep(50 * time.Millisecond)
	after := retiredCalls.Load()
	close(stop)
	wg.Wait()
	SetLogger(nil)
	if last.Load() == 0 {
		t.Error("the last logger got no events")
	}
	// A call already running when SetLogger returned may still finish, but
	// none may start later: allow the in-flight ones (at most one per goroutine).
	if after-before > 3 {
		t.Errorf("a replaced logger got %d new calls", after-before)
	}
	t.Logf("%d events delivered to short-lived loggers, %d dropped as late", total.Load(), droppedEvents.Load())
}

func TestLookupOfADeletedHandle(t *testing.T) {
	h := cgo.NewHandle(&logger{fn: func(Event) {}})
	if lookupLogger(h) == nil {
		t.Fatal("live handle not found")
	}
	h.Delete()
	if lookupLogger(h) != nil || lookupLogger(0) != nil {
		t.Fatal("a deleted handle must give nil")
	}
}

func TestDecodeFields(t *testing.T) {
	f := decodeFields(`{"reclaimed_bytes":18446744073709551615,"age_hours":null,"dry_run":true,"session_id":"x"}`)
	if f["reclaimed_bytes"] != json.Number("18446744073709551615") || f["age_hours"] != nil ||
		f["dry_run"] != true || f["session_id"] != "x" {
		t.Errorf("%#v", f)
	}
	if f := decodeFields("not json"); f["fields_json"] != "not json" {
		t.Errorf("%#v", f)
	}
	e := Event{Level: LevelWarning, Name: "session.metadata.corrupted", Fields: map[string]any{"b": json.Number("2"), "a": "x"}}
	if got := e.String(); got != `warning session.metadata.corrupted {"a":"x","b":2}` {
		t.Errorf("Event.String() = %s", got)
	}
}

func TestSlogLogger(t *testing.T) {
	root := newRoot(t)
	var mu sync.Mutex
	var buf bytes.Buffer
	h := slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelInfo})
	SetLogger(SlogLogger(slog.New(h)))
	t.Cleanup(func() { SetLogger(nil) })
	id := mustCreate(t, root)
	wantErrNil(t, Touch(root, id)) // debug: filtered out
	SetLogger(nil)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "level=INFO msg=session.metadata.created created_at=") ||
		!strings.Contains(out, "session_id="+id) || strings.Contains(out, "session.metadata.updated") {
		t.Errorf("slog output:\n%s", out)
	}
	for l, want := range map[Level]slog.Level{LevelDebug: slog.LevelDebug, LevelInfo: slog.LevelInfo, LevelWarning: slog.LevelWarn, LevelError: slog.LevelError} {
		if l.SlogLevel() != want {
			t.Errorf("%v.SlogLevel() = %v", l, l.SlogLevel())
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
