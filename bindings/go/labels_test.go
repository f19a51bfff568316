package wsprune

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"
)

// owned creates a registered session whose record carries owner=owner and
// says it was last used age ago.
func owned(t *testing.T, root, owner string, age time.Duration) string {
	t.Helper()
	id := mustCreate(t, root)
	at := time.Now().UTC().Add(-age).Format("2006-01-02T15:04:05.000000Z")
	b, err := json.Marshal(map[string]any{
		"session_id": id, "created_at": at, "updated_at": at, "version": 1,
		"labels": map[string]string{"owner": owner},
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, recordPath(root, id), b)
	return id
}

func TestPruneLabelSelectorLimitsEveryRule(t *testing.T) {
	root := newRoot(t)
	alice := owned(t, root, "alice", 48*time.Hour)
	bob := owned(t, root, "bob", 48*time.Hour)
	res, err := Prune(root, PruneOptions{LabelSelector: "owner=alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deleted, []string{alice}) || !exists(root+"/"+bob) {
		t.Fatalf("deleted %v; bob %s must stay", res.Deleted, bob)
	}
}

func TestPrunePerOwnerCapsEvictWithinEachOwner(t *testing.T) {
	root := newRoot(t)
	a0 := owned(t, root, "alice", 10*time.Hour)
	owned(t, root, "alice", 9*time.Hour)
	owned(t, root, "alice", 8*time.Hour)
	owned(t, root, "bob", 30*time.Hour)
	res, err := Prune(root, PruneOptions{NoAgeRule: true, NoMinAge: true, PerOwner: "owner", MaxSessionsPerOwner: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deleted, []string{a0}) || res.DeletedRules[a0] != RuleMaxSessionsPerOwner {
		t.Fatalf("deleted %v rules %v, want %s by %s", res.Deleted, res.DeletedRules, a0, RuleMaxSessionsPerOwner)
	}
}

func TestPruneBadLabelOptionsAreInvalidArguments(t *testing.T) {
	root := newRoot(t)
	id := owned(t, root, "alice", 48*time.Hour)
	for _, o := range []PruneOptions{
		{LabelSelector: "owner=al ice"},
		{LabelSelector: "owner\x00x"},
		{MaxSessionsPerOwner: 2},
		{PerOwner: "owner"},
	} {
		if _, err := Prune(root, o); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: got %v, want ErrInvalidArgument", o, err)
		}
	}
	if !exists(root + "/" + id) {
		t.Fatal("nothing may be deleted")
	}
}

func TestLabelsSetAtCreateAndOpenAndChanged(t *testing.T) {
	root := newRoot(t)
	id, err := CreateSessionWithOptions(root, "", SessionOptions{Labels: map[string]string{"owner": "alice", "tier": "free"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenSessionWithOptions(root, id, SessionOptions{Labels: map[string]string{"tier": "pro"}}); err != nil {
		t.Fatal(err)
	}
	got, err := SetLabels(root, id, "gpu=", "tier-")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"owner": "alice", "gpu": ""}; !maps.Equal(got, want) {
		t.Fatalf("labels %v, want %v", got, want)
	}
	for _, bad := range []string{"owner", "own er=x", "x\x00"} {
		if _, err := SetLabels(root, id, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("SetLabels(%q): %v, want ErrInvalidArgument", bad, err)
		}
	}
	if _, err := CreateSessionWithOptions(root, "s1", SessionOptions{Labels: map[string]string{"bad key": "x"}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad label: %v", err)
	}
	if exists(root + "/s1") {
		t.Fatal("a session with a bad label was created")
	}
	if _, err := SetLabels(root, "missing", "a=b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}
