package wsprune

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// One UUID, one session: any spelling creates the canonical name once, and
// every call finds it by any spelling.
func TestUUIDSpellings(t *testing.T) {
	root := newRoot(t)
	const canon = "abcdef01-2345-6789-abcd-ef0123456789"
	got, err := CreateSessionWithID(root, "ABCDEF0123456789ABCDEF0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if got != canon {
		t.Errorf("CreateSessionWithID returned %q, want the canonical %q", got, canon)
	}
	if !exists(filepath.Join(root, canon)) {
		t.Fatalf("not created under the canonical name %s", canon)
	}
	for _, s := range []string{canon, strings.ToUpper(canon), strings.ReplaceAll(canon, "-", "")} {
		if _, err := CreateSessionWithID(root, s); !errors.Is(err, ErrAlreadyExists) {
			t.Errorf("CreateSessionWithID(%s) = %v, want ErrAlreadyExists", s, err)
		}
		if err := Touch(root, s); err != nil {
			t.Errorf("Touch(%s): %v", s, err)
		}
		if info, err := SessionInfo(root, s); err != nil || info.State != StateOK {
			t.Errorf("SessionInfo(%s) = %v, %v", s, info, err)
		}
		id, created, err := OpenSession(root, s)
		if err != nil || created || id != canon {
			t.Errorf("OpenSession(%s) = %q, %v, %v", s, id, created, err)
		}
	}
}

// Custom ids on every call, including the longest (255 bytes), and prune.
func TestCustomIDs(t *testing.T) {
	root := newRoot(t)
	longest := strings.Repeat("é", 127) + "x"
	for _, id := range []string{"chat 7: notebook", "名前", longest} {
		if _, err := CreateSessionWithID(root, id); err != nil {
			t.Fatalf("CreateSessionWithID(%q): %v", id, err)
		}
		if err := Touch(root, id); err != nil {
			t.Fatal(err)
		}
		l, err := Acquire(root, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DeleteSession(root, id, 0); !errors.Is(err, ErrBusy) {
			t.Errorf("DeleteSession of a leased %q = %v, want ErrBusy", id, err)
		}
		if err := l.Release(true); err != nil {
			t.Fatal(err)
		}
	}
	if info, err := SessionInfo(root, longest); err != nil || info.State != StateOK {
		t.Fatalf("SessionInfo(longest) = %v, %v", info, err)
	}
	backdate(t, root, "名前", oldStamp)
	res := mustPrune(t, root, PruneOptions{OlderThan: DefaultOlderThan})
	if !slices.Equal(res.Deleted, []string{"名前"}) {
		t.Errorf("Deleted = %q", res.Deleted)
	}
	if _, err := DeleteSession(root, longest, 0); err != nil {
		t.Error(err)
	}
}

// OpenSession: creates (empty id: a new UUID), opens, adopts a directory
// without metadata; hostile ids are ErrInvalidSessionID.
func TestOpenSession(t *testing.T) {
	root := newRoot(t)
	id, created, err := OpenSession(root, "")
	if err != nil || !created || len(id) != 36 {
		t.Fatalf("OpenSession(\"\") = %q, %v, %v", id, created, err)
	}
	if id, created, err = OpenSession(root, "reused"); err != nil || !created || id != "reused" {
		t.Fatalf("first OpenSession = %q, %v, %v", id, created, err)
	}
	if id, created, err = OpenSession(root, "reused"); err != nil || created || id != "reused" {
		t.Fatalf("second OpenSession = %q, %v, %v", id, created, err)
	}
	if err := os.Mkdir(filepath.Join(root, legacyID), 0o755); err != nil {
		t.Fatal(err)
	}
	// A directory without metadata is not a session an open adopts (a prune would delete it).
	if _, _, err = OpenSession(root, strings.ToUpper(legacyID)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("OpenSession(legacy) = %v, want ErrNotFound", err)
	}
	if info, err := SessionInfo(root, legacyID); err != nil || info.State != StateLegacy {
		t.Errorf("the refused open wrote metadata: %v, %v", info, err)
	}
	for _, bad := range badIDs[1:] {
		if _, _, err := OpenSession(root, bad); !errors.Is(err, ErrInvalidSessionID) {
			t.Errorf("OpenSession(%q) = %v, want ErrInvalidSessionID", bad, err)
		}
	}
}

// Leftover trash beside a live session of the same id is reported in
// Interrupted, never as the live session.
func TestInterruptedBesideALiveSession(t *testing.T) {
	root := newRoot(t)
	live := mustCreate(t, root)
	trash := ".wsprune-trash." + live + ".1.2"
	writeFile(t, filepath.Join(root, trash, "left"), make([]byte, 55))
	size := treeSize(t, filepath.Join(root, trash))
	res := mustPrune(t, root, PruneOptions{OlderThan: DefaultOlderThan})
	if len(res.Deleted) != 0 || len(res.Errors) != 0 {
		t.Fatalf("Deleted %q, Errors %v", res.Deleted, res.Errors)
	}
	if !slices.Equal(res.Interrupted, []string{trash}) || res.ReclaimedBytes != size {
		t.Errorf("Interrupted = %q, reclaimed %d", res.Interrupted, res.ReclaimedBytes)
	}
	if !exists(filepath.Join(root, live)) || exists(filepath.Join(root, trash)) {
		t.Error("the live session went, or the trash stayed")
	}
}
