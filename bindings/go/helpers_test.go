package wsprune

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsprune/wsprune/bindings/go/internal/du"
)

// oldStamp is an updated_at far in the past: such a session is stale for any
// reasonable threshold.
const oldStamp = "2020-01-01T00:00:00.000000Z"

// newRoot gives a workspace root that does not exist yet (the library
// creates it on the first CreateSession).
func newRoot(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "workspaces")
}

func mustCreate(t *testing.T, root string) string {
	t.Helper()
	id, err := CreateSession(root)
	if err != nil {
		t.Fatalf("CreateSession(%q): %v", root, err)
	}
	return id
}

func metadataPath(root, id string) string {
	return filepath.Join(root, id, ".metadata.json")
}

// recordPath is where the host keeps a registered session's record (the
// truth every call decides on; the session's .metadata.json is a mirror).
func recordPath(root, id string) string {
	return filepath.Join(root, ".wsprune", "sessions", id)
}

// backdate rewrites the session's metadata with the given updated_at (and
// created_at), as the host's own touches would have left it: the record of a
// registered session and its mirror, or the .metadata.json of a directory
// that is not registered (an external tool's, or an old wsprune's).
func backdate(t *testing.T, root, id, updatedAt string) {
	t.Helper()
	meta := map[string]any{"session_id": id, "created_at": updatedAt, "updated_at": updatedAt, "version": 1}
	b, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(recordPath(root, id)); err == nil {
		writeFile(t, recordPath(root, id), b)
	}
	writeFile(t, metadataPath(root, id), b)
}

// unregistered makes a session directory as the reference implementation
// (or wsprune 0.3) does: not registered, so judged by its own .metadata.json.
func unregistered(t *testing.T, root string) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	if err := os.MkdirAll(filepath.Join(root, id), 0o755); err != nil {
		t.Fatal(err)
	}
	return id
}

// rootNames lists the root's entries without the host directory (.wsprune).
func rootNames(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != ".wsprune" {
			names = append(names, e.Name())
		}
	}
	return names
}

// createOld creates a session and backdates it to oldStamp.
func createOld(t *testing.T, root string) string {
	t.Helper()
	id := mustCreate(t, root)
	backdate(t, root, id, oldStamp)
	return id
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readMetadata(t *testing.T, root, id string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(metadataPath(root, id))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("metadata of %s is not JSON: %v\n%s", id, err, b)
	}
	return m
}

func updatedAt(t *testing.T, root, id string) time.Time {
	t.Helper()
	s, _ := readMetadata(t, root, id)["updated_at"].(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("updated_at %q of %s: %v", s, id, err)
	}
	return ts
}

// treeSize is what `du -sB1 dir` says: the allocated blocks of dir and
// everything under it, each inode once (symlinks count themselves): what a
// prune of dir must report as reclaimed.
func treeSize(t *testing.T, dir string) uint64 {
	return du.Bytes(t, dir)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// collector records events; installed by collect for the rest of the test.
type collector struct {
	mu     sync.Mutex
	events []Event
}

func collect(t *testing.T) *collector {
	c := &collector{}
	SetLogger(c.add)
	t.Cleanup(func() { SetLogger(nil) })
	return c
}

func (c *collector) add(e Event) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

func (c *collector) all() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// named gives the events called name, restricted to session id unless id is "".
func (c *collector) named(name, id string) []Event {
	var out []Event
	for _, e := range c.all() {
		if e.Name == name && (id == "" || e.Fields["session_id"] == id) {
			out = append(out, e)
		}
	}
	return out
}

func (c *collector) one(t *testing.T, name, id string) Event {
	t.Helper()
	got := c.named(name, id)
	if len(got) != 1 {
		t.Fatalf("want exactly one %s event for %q, got %d: %v", name, id, len(got), c.all())
	}
	return got[0]
}

func num(t *testing.T, e Event, key string) float64 {
	t.Helper()
	n, ok := e.Fields[key].(json.Number)
	if !ok {
		t.Fatalf("%s: field %q is %T %v, want a json.Number", e.Name, key, e.Fields[key], e.Fields[key])
	}
	f, err := n.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func integer(t *testing.T, e Event, key string) int64 {
	t.Helper()
	n, ok := e.Fields[key].(json.Number)
	if !ok {
		t.Fatalf("%s: field %q is %T %v, want a json.Number", e.Name, key, e.Fields[key], e.Fields[key])
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%s: field %q = %s is not an integer: %v", e.Name, key, n, err)
	}
	return i
}
