package wsprune_test

import (
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

	// A session last used in 2020, with 1000 bytes of output.
	const stale = "0f8fad5b-d9cb-469f-a165-70867728950e"
	if err := wsprune.CreateSessionWithID(root, stale); err != nil {
		log.Fatal(err)
	}
	meta := `{"session_id":"` + stale + `","created_at":"2020-01-01T00:00:00.000000Z","updated_at":"2020-01-01T00:00:00.000000Z","version":1}`
	_ = os.WriteFile(filepath.Join(root, stale, ".metadata.json"), []byte(meta), 0o600)
	_ = os.WriteFile(filepath.Join(root, stale, "output.txt"), make([]byte, 1000), 0o644)

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
	fmt.Println("deleted:", res.Deleted, "bytes:", res.ReclaimedBytes)

	err = wsprune.Touch(root, stale)
	fmt.Println("touch a pruned session:", errors.Is(err, wsprune.ErrNotFound))
	// Output:
	// Would prune 1 session (0 skipped, 0 errors), would reclaim 1.1 KB
	// Pruned 1 session (0 skipped, 0 errors), reclaimed 1.1 KB
	// deleted: [0f8fad5b-d9cb-469f-a165-70867728950e] bytes: 1151
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
	res, err := wsprune.Prune(root, wsprune.PruneOptions{}) // threshold 0: everything idle
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
