package wsprune

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/wsprune/wsprune/bindings/go/internal/readme"
)

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func registered(root, id string) bool {
	return exists(filepath.Join(root, ".wsprune", "sessions", id))
}

func TestSessionOptionsDirMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	root := newRoot(t)
	id, err := CreateSessionWithOptions(root, "plain", SessionOptions{})
	if err != nil || id != "plain" {
		t.Fatal(id, err)
	}
	if m := modeOf(t, filepath.Join(root, id)); m != 0o700 {
		t.Fatalf("zero DirMode: mode %o, want 700", m)
	}
	if _, err := CreateSessionWithOptions(root, "shared", SessionOptions{DirMode: 0o750}); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, filepath.Join(root, "shared")); m != 0o750 {
		t.Fatalf("mode %o, want 750", m)
	}
	newID, err := CreateSessionWithOptions(root, "", SessionOptions{})
	if err != nil || len(newID) != 36 {
		t.Fatal(newID, err)
	}
	for _, bad := range []os.FileMode{0o644, 0o300, os.ModeSticky | 0o700, os.ModeDir | 0o700} {
		_, err := CreateSessionWithOptions(root, "bad", SessionOptions{DirMode: bad})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("mode %v: %v, want ErrInvalidArgument", bad, err)
		}
		if exists(filepath.Join(root, "bad")) {
			t.Fatalf("mode %v created the session", bad)
		}
	}
	id, created, err := OpenSessionWithOptions(root, "fresh", SessionOptions{DirMode: 0o710})
	if err != nil || !created || id != "fresh" || modeOf(t, filepath.Join(root, id)) != 0o710 {
		t.Fatal(id, created, err)
	}
}

func TestSessionOptionsAdoptAndReserved(t *testing.T) {
	root := newRoot(t)
	for _, d := range []string{"scratch", "pip-cache"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := OpenSessionWithOptions(root, "scratch", SessionOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("without Adopt: %v, want ErrNotFound", err)
	}
	if registered(root, "scratch") || exists(filepath.Join(root, "scratch", ".metadata.json")) {
		t.Fatal("a refused open wrote into the directory")
	}
	id, created, err := OpenSessionWithOptions(root, "scratch", SessionOptions{Adopt: true})
	if err != nil || created || id != "scratch" || !registered(root, "scratch") {
		t.Fatal(id, created, err)
	}
	reserved := SessionOptions{Adopt: true, Reserved: []string{"pip-cache", "models"}}
	if _, _, err := OpenSessionWithOptions(root, "pip-cache", reserved); !errors.Is(err, ErrInvalidSessionID) {
		t.Fatalf("reserved with Adopt: %v, want ErrInvalidSessionID", err)
	}
	if _, err := CreateSessionWithOptions(root, "models", reserved); !errors.Is(err, ErrInvalidSessionID) {
		t.Fatalf("reserved create: %v", err)
	}
	if registered(root, "pip-cache") || exists(filepath.Join(root, "models")) {
		t.Fatal("a reserved name was written")
	}
	if _, err := CreateSessionWithOptions(root, "x", SessionOptions{Reserved: []string{"a\x00b"}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NUL in a reserved name: %v", err)
	}
}

func TestMigrate(t *testing.T) {
	root := newRoot(t)
	legacy := "11111111-2222-4333-8444-555555555555"
	broken := "22222222-2222-4333-8444-555555555555"
	writeFile(t, filepath.Join(root, "old-nb", ".metadata.json"),
		[]byte(`{"session_id": "old-nb", "created_at": "2020-01-01T00:00:00+00:00", "updated_at": "2020-01-02T00:00:00+00:00"}`))
	writeFile(t, filepath.Join(root, broken, ".metadata.json"), []byte("{broken"))
	if err := os.Mkdir(filepath.Join(root, legacy), 0o755); err != nil {
		t.Fatal(err)
	}
	dry, err := Migrate(root, true)
	if err != nil || !dry.DryRun || len(dry.Registered) != 2 || dry.Skipped[broken] == "" {
		t.Fatalf("%+v %v", dry, err)
	}
	if registered(root, legacy) || registered(root, "old-nb") {
		t.Fatal("a dry run registered")
	}
	res, err := Migrate(root, false)
	if err != nil || res.DryRun || len(res.Registered) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	for _, m := range res.Registered {
		if m.ID == "old-nb" && (!m.HadMetadata || m.UpdatedAt.Year() != 2020) {
			t.Fatalf("old-nb: %+v", m)
		}
	}
	if !registered(root, legacy) || !registered(root, "old-nb") || registered(root, broken) {
		t.Fatal("records")
	}
	if _, err := Migrate(filepath.Join(root, "missing"), false); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

// The README's session-options recipe is ExampleOpenSessionWithOptions,
// which go test runs and checks: every line of it is a line of the example.
func TestReadmeSessionOptionsRecipeIsTheExample(t *testing.T) {
	readme.CheckRecipe(t, "README.md", "## Session options and migrating older sessions", "example_test.go", 5)
}
