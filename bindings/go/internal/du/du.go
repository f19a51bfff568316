// Package du counts what `du -sB1` counts, for the tests of the binding and
// of the collector: an independent check of the sizes the library reports.
package du

import (
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
)

// Bytes is the allocated blocks (st_blocks * 512) of dir and everything
// below it, each inode once.
func Bytes(t testing.TB, dir string) uint64 {
	t.Helper()
	var n uint64
	seen := map[[2]uint64]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			return err
		}
		if st.Nlink > 1 && !d.IsDir() {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		n += uint64(st.Blocks) * 512
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
