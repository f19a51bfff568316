package wsprune_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	wsprune "github.com/wsprune/wsprune/bindings/go"
)

// A sandbox runtime creates a session per conversation, leases it while code
// runs in it, and prunes idle sessions from time to time.
func ExamplePrune() {
	root, err := os.MkdirTemp("", "wsprune-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	// A session in use right now.
	fresh, err := wsprune.CreateSession(root)
	if err != nil {
		log.Fatal(err)
	}
	lease, err := wsprune.Acquire(root, fresh)
	if err != nil {
		log.Fatal(err)
	}
	// ... run code in root/fresh ...
	if err := lease.Release(true); err != nil { // touch: it was just used
		log.Fatal(err)
	}

	// A session an older runtime (the reference implementation) left,
	// last used in 2020, with 1 MiB of output.
	const stale = "0f8fad5b-d9cb-469f-a165-70867728950e"
	if err := os.Mkdir(filepath.Join(root, stale), 0o700); err != nil {
		log.Fatal(err)
	}
	meta := `{"session_id":"` + stale + `","created_at":"2020-01-01T00:00:00.000000Z","updated_at":"2020-01-01T00:00:00.000000Z","version":1}`
	_ = os.WriteFile(filepath.Join(root, stale, ".metadata.json"), []byte(meta), 0o600)
	_ = os.WriteFile(filepath.Join(root, stale, "output.txt"), bytes.Repeat([]byte("x"), 1<<20), 0o644)

	opts := wsprune.PruneOptions{OlderThan: 24 * time.Hour, DryRun: true}
	dry, err := wsprune.Prune(root, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dry)

	opts.DryRun = false
	res, err := wsprune.Prune(root, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res)
	// Sizes are what the session takes on disk (du -sB1): the output, and
	// a block or two for the metadata and the directory.
	fmt.Println("deleted:", res.Deleted, "MiB:", res.ReclaimedBytes>>20)

	err = wsprune.Touch(root, stale)
	fmt.Println("touch a pruned session:", errors.Is(err, wsprune.ErrNotFound))
	// Output:
	// Would prune 1 session (0 skipped, 0 errors), would reclaim 1.0 MB
	// Pruned 1 session (0 skipped, 0 errors), reclaimed 1.0 MB
	// deleted: [0f8fad5b-d9cb-469f-a165-70867728950e] MiB: 1
	// touch a pruned session: true
}

func ExampleSetLogger() {
	root, err := os.MkdirTemp("", "wsprune-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	var mu sync.Mutex // events may arrive on several goroutines at once
	wsprune.SetLogger(func(e wsprune.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Level >= wsprune.LevelInfo {
			fmt.Println(e.Level, e.Name, e.Fields["dry_run"])
		}
	})
	defer wsprune.SetLogger(nil)

	if _, err := wsprune.Prune(root, wsprune.PruneOptions{OlderThan: wsprune.DefaultOlderThan, DryRun: true}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// info session.prune.started true
	// info session.prune.completed true
}

func ExampleAcquire() {
	root, err := os.MkdirTemp("", "wsprune-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	id, err := wsprune.CreateSession(root)
	if err != nil {
		log.Fatal(err)
	}

	lease, err := wsprune.Acquire(root, id)
	if errors.Is(err, wsprune.ErrBusy) {
		log.Fatal("a prune is deleting this session")
	} else if err != nil {
		log.Fatal(err)
	}
	// While the lease is held, a prune skips the session as "in_use".
	res, err := wsprune.Prune(root, wsprune.PruneOptions{OlderThan: wsprune.EveryIdleSession})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Skipped[0].Reason)
	fmt.Println(lease.Release(true))  // touch on success
	fmt.Println(lease.Release(false)) // idempotent
	// Output:
	// in_use
	// <nil>
	// wsprune: lease already released
}

// Retention beyond age: cap the workspace's size, evicting the least recently
// used sessions first, and see which rule took each one.
func ExamplePrune_retention() {
	root, err := os.MkdirTemp("", "wsprune-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	// Three sessions of 10 kB each that an older runtime left, last used 3,
	// 2 and 1 hours ago.
	ids := []string{
		"00000000-0000-4000-8000-000000000003",
		"00000000-0000-4000-8000-000000000002",
		"00000000-0000-4000-8000-000000000001",
	}
	for i, id := range ids {
		if err := os.Mkdir(filepath.Join(root, id), 0o700); err != nil {
			log.Fatal(err)
		}
		used := time.Now().UTC().Add(-time.Duration(3-i) * time.Hour).Format("2006-01-02T15:04:05.000000Z")
		meta := `{"session_id":"` + id + `","created_at":"` + used + `","updated_at":"` + used + `","version":1}`
		_ = os.WriteFile(filepath.Join(root, id, ".metadata.json"), []byte(meta), 0o600)
		_ = os.WriteFile(filepath.Join(root, id, "output.bin"), make([]byte, 10_000), 0o644)
	}

	res, err := wsprune.Prune(root, wsprune.PruneOptions{
		NoAgeRule:     true,   // size only (a zero OlderThan is the default 24 h age rule)
		MaxTotalBytes: 45_000, // room for two sessions (16 to 20 KiB on disk each); sessions used within the hour are spared
		Jobs:          4,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, id := range res.Deleted {
		fmt.Println(id, res.DeletedRules[id])
	}
	// Output:
	// 00000000-0000-4000-8000-000000000003 max_total_bytes
}

func ExampleSessionInfo() {
	root, err := os.MkdirTemp("", "wsprune-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	id, err := wsprune.CreateSession(root)
	if err != nil {
		log.Fatal(err)
	}
	lease, err := wsprune.Acquire(root, id)
	if err != nil {
		log.Fatal(err)
	}
	info, err := wsprune.SessionInfo(root, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.State, info.InUse, info.Created.Equal(info.Updated))

	// A leased session cannot be deleted; once released, it can.
	_, err = wsprune.DeleteSession(root, id, 0)
	fmt.Println(errors.Is(err, wsprune.ErrBusy))
	_ = lease.Release(false)
	_, err = wsprune.DeleteSession(root, id, time.Second)
	fmt.Println(err)
	// Output:
	// ok true true
	// true
	// <nil>
}

// Legacy sessions (no metadata) are never pruned by age; Repair dates them by
// their newest file so that they can be.
func ExampleRepair() {
	root, err := os.MkdirTemp("", "wsprune-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	const legacy = "6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	_ = os.MkdirAll(filepath.Join(root, legacy), 0o755)
	work := filepath.Join(root, legacy, "work.txt")
	_ = os.WriteFile(work, []byte("from before metadata"), 0o644)
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	_ = os.Chtimes(work, old, old)

	res, err := wsprune.Repair(root, false)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res.Repaired {
		fmt.Println(r.ID, r.PreviousState, r.UpdatedAt)
	}
	pruned, err := wsprune.Prune(root, wsprune.PruneOptions{OlderThan: wsprune.DefaultOlderThan})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pruned.DeletedRules)
	// Output:
	// 6ba7b810-9dad-41d1-80b4-00c04fd430c8 legacy 2020-01-02 03:04:05 +0000 UTC
	// map[6ba7b810-9dad-41d1-80b4-00c04fd430c8:older_than]
}

// The session options and migrating the sessions older writers left.
func ExampleOpenSessionWithOptions() {
	root, _ := os.MkdirTemp("", "wsprune-example-")
	defer os.RemoveAll(root)
	_ = os.Mkdir(filepath.Join(root, "operator-dir"), 0o755) // no metadata: not a session

	id, created, err := wsprune.OpenSessionWithOptions(root, "chat-8",
		wsprune.SessionOptions{DirMode: 0o750, Reserved: []string{"pip-cache"}})
	fmt.Println(id, created, err)
	_, _, err = wsprune.OpenSessionWithOptions(root, "operator-dir", wsprune.SessionOptions{})
	fmt.Println(errors.Is(err, wsprune.ErrNotFound)) // not adopted without asking
	_, _, err = wsprune.OpenSessionWithOptions(root, "operator-dir", wsprune.SessionOptions{Adopt: true})
	fmt.Println(err) // a session now: prunes may delete it
	plan, err := wsprune.Migrate(root, true)
	fmt.Println(len(plan.Registered), err)
	// Output:
	// chat-8 true <nil>
	// true
	// <nil>
	// 0 <nil>
}

func ExamplePinSession() {
	root, _ := os.MkdirTemp("", "wsprune-example-")
	defer os.RemoveAll(root)

	now := time.Now()
	id, err := wsprune.CreateSessionWithOptions(root, "notebook-7", wsprune.SessionOptions{IdleTTL: time.Hour})
	fmt.Println(id, err)
	fmt.Println(wsprune.PinSession(root, id, now.Add(8*time.Hour))) // kept for the working day
	soon, err := wsprune.Prune(root, wsprune.PruneOptions{DryRun: true, AsOf: now.Add(9 * time.Hour)})
	fmt.Println(soon.DeletedRules, err) // warn its user
	fmt.Println(wsprune.UnpinSession(root, id))
	fmt.Println(wsprune.SetSessionTTL(root, id, 0, now.Add(24*time.Hour))) // replaces the idle TTL
	// Output:
	// notebook-7 <nil>
	// <nil>
	// map[notebook-7:ttl] <nil>
	// <nil>
	// <nil>
}
