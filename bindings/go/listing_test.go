package wsprune

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestListSessions(t *testing.T) {
	root := newRoot(t)
	if _, err := ListSessions(root); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing root: %v, want ErrNotFound", err)
	}
	ok := mustCreate(t, root)
	fill(t, root, ok, 2)
	custom, err := CreateSessionWithID(root, "my-session")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, legacyID, "data.txt"), []byte("legacy work"))
	bad := unregistered(t, root)
	writeFile(t, metadataPath(root, bad), []byte("{not json"))
	// Not sessions: a custom-id name without metadata, hidden entries,
	// site-packages, a plain file and a symlink to a session outside.
	if err := os.Mkdir(filepath.Join(root, "plain-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	backdateDir(t, filepath.Join(root, ".hidden"), ".hidden")
	backdateDir(t, filepath.Join(root, "site-packages"), "site-packages")
	writeFile(t, filepath.Join(root, "file.txt"), []byte("x"))
	outside := filepath.Join(t.TempDir(), "outside")
	linkID := "0f8fad5b-d9cb-469f-a165-70867728950e"
	backdateDir(t, outside, linkID)
	if err := os.Symlink(outside, filepath.Join(root, linkID)); err != nil {
		t.Fatal(err)
	}

	list, err := ListSessions(root)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	byID := map[string]Info{}
	for _, i := range list {
		ids = append(ids, i.ID)
		byID[i.ID] = i
	}
	if want := sorted([]string{ok, custom, legacyID, bad}); strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("ids %v, want %v (sorted)", ids, want)
	}
	// The same facts as SessionInfo.
	info, err := SessionInfo(root, ok)
	if err != nil {
		t.Fatal(err)
	}
	if got := byID[ok]; got.ID != info.ID || got.Size != info.Size || got.State != info.State || got.InUse != info.InUse ||
		!got.Created.Equal(info.Created) || !got.Updated.Equal(info.Updated) || got.Created.Location() != time.UTC || got.Created.IsZero() {
		t.Errorf("listed %+v, SessionInfo %+v", got, *info)
	}
	if c := byID[custom]; c.State != StateOK || c.Created.IsZero() || c.Problem != "" {
		t.Errorf("custom %+v", c)
	}
	if l := byID[legacyID]; l.State != StateLegacy || !l.Updated.IsZero() || l.Size == 0 {
		t.Errorf("legacy %+v", l)
	}
	if b := byID[bad]; b.State != StateCorrupted || b.Problem == "" || !b.Created.IsZero() {
		t.Errorf("corrupted %+v", b)
	}

	lease, err := Acquire(root, custom)
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Release(false)
	list, err = ListSessions(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range list {
		if i.InUse != (i.ID == custom) {
			t.Errorf("%s: InUse %v", i.ID, i.InUse)
		}
	}

	empty := t.TempDir()
	if list, err := ListSessions(empty); err != nil || list == nil || len(list) != 0 {
		t.Errorf("empty root: %#v, %v", list, err)
	}
}

// backdateDir makes dir hold a valid .metadata.json for id (dated oldStamp).
func backdateDir(t *testing.T, dir, id string) {
	t.Helper()
	meta := `{"session_id":"` + id + `","created_at":"` + oldStamp + `","updated_at":"` + oldStamp + `","version":1}`
	writeFile(t, filepath.Join(dir, ".metadata.json"), []byte(meta))
}

func TestReadMetadata(t *testing.T) {
	root := newRoot(t)
	id := mustCreate(t, root)
	// As another writer stored it: an offset, an unknown field.
	stored := `{"session_id":"` + id + `","created_at":"2021-03-04T05:06:07+00:00","updated_at":"2022-08-09T10:11:12+00:00","version":1,"extra":"kept"}`
	writeFile(t, recordPath(root, id), []byte(stored)) // the host's record: what is read
	for _, spelling := range []string{id, strings.ToUpper(id), strings.ReplaceAll(id, "-", "")} {
		doc, err := ReadMetadata(root, spelling)
		if err != nil {
			t.Fatalf("%s: %v", spelling, err)
		}
		var got, want map[string]any
		if err := json.Unmarshal(doc.Metadata, &got); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(stored), &want)
		if doc.ID != id || doc.State != StateOK || doc.Problem != "" || !jsonEqual(got, want) {
			t.Errorf("%s: %+v (metadata %s)", spelling, doc, doc.Metadata)
		}
	}

	custom, err := CreateSessionWithID(root, "my-session")
	if err != nil {
		t.Fatal(err)
	}
	if doc, err := ReadMetadata(root, custom); err != nil || doc.ID != custom || doc.State != StateOK {
		t.Errorf("custom: %+v, %v", doc, err)
	}
	if err := os.Mkdir(filepath.Join(root, legacyID), 0o755); err != nil {
		t.Fatal(err)
	}
	if doc, err := ReadMetadata(root, legacyID); err != nil || doc.State != StateLegacy || doc.Metadata != nil {
		t.Errorf("legacy: %+v, %v", doc, err)
	}
	bad := unregistered(t, root)
	writeFile(t, metadataPath(root, bad), []byte(`{"session_id":"`+bad+`","created_at":"x"}`))
	if doc, err := ReadMetadata(root, bad); err != nil || doc.State != StateCorrupted || !strings.Contains(doc.Problem, "updated_at") || doc.Metadata != nil {
		t.Errorf("corrupted: %+v, %v", doc, err)
	}

	if _, err := ReadMetadata(root, "0f8fad5b-d9cb-469f-a165-70867728950e"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing session: %v", err)
	}
	if _, err := ReadMetadata(filepath.Join(root, "absent"), id); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing root: %v", err)
	}
	for _, b := range badIDs {
		if _, err := ReadMetadata(root, b); !errors.Is(err, ErrInvalidSessionID) {
			t.Errorf("ReadMetadata(%q): %v, want ErrInvalidSessionID", b, err)
		}
	}
}

// jsonEqual compares two decoded JSON objects.
func jsonEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestReadMetadataNeverLeavesTheRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	linkID := "0f8fad5b-d9cb-469f-a165-70867728950e"
	backdateDir(t, outside, linkID)
	for _, name := range []string{linkID, "custom-link"} {
		if err := os.Symlink(outside, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
		if doc, err := ReadMetadata(root, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s, a symlink to a session outside the root: %+v, %v; want ErrNotFound", name, doc, err)
		}
	}

	// A FIFO as .metadata.json: refused, not opened (opening it would block
	// until a writer came).
	fifoID := "6ba7b811-9dad-41d1-80b4-00c04fd430c8"
	if err := os.Mkdir(filepath.Join(root, fifoID), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(metadataPath(root, fifoID), 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		doc *MetadataDocument
		err error
	}
	done := make(chan result, 1)
	go func() {
		doc, err := ReadMetadata(root, fifoID)
		done <- result{doc, err}
	}()
	select {
	case r := <-done:
		if r.err != nil || r.doc.State != StateCorrupted || !strings.Contains(r.doc.Problem, "not a regular file") {
			t.Errorf("FIFO: %+v, %v", r.doc, r.err)
		}
	case <-time.After(20 * time.Second):
		// Unblock the reader so the test binary can exit.
		if f, err := os.OpenFile(metadataPath(root, fifoID), os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("ReadMetadata blocked on a FIFO")
	}
}
