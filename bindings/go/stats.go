package wsprune

/*
#include <stdlib.h>
#include "wsprune.h"
*/
import "C"

import (
	"math"
	"time"
	"unsafe"
)

// IdleBucket is one bucket of Stats.Idle: the sessions idle for at most
// UpperSeconds (math.Inf(1) for the last bucket) and more than the previous
// bucket's bound (not cumulative).
type IdleBucket struct {
	UpperSeconds float64
	Sessions     uint64
	// Bytes is their total size; 0 unless sizes were measured.
	Bytes uint64
}

// Stats are a workspace root's statistics at one instant (WorkspaceStats).
type Stats struct {
	// CollectedAt is when they were gathered; idle times are measured from it.
	CollectedAt time.Time
	// Sessions counts the sessions by state.
	Sessions map[SessionState]uint64
	// Leased is how many sessions were leased (or being deleted).
	Leased uint64
	// SizesMeasured tells whether TotalBytes and the buckets' Bytes were measured.
	SizesMeasured bool
	// TotalBytes is the sessions' total size; 0 unless SizesMeasured.
	TotalBytes uint64
	// Idle holds the sessions whose last use is known (StateOK) by idle
	// time: at most 1 h, 6 h, 24 h, 7 d, 30 d, and longer.
	Idle []IdleBucket
	// OldestIdle is the longest idle time; negative when no session's last use is known.
	OldestIdle time.Duration
	// The root filesystem: size, bytes available to unprivileged users, inodes.
	FSSizeBytes, FSAvailableBytes, FSInodes, FSFreeInodes uint64
}

// WorkspaceStats gathers the statistics of root: sessions by state, how
// many are leased, idle-time buckets, the oldest idle time and the root
// filesystem's capacity; with measureSizes also every session's size (a walk
// of each, as ListSessions does). It reads only and takes no lock a prune
// waits for. A missing root is ErrNotFound. Needs libwsprune >= 0.4.0.
func WorkspaceStats(root string, measureSizes bool) (*Stats, error) {
	croot, err := cRoot(root)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(croot))
	var flags C.uint64_t
	if measureSizes {
		flags = C.WSPRUNE_STATS_MEASURE_SIZES
	}
	var cerr *C.wsprune_error
	s := C.wsprune_workspace_stats(croot, flags, &cerr)
	if s == nil {
		return nil, takeError(C.wsprune_error_status(cerr), cerr)
	}
	defer C.wsprune_stats_free(s)
	out := &Stats{
		CollectedAt:      time.UnixMicro(int64(C.wsprune_stats_collected_at_us(s))).UTC(),
		Sessions:         map[SessionState]uint64{},
		Leased:           uint64(C.wsprune_stats_leased(s)),
		SizesMeasured:    bool(C.wsprune_stats_sizes_measured(s)),
		TotalBytes:       uint64(C.wsprune_stats_total_bytes(s)),
		FSSizeBytes:      uint64(C.wsprune_stats_fs_size_bytes(s)),
		FSAvailableBytes: uint64(C.wsprune_stats_fs_available_bytes(s)),
		FSInodes:         uint64(C.wsprune_stats_fs_inodes(s)),
		FSFreeInodes:     uint64(C.wsprune_stats_fs_free_inodes(s)),
		OldestIdle:       -1,
	}
	for _, st := range []SessionState{StateOK, StateLegacy, StateCorrupted, StateUnreadable} {
		out.Sessions[st] = uint64(C.wsprune_stats_sessions(s, C.int(st)))
	}
	for i := 0; i < C.WSPRUNE_STATS_IDLE_BUCKETS; i++ {
		out.Idle = append(out.Idle, IdleBucket{
			UpperSeconds: float64(C.wsprune_stats_idle_bucket_upper_seconds(s, C.size_t(i))),
			Sessions:     uint64(C.wsprune_stats_idle_bucket_sessions(s, C.size_t(i))),
			Bytes:        uint64(C.wsprune_stats_idle_bucket_bytes(s, C.size_t(i))),
		})
	}
	if o := float64(C.wsprune_stats_oldest_idle_seconds(s)); o >= 0 && !math.IsNaN(o) {
		out.OldestIdle = time.Duration(o * float64(time.Second))
	}
	return out, nil
}
