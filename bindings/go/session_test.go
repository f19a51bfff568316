package wsprune

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const legacyID = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"

var badIDs = []string{"", ".hidden", "site-packages", "new\nline", "../x", "..", "/etc", "../../etc/passwd", legacyID + "/..", legacyID + "\x00", strings.Repeat("x", 256)}

func TestSessionStateString(t *testing.T) {
	for s, name := range map[SessionState]string{StateOK: "ok", StateLegacy: "legacy", StateCorrupted: "corrupted", 7: "state(7)"} {
		if got := s.String(); got != name {
			t.Errorf("SessionState(%d).String() = %q, want %q", int(s), got, name)
		}
		var back SessionState
		err := back.UnmarshalText([]byte(name))
		if (err == nil) != (s <= StateCorrupted) || (err == nil && back != s) {
			t.Errorf("UnmarshalText(%q) = %v, %v", name, back, err)
		}
	}
}

func TestSessionInfo(t *testing.T) {
	root := newRoot(t)
	id := mustCreate(t, root)
	fill(t, root, id, 2)
	created := "2021-03-04T05:06:07.123456Z"
	updated := "2022-08-09T10:11:12.654321Z"
	text := []byte(`{"session_id":"` + id + `","created_at":"` + created + `","updated_at":"` + updated + `","version":1}`)
	writeFile(t, recordPath(root, id), text) // the host's record: what info reads
	writeFile(t, metadataPath(root, id), text)

	info, err := SessionInfo(root, id)
	if err != nil {
		t.Fatal(err)
	}
	wantC, _ := time.Parse(time.RFC3339Nano, created)
	wantU, _ := time.Parse(time.RFC3339Nano, updated)
	if info.ID != id || !info.Created.Equal(wantC) || !info.Updated.Equal(wantU) || info.State != StateOK || info.InUse {
		t.Fatalf("info %+v", info)
	}
	if info.Created.Location() != time.UTC || info.Updated.Location() != time.UTC {
		t.Errorf("times not in UTC: %v %v", info.Created, info.Updated)
	}
	if want := treeSize(t, filepath.Join(root, id)); info.Size != want {
		t.Errorf("Size %d, want %d", info.Size, want)
	}

	// Leased: in use (and a shared lease still lets SessionInfo probe).
	l, err := Acquire(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := SessionInfo(root, id); err != nil || !info.InUse {
		t.Errorf("leased: %+v, %v", info, err)
	}
	if err := l.Release(false); err != nil {
		t.Fatal(err)
	}
	if info, err := SessionInfo(root, id); err != nil || info.InUse {
		t.Errorf("released: %+v, %v", info, err)
	}
	if got := readMetadata(t, root, id)["updated_at"]; got != updated {
		t.Errorf("SessionInfo changed updated_at to %v", got)
	}

	// Legacy and corrupted: zero times.
	writeFile(t, filepath.Join(root, legacyID, "data.txt"), []byte("legacy work"))
	bad := unregistered(t, root)
	writeFile(t, metadataPath(root, bad), []byte("{not json"))
	for id, st := range map[string]SessionState{legacyID: StateLegacy, bad: StateCorrupted} {
		info, err := SessionInfo(root, id)
		if err != nil {
			t.Fatal(err)
		}
		if info.State != st || !info.Created.IsZero() || !info.Updated.IsZero() || info.InUse {
			t.Errorf("%v session: %+v", st, info)
		}
		if want := treeSize(t, filepath.Join(root, id)); info.Size != want {
			t.Errorf("%v session: Size %d, want %d", st, info.Size, want)
		}
	}
	b, err := json.Marshal(Info{ID: legacyID, State: StateLegacy})
	if err != nil || !json.Valid(b) || !strings.Contains(string(b), `"state":"legacy"`) {
		t.Errorf("JSON %s, %v", b, err)
	}
}

func TestSessionInfoErrors(t *testing.T) {
	root := newRoot(t)
	_, err := SessionInfo(root, legacyID)
	wantErr(t, "missing root", err, ErrNotFound, StatusNotFound)
	valid := mustCreate(t, root)
	_, err = SessionInfo(root, legacyID)
	wantErr(t, "missing session", err, ErrNotFound, StatusNotFound)
	for _, id := range badIDs {
		info, err := SessionInfo(root, id)
		wantErr(t, "SessionInfo("+id+")", err, ErrInvalidSessionID, StatusInvalidSessionID)
		if info != nil {
			t.Errorf("info with an error: %+v", info)
		}
	}
	for _, r := range []string{"", root + "\x00x"} {
		_, err := SessionInfo(r, valid)
		wantErr(t, "SessionInfo(root "+r+")", err, ErrInvalidArgument, StatusInvalidArgument)
	}
	// A symlink named like a session is not one.
	if err := os.Symlink(filepath.Join(root, valid), filepath.Join(root, legacyID)); err != nil {
		t.Fatal(err)
	}
	_, err = SessionInfo(root, legacyID)
	wantErr(t, "symlink", err, ErrNotFound, StatusNotFound)
}

func TestDeleteSession(t *testing.T) {
	root := newRoot(t)
	c := collect(t)
	id := mustCreate(t, root) // fresh: DeleteSession ignores age
	fill(t, root, id, 3)
	other := mustCreate(t, root)
	size := treeSize(t, filepath.Join(root, id))
	n, err := DeleteSession(root, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != size {
		t.Errorf("reclaimed %d, want %d", n, size)
	}
	if exists(filepath.Join(root, id)) || !exists(filepath.Join(root, other)) {
		t.Fatal("wrong session deleted")
	}
	if len(c.named("session.deleted", id)) != 1 {
		t.Errorf("events: %v", c.all())
	}
	// Nothing left behind in the root.
	if entries := rootNames(t, root); len(entries) != 1 || entries[0] != other {
		t.Errorf("root holds %v", entries)
	}
	_, err = DeleteSession(root, id, 0)
	wantErr(t, "deleted twice", err, ErrNotFound, StatusNotFound)

	// Legacy and corrupted sessions can be deleted too.
	writeFile(t, filepath.Join(root, legacyID, "x"), []byte("12345"))
	legacySize := treeSize(t, filepath.Join(root, legacyID))
	if n, err := DeleteSession(root, legacyID, 0); err != nil || n != legacySize {
		t.Errorf("legacy: %d, %v", n, err)
	}
	writeFile(t, metadataPath(root, other), []byte("garbage"))
	if _, err := DeleteSession(root, other, time.Second); err != nil || exists(filepath.Join(root, other)) {
		t.Errorf("corrupted: %v", err)
	}
}

func TestDeleteSessionErrors(t *testing.T) {
	root := newRoot(t)
	_, err := DeleteSession(root, legacyID, 0)
	wantErr(t, "missing root", err, ErrNotFound, StatusNotFound)
	valid := mustCreate(t, root)
	_, err = DeleteSession(root, legacyID, 0)
	wantErr(t, "missing session", err, ErrNotFound, StatusNotFound)
	for _, id := range badIDs {
		n, err := DeleteSession(root, id, 0)
		wantErr(t, "DeleteSession("+id+")", err, ErrInvalidSessionID, StatusInvalidSessionID)
		if n != 0 {
			t.Errorf("%d bytes with an error", n)
		}
	}
	for _, r := range []string{"", root + "\x00x"} {
		_, err := DeleteSession(r, valid, 0)
		wantErr(t, "DeleteSession(root "+r+")", err, ErrInvalidArgument, StatusInvalidArgument)
	}
	if !exists(filepath.Join(root, valid)) {
		t.Fatal("an invalid call deleted a session")
	}
}

func TestDeleteSessionBusy(t *testing.T) {
	root := newRoot(t)
	id := mustCreate(t, root)
	l, err := Acquire(root, id)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = DeleteSession(root, id, 0)
	wantErr(t, "leased, no wait", err, ErrBusy, StatusBusy)
	_, err = DeleteSession(root, id, -time.Second) // negative: no wait either
	wantErr(t, "leased, negative wait", err, ErrBusy, StatusBusy)
	if d := time.Since(start); d > 10*time.Second { // a wait would be far longer (the lease is held); room for a loaded machine
		t.Errorf("no-wait deletes took %v", d)
	}
	start = time.Now()
	_, err = DeleteSession(root, id, 200*time.Millisecond)
	wantErr(t, "leased, 200 ms", err, ErrBusy, StatusBusy)
	if d := time.Since(start); d < 190*time.Millisecond || d > 5*time.Second {
		t.Errorf("waited %v, want about 200 ms", d)
	}
	if !exists(filepath.Join(root, id)) {
		t.Fatal("a leased session was deleted")
	}
	// Released while DeleteSession waits: it deletes.
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = l.Release(false)
	}()
	if _, err := DeleteSession(root, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(root, id)) {
		t.Fatal("session survived")
	}
}

func TestRepair(t *testing.T) {
	root := newRoot(t)
	ok := createOld(t, root)
	writeFile(t, filepath.Join(root, legacyID, "sub", "work.txt"), []byte("legacy"))
	newest := time.Date(2023, 5, 6, 7, 8, 9, 123456789, time.UTC)
	if err := os.Chtimes(filepath.Join(root, legacyID, "sub", "work.txt"), newest, newest); err != nil {
		t.Fatal(err)
	}
	older := newest.Add(-time.Hour)
	for _, p := range []string{filepath.Join(root, legacyID, "sub"), filepath.Join(root, legacyID)} {
		if err := os.Chtimes(p, older, older); err != nil {
			t.Fatal(err)
		}
	}
	bad := unregistered(t, root)
	writeFile(t, metadataPath(root, bad), []byte("{not json"))
	leased := "0f8fad5b-d9cb-469f-a165-70867728950e"
	if err := os.MkdirAll(filepath.Join(root, leased), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(root, leased)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(false)

	check := func(res *RepairResult, dry bool) {
		t.Helper()
		if res.DryRun != dry || len(res.Repaired) != 2 || len(res.Errors) != 1 || res.Errors[leased] == "" {
			t.Fatalf("dry run %v: %+v", dry, res)
		}
		ids := []string{res.Repaired[0].ID, res.Repaired[1].ID}
		if !slices.Equal(ids, sorted([]string{legacyID, bad})) {
			t.Fatalf("repaired %v", ids)
		}
		for _, r := range res.Repaired {
			switch r.ID {
			case legacyID:
				if r.PreviousState != StateLegacy || !r.UpdatedAt.Equal(newest.Truncate(time.Microsecond)) {
					t.Errorf("legacy: %+v, want updated at %v", r, newest)
				}
			case bad:
				if r.PreviousState != StateCorrupted || r.UpdatedAt.IsZero() || r.UpdatedAt.Location() != time.UTC {
					t.Errorf("corrupted: %+v", r)
				}
			}
		}
	}
	dry, err := Repair(root, true)
	if err != nil {
		t.Fatal(err)
	}
	check(dry, true)
	if exists(metadataPath(root, legacyID)) {
		t.Fatal("a dry run wrote metadata")
	}
	res, err := Repair(root, false)
	if err != nil {
		t.Fatal(err)
	}
	check(res, false)
	for _, id := range []string{legacyID, bad} {
		if info, err := SessionInfo(root, id); err != nil || info.State != StateOK {
			t.Errorf("after repair %s: %+v, %v", id, info, err)
		}
	}
	if info, _ := SessionInfo(root, legacyID); !info.Updated.Equal(newest.Truncate(time.Microsecond)) {
		t.Errorf("legacy updated_at %v, want %v", info.Updated, newest)
	}
	if got := readMetadata(t, root, ok)["updated_at"]; got != oldStamp {
		t.Errorf("repair touched a valid session: %v", got)
	}
	// Nothing left to repair but the leased one; the repaired legacy session
	// (dated 2023) is now prunable by age.
	again, err := Repair(root, false)
	if err != nil || len(again.Repaired) != 0 || len(again.Errors) != 1 {
		t.Errorf("second repair: %+v, %v", again, err)
	}
	pr := mustPrune(t, root, PruneOptions{OlderThan: DefaultOlderThan})
	if pr.DeletedRules[legacyID] != RuleOlderThan {
		t.Errorf("prune after repair: %+v", pr)
	}
	b, err := json.Marshal(res)
	if err != nil || !strings.Contains(string(b), `"previous_state":"legacy"`) {
		t.Errorf("JSON %s, %v", b, err)
	}
}

func TestRepairErrors(t *testing.T) {
	res, err := Repair(filepath.Join(t.TempDir(), "missing"), false)
	wantErr(t, "missing root", err, ErrNotFound, StatusNotFound)
	if res != nil {
		t.Errorf("result with an error: %+v", res)
	}
	for _, r := range []string{"", "/tmp\x00x"} {
		_, err := Repair(r, true)
		wantErr(t, "Repair(root "+r+")", err, ErrInvalidArgument, StatusInvalidArgument)
	}
	// An empty root: nothing to do, but never nil slices.
	root := newRoot(t)
	mustCreate(t, root)
	res, err = Repair(root, false)
	if err != nil || res.Repaired == nil || res.Errors == nil || len(res.Repaired) != 0 {
		t.Errorf("%+v, %v", res, err)
	}
}
