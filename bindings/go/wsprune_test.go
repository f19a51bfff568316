package wsprune

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestVersion(t *testing.T) {
	if v := Version(); !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Fatalf("Version() = %q, want a semantic version", v)
	}
}

func TestStatusString(t *testing.T) {
	want := map[Status]string{
		StatusOK:               "WSPRUNE_STATUS_OK",
		StatusInvalidArgument:  "WSPRUNE_STATUS_INVALID_ARGUMENT",
		StatusInvalidSessionID: "WSPRUNE_STATUS_INVALID_SESSION_ID",
		StatusNotFound:         "WSPRUNE_STATUS_NOT_FOUND",
		StatusAlreadyExists:    "WSPRUNE_STATUS_ALREADY_EXISTS",
		StatusBusy:             "WSPRUNE_STATUS_BUSY",
		StatusIO:               "WSPRUNE_STATUS_IO",
		StatusPanic:            "WSPRUNE_STATUS_PANIC",
		8:                      "WSPRUNE_STATUS_UNKNOWN",
		-1:                     "WSPRUNE_STATUS_UNKNOWN",
		1 << 40:                "WSPRUNE_STATUS_UNKNOWN",
		-1 << 31:               "WSPRUNE_STATUS_UNKNOWN",
		1<<31 - 1:              "WSPRUNE_STATUS_UNKNOWN",
	}
	for s, name := range want {
		if got := s.String(); got != name {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), got, name)
		}
	}
}

func TestLevelString(t *testing.T) {
	for l, name := range map[Level]string{LevelDebug: "debug", LevelInfo: "info", LevelWarning: "warning", LevelError: "error", 9: "level(9)"} {
		if got := l.String(); got != name {
			t.Errorf("Level(%d).String() = %q, want %q", int(l), got, name)
		}
	}
}

func TestErrorType(t *testing.T) {
	sentinels := map[Status]error{
		StatusInvalidArgument:  ErrInvalidArgument,
		StatusInvalidSessionID: ErrInvalidSessionID,
		StatusNotFound:         ErrNotFound,
		StatusAlreadyExists:    ErrAlreadyExists,
		StatusBusy:             ErrBusy,
		StatusIO:               ErrIO,
		StatusPanic:            ErrPanic,
	}
	for st, sentinel := range sentinels {
		err := error(&Error{Status: st, Message: "boom"})
		if !errors.Is(err, sentinel) {
			t.Errorf("status %v does not match its sentinel", st)
		}
		for other, s := range sentinels {
			if other != st && errors.Is(err, s) {
				t.Errorf("status %v matches the sentinel of %v", st, other)
			}
		}
		if !errors.Is(err, &Error{Status: st}) || errors.Is(err, &Error{Status: st, Message: "other"}) {
			t.Errorf("status %v: Is(&Error{...}) is wrong", st)
		}
		if err.Error() != "wsprune: boom" {
			t.Errorf("Error() = %q", err.Error())
		}
	}
	if (&Error{Status: 42}).Unwrap() != nil {
		t.Error("an unknown status must not wrap a sentinel")
	}
	if got := (&Error{Status: StatusBusy}).Error(); got != "wsprune: WSPRUNE_STATUS_BUSY" {
		t.Errorf("Error() without a message = %q", got)
	}
}

// wantErr checks that err is an *Error with status st wrapping sentinel and
// carrying the library's (non-empty) message.
func wantErr(t *testing.T, what string, err error, sentinel error, st Status) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: err = %v, want %v", what, err, sentinel)
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("%s: %T is not an *Error", what, err)
		return
	}
	if e.Status != st || e.Message == "" {
		t.Errorf("%s: got status %v message %q, want status %v and a message", what, e.Status, e.Message, st)
	}
}

func TestCreateSession(t *testing.T) {
	root := newRoot(t)
	c := collect(t)
	id, err := CreateSession(root)
	if err != nil {
		t.Fatal(err)
	}
	if !uuidV4.MatchString(id) {
		t.Fatalf("id %q is not a lower-case UUIDv4", id)
	}
	info, err := os.Stat(metadataPath(root, id))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("metadata mode %v, want 0600", info.Mode().Perm())
	}
	m := readMetadata(t, root, id)
	if m["session_id"] != id || m["created_at"] != m["updated_at"] || m["version"] != 1.0 {
		t.Errorf("metadata %v", m)
	}
	created, err := time.Parse(time.RFC3339Nano, m["created_at"].(string))
	if err != nil || time.Since(created) > time.Minute || time.Since(created) < -time.Minute {
		t.Errorf("created_at %v (%v) is not now", m["created_at"], err)
	}
	e := c.one(t, "session.metadata.created", id)
	if e.Level != LevelInfo || e.Fields["created_at"] != m["created_at"] {
		t.Errorf("event %v, metadata %v", e, m)
	}

	other, err := CreateSession(root)
	if err != nil || other == id {
		t.Fatalf("second CreateSession = %q, %v", other, err)
	}
}

func TestCreateSessionWithID(t *testing.T) {
	root := newRoot(t)
	const id = "0f8fad5b-d9cb-469f-a165-70867728950e"
	if _, err := CreateSessionWithID(root, id); err != nil {
		t.Fatal(err)
	}
	if got := readMetadata(t, root, id)["session_id"]; got != id {
		t.Errorf("session_id %v", got)
	}
	_, err := CreateSessionWithID(root, id)
	wantErr(t, "duplicate", err, ErrAlreadyExists, StatusAlreadyExists)
	if !strings.Contains(err.Error(), id) {
		t.Errorf("message %q does not name the session", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	root := newRoot(t)
	valid := mustCreate(t, root)

	// Empty roots and roots with a NUL byte.
	for _, r := range []string{"", root + "\x00/etc"} {
		_, err := CreateSession(r)
		wantErr(t, "CreateSession("+r+")", err, ErrInvalidArgument, StatusInvalidArgument)
		_, err = CreateSessionWithID(r, valid)
		wantErr(t, "CreateSessionWithID", err, ErrInvalidArgument, StatusInvalidArgument)
		wantErr(t, "Touch", Touch(r, valid), ErrInvalidArgument, StatusInvalidArgument)
		_, err = Acquire(r, valid)
		wantErr(t, "Acquire", err, ErrInvalidArgument, StatusInvalidArgument)
		_, err = Prune(r, PruneOptions{OlderThan: time.Hour})
		wantErr(t, "Prune", err, ErrInvalidArgument, StatusInvalidArgument)
	}

	// Ids that are neither UUIDs nor safe custom ids, every traversal attempt among them.
	bad := []string{
		"", ".hidden", "../x", "..", ".", "/etc", "../../etc/passwd",
		valid + "/..", valid + "/../" + valid, "../" + valid, valid + "\x00", "tab\t",
		".wsprune-trash." + valid + ".1.2", "site-packages",
	}
	for _, id := range bad {
		_, err := CreateSessionWithID(root, id)
		wantErr(t, "CreateSessionWithID("+id+")", err, ErrInvalidSessionID, StatusInvalidSessionID)
		wantErr(t, "Touch("+id+")", Touch(root, id), ErrInvalidSessionID, StatusInvalidSessionID)
		l, err := Acquire(root, id)
		wantErr(t, "Acquire("+id+")", err, ErrInvalidSessionID, StatusInvalidSessionID)
		if l != nil {
			t.Errorf("Acquire(%q) returned a lease with an error", id)
		}
	}

	// Hours that are negative, NaN or infinite.
	_, err := Prune(root, PruneOptions{OlderThan: -time.Second})
	wantErr(t, "Prune(-1s)", err, ErrInvalidArgument, StatusInvalidArgument)
	for _, h := range []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := prune(root, h, false)
		wantErr(t, "prune hours", err, ErrInvalidArgument, StatusInvalidArgument)
		_, err = prune(root, h, true)
		wantErr(t, "prune hours (dry run)", err, ErrInvalidArgument, StatusInvalidArgument)
	}
	if !exists(filepath.Join(root, valid)) {
		t.Fatal("an invalid call deleted a session")
	}
}

func TestNotFound(t *testing.T) {
	root := newRoot(t)
	const missing = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	// The root does not exist yet.
	wantErr(t, "Touch (no root)", Touch(root, missing), ErrNotFound, StatusNotFound)
	_, err := Acquire(root, missing)
	wantErr(t, "Acquire (no root)", err, ErrNotFound, StatusNotFound)

	mustCreate(t, root)
	wantErr(t, "Touch", Touch(root, missing), ErrNotFound, StatusNotFound)
	_, err = Acquire(root, missing)
	wantErr(t, "Acquire", err, ErrNotFound, StatusNotFound)

	// A symlink or a file named like a session is not a session.
	target := mustCreate(t, root)
	if err := os.Symlink(filepath.Join(root, target), filepath.Join(root, missing)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Touch (symlink)", Touch(root, missing), ErrNotFound, StatusNotFound)
}

func TestTouch(t *testing.T) {
	root := newRoot(t)
	c := collect(t)
	id := createOld(t, root)
	before := time.Now().Add(-time.Second)
	if err := Touch(root, id); err != nil {
		t.Fatal(err)
	}
	m := readMetadata(t, root, id)
	if m["created_at"] != oldStamp {
		t.Errorf("touch changed created_at: %v", m)
	}
	if u := updatedAt(t, root, id); u.Before(before) {
		t.Errorf("updated_at %v not refreshed", u)
	}
	e := c.one(t, "session.metadata.updated", id)
	if e.Level != LevelDebug || e.Fields["timestamp"] != m["updated_at"] {
		t.Errorf("event %v, metadata %v", e, m)
	}

	// Metadata as the reference Python implementation writes it, with an
	// unknown field: still parsed, the field survives.
	py := unregistered(t, root)
	writeFile(t, metadataPath(root, py), []byte(`{
  "session_id": "`+py+`",
  "created_at": "2020-01-01T00:00:00.000000+00:00",
  "updated_at": "2020-01-01T00:00:00.000000+00:00",
  "version": 1,
  "owner": "alice"
}`))
	if o, err := TouchWithOutcome(root, py); err != nil || o != TouchUpdated {
		t.Fatal(o, err)
	}
	if m := readMetadata(t, root, py); m["owner"] != "alice" || updatedAt(t, root, py).Before(before) {
		t.Errorf("python metadata after touch: %v", m)
	}

	// Legacy: no metadata is fine and stays so.
	legacy := "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	if err := os.Mkdir(filepath.Join(root, legacy), 0o755); err != nil {
		t.Fatal(err)
	}
	if o, err := TouchWithOutcome(root, legacy); err != nil || o != TouchLegacy {
		t.Errorf("touch of a legacy session: %q, %v", o, err)
	}
	if exists(metadataPath(root, legacy)) {
		t.Error("touch wrote metadata into a legacy session")
	}

	// Corrupted: fine, left untouched, with a warning event.
	bad := unregistered(t, root)
	writeFile(t, metadataPath(root, bad), []byte("{not json"))
	if o, err := TouchWithOutcome(root, bad); err != nil || o != TouchCorrupted {
		t.Errorf("touch of corrupted metadata: %q, %v", o, err)
	}
	if b, _ := os.ReadFile(metadataPath(root, bad)); string(b) != "{not json" {
		t.Errorf("corrupted metadata was changed to %q", b)
	}
	if e := c.one(t, "session.metadata.corrupted", bad); e.Level != LevelWarning || e.Fields["error"] == "" {
		t.Errorf("event %v", e)
	}
}

func TestLeaseReleaseIsIdempotent(t *testing.T) {
	root := newRoot(t)
	id := createOld(t, root)
	l, err := Acquire(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if l.SessionID() != id || l.Root() != root {
		t.Errorf("lease of %q in %q", l.SessionID(), l.Root())
	}
	if err := l.Release(false); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := l.Release(true); !errors.Is(err, ErrLeaseReleased) {
			t.Fatalf("Release after Release = %v, want ErrLeaseReleased", err)
		}
	}
	var e *Error
	if errors.As(ErrLeaseReleased, &e) {
		t.Error("ErrLeaseReleased must not be a library error")
	}
	// A second Release must not have touched.
	if got := readMetadata(t, root, id)["updated_at"]; got != oldStamp {
		t.Errorf("updated_at = %v after Release(false) and Release(true) on a released lease", got)
	}
	var nilLease *Lease
	wantErr(t, "nil lease", nilLease.Release(false), ErrInvalidArgument, StatusInvalidArgument)
	// What a touching release did, from the C ABI (never from events).
	l, err = Acquire(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if o, err := l.ReleaseWithOutcome(true); err != nil || o != TouchUpdated {
		t.Errorf("ReleaseWithOutcome(true) = %q, %v", o, err)
	}
}

func TestLeaseTouchAndInUse(t *testing.T) {
	root := newRoot(t)
	id := createOld(t, root)
	l1, err := Acquire(root, id)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(root, id) // leases are shared
	if err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		res, err := Prune(root, PruneOptions{OlderThan: time.Hour, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Deleted) != 0 || res.SkippedReasons()[id] != ReasonInUse {
			t.Fatalf("prune (dry run %v) of a leased session: %+v", dry, res)
		}
	}
	// Release without touching: still old.
	if err := l1.Release(false); err != nil {
		t.Fatal(err)
	}
	if got := readMetadata(t, root, id)["updated_at"]; got != oldStamp {
		t.Errorf("Release(false) changed updated_at to %v", got)
	}
	// Release with touch: refreshed, so a 1h prune keeps it.
	before := time.Now().Add(-time.Second)
	if err := l2.Release(true); err != nil {
		t.Fatal(err)
	}
	if u := updatedAt(t, root, id); u.Before(before) {
		t.Errorf("Release(true) left updated_at at %v", u)
	}
	res, err := Prune(root, PruneOptions{OlderThan: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted)+len(res.Skipped)+len(res.Errors) != 0 || !exists(filepath.Join(root, id)) {
		t.Fatalf("prune after Release(true): %+v", res)
	}
	// Now unleased and (with every idle session selected) stale: it goes.
	res, err = Prune(root, PruneOptions{OlderThan: EveryIdleSession})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deleted, []string{id}) || exists(filepath.Join(root, id)) {
		t.Fatalf("prune after release: %+v", res)
	}
	// A lease on a pruned session is NOT_FOUND.
	_, err = Acquire(root, id)
	wantErr(t, "Acquire after prune", err, ErrNotFound, StatusNotFound)
}

func TestLeaseReleaseTouchOnLegacyAndCorrupted(t *testing.T) {
	root := newRoot(t)
	legacy := "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	if err := os.MkdirAll(filepath.Join(root, legacy), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := unregistered(t, root)
	writeFile(t, metadataPath(root, bad), []byte("garbage"))
	for _, id := range []string{legacy, bad} {
		l, err := Acquire(root, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Release(true); err != nil {
			t.Errorf("Release(true) of %s: %v", id, err)
		}
	}
}

func TestLeaseFinalizerReleases(t *testing.T) {
	root := newRoot(t)
	id := createOld(t, root)
	func() {
		if _, err := Acquire(root, id); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		res, err := Prune(root, PruneOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(res.Deleted, id) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an unreachable lease was not released by its finalizer: %+v", res)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := readMetadata(t, root, id)["updated_at"]; got != oldStamp {
		t.Errorf("the finalizer touched the session: %v", got)
	}
}

// TestAcquireBusy holds an exclusive flock on the session directory (as a
// prune deleting it does) for longer than Acquire's 2 s wait.
func TestAcquireBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 2 s")
	}
	root := newRoot(t)
	id := mustCreate(t, root)
	// A deletion holds the session's lock file (in the host directory) exclusively.
	dir, err := os.Open(filepath.Join(root, ".wsprune", "locks", id))
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if err := syscall.Flock(int(dir.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	l, err := Acquire(root, id)
	wantErr(t, "Acquire on an exclusively locked session", err, ErrBusy, StatusBusy)
	if l != nil {
		t.Error("lease returned with ErrBusy")
	}
	if d := time.Since(start); d < 1900*time.Millisecond {
		t.Errorf("Acquire gave up after %v, want about 2 s", d)
	}
	// Prune sees it as in use too (it cannot take its own exclusive lock).
	backdate(t, root, id, oldStamp)
	res, err := Prune(root, PruneOptions{OlderThan: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.SkippedReasons()[id] != ReasonInUse {
		t.Errorf("prune of a locked session: %+v", res)
	}
	if err := syscall.Flock(int(dir.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	l, err = Acquire(root, id)
	if err != nil {
		t.Fatalf("Acquire after unlock: %v", err)
	}
	if err := l.Release(false); err != nil {
		t.Fatal(err)
	}
}
