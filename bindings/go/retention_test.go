package wsprune

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/wsprune/wsprune/bindings/go/internal/readme"
)

// Pins, per-session TTLs and the look-ahead (docs/contract.md) through the
// Go binding: each call reaches the host's record, and a prune decides by it.

func record(t *testing.T, root, id string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".wsprune", "sessions", id))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTTLIsRecordedAndDeletesTheSession(t *testing.T) {
	root := t.TempDir()
	opts := SessionOptions{IdleTTL: time.Hour, ExpiresAt: time.Now().Add(2 * time.Hour)}
	if _, err := CreateSessionWithOptions(root, "ttl", opts); err != nil {
		t.Fatal(err)
	}
	if r := record(t, root, "ttl"); r["idle_ttl_seconds"] != 3600.0 || r["expires_at"] == nil {
		t.Fatalf("record %v", r)
	}
	if err := SetSessionTTL(root, "ttl", time.Second, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r := record(t, root, "ttl"); r["expires_at"] != nil {
		t.Fatalf("record %v", r)
	}
	if _, err := CreateSessionWithID(root, "keep"); err != nil {
		t.Fatal(err)
	}
	// 1.9s is refused, not stored as 1s (a fraction is never cut off).
	for _, bad := range []time.Duration{time.Millisecond, -time.Hour, 1900 * time.Millisecond} {
		if err := SetSessionTTL(root, "keep", bad, time.Time{}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("%v: %v", bad, err)
		}
	}
	time.Sleep(1200 * time.Millisecond)
	r, err := Prune(root, PruneOptions{NoAgeRule: true, MaxDeletions: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Deleted, []string{"ttl"}) || r.DeletedRules["ttl"] != "ttl" {
		t.Fatalf("%+v", r)
	}
}

func TestPinnedSessionIsSkippedAndDeletedOnlyWithForce(t *testing.T) {
	root := t.TempDir()
	if _, err := CreateSessionWithOptions(root, "p", SessionOptions{IdleTTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := PinSession(root, "p", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := record(t, root, "p"); r["pinned"] != true {
		t.Fatalf("record %v", r)
	}
	time.Sleep(1200 * time.Millisecond)
	r, err := Prune(root, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Deleted) != 0 || r.SkippedReasons()["p"] != "pinned" {
		t.Fatalf("%+v", r)
	}
	asOf := time.Now().Add(2 * time.Hour)
	if r, err = Prune(root, PruneOptions{DryRun: true, AsOf: asOf}); err != nil || r.DeletedRules["p"] != "ttl" {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := Prune(root, PruneOptions{AsOf: asOf}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if _, err := DeleteSession(root, "p", 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if err := UnpinSession(root, "p"); err != nil {
		t.Fatal(err)
	}
	if err := PinSession(root, "p", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n, err := DeleteSessionWithOptions(root, "p", DeleteOptions{Force: true}); err != nil || n == 0 {
		t.Fatal(n, err)
	}
	if err := PinSession(root, "p", time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

// The README's pin recipe is ExamplePinSession, which go test runs and checks.
func TestReadmePinRecipeIsTheExample(t *testing.T) {
	readme.CheckRecipe(t, "README.md", "## Pins, per-session TTLs and the look-ahead", "example_test.go", 6)
}
