package wsprune

import (
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"
)

func TestWorkspaceStats(t *testing.T) {
	root := newRoot(t)
	old := createOld(t, root)
	writeFile(t, filepath.Join(root, old, "data.bin"), make([]byte, 5000))
	young := mustCreate(t, root)
	lease, err := Acquire(root, young)
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Release(false)

	s, err := WorkspaceStats(root, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.Sessions[StateOK] != 2 || s.Sessions[StateLegacy] != 0 || s.Leased != 1 {
		t.Fatalf("counts: %+v", s)
	}
	if !s.SizesMeasured || s.TotalBytes != treeSize(t, filepath.Join(root, old))+treeSize(t, filepath.Join(root, young)) {
		t.Fatalf("sizes: %+v", s)
	}
	if len(s.Idle) != 6 || s.Idle[0].Sessions != 1 || s.Idle[0].UpperSeconds != 3600 || !math.IsInf(s.Idle[5].UpperSeconds, 1) {
		t.Fatalf("buckets: %+v", s.Idle)
	}
	var inBuckets uint64
	for _, b := range s.Idle {
		inBuckets += b.Sessions
	}
	if inBuckets != 2 || s.OldestIdle < time.Hour || s.FSSizeBytes == 0 || s.FSAvailableBytes > s.FSSizeBytes {
		t.Fatalf("%+v", s)
	}
	quick, err := WorkspaceStats(root, false)
	if err != nil || quick.SizesMeasured || quick.TotalBytes != 0 || quick.Sessions[StateOK] != 2 {
		t.Fatalf("%+v %v", quick, err)
	}
	if _, err := WorkspaceStats(filepath.Join(root, "missing"), false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing root: %v", err)
	}
}
