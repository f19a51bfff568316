package wsprune

/*
#include "wsprune.h"
*/
import "C"

import "time"

// Pins and per-session TTLs (docs/contract.md, "Pins" and "Per-session
// TTL"): kept in the session's record in the root's host directory, which
// no guest can write.

// micros is t as the C ABI takes a time: microseconds since the Unix epoch,
// 0 for the zero time ("none"; the epoch itself becomes 1 µs later).
func micros(t time.Time) C.int64_t {
	if t.IsZero() {
		return 0
	}
	us := t.UnixMicro()
	if us == 0 {
		us = 1
	}
	return C.int64_t(us)
}

// ttlSeconds is an idle TTL in whole seconds (0: none); a positive TTL
// under a second or a negative one is ErrInvalidArgument (it would read as
// "none" in C).
func ttlSeconds(d time.Duration) (C.uint64_t, error) {
	if d == 0 {
		return 0, nil
	}
	if d < time.Second {
		return 0, &Error{Status: StatusInvalidArgument, Message: "idle TTL " + d.String() + ": expected at least 1s"}
	}
	if d%time.Second != 0 {
		// Refused, never cut off (docs/contract.md, "Per-session TTL").
		return 0, &Error{Status: StatusInvalidArgument, Message: "idle TTL " + d.String() + ": expected a whole number of seconds"}
	}
	return C.uint64_t(d / time.Second), nil
}

// PinSession pins session id: no prune rule (age, capacity, TTL) deletes it
// while the pin holds (a prune reports it skipped, reason "pinned"), and
// DeleteSessionWithOptions needs Force. A non-zero until ends the pin then
// (it must be later than now); the zero time pins until UnpinSession. Only a
// registered session can be pinned (an unregistered wsprune 0.3 directory
// is ErrInvalidArgument: `wsprune migrate` registers it); a missing one is
// ErrNotFound.
func PinSession(root, id string, until time.Time) error {
	return withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_pin(croot, cid, micros(until), cerr)
	})
}

// UnpinSession removes session id's pin (an unpinned session is fine).
func UnpinSession(root, id string) error {
	return withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_unpin(croot, cid, cerr)
	})
}

// SetSessionTTL replaces session id's own TTL: idle (0: none; at least 1s)
// and expiresAt (the zero time: none). A prune deletes the session once
// either has passed, whatever its age rule, never while it is leased or
// pinned. Both zero removes the TTL.
func SetSessionTTL(root, id string, idle time.Duration, expiresAt time.Time) error {
	secs, err := ttlSeconds(idle)
	if err != nil {
		return err
	}
	return withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_set_ttl(croot, cid, secs, micros(expiresAt), cerr)
	})
}

// DeleteOptions says how DeleteSessionWithOptions deletes a session; the
// zero value is DeleteSession's behaviour.
type DeleteOptions struct {
	// Wait is how long to wait for the session's leases to be released.
	Wait time.Duration
	// SingleHost: as DeleteSessionSingleHost.
	SingleHost bool
	// Force deletes a pinned session too (without it, ErrInvalidArgument).
	Force bool
}

// DeleteSessionWithOptions is DeleteSession with DeleteOptions.
func DeleteSessionWithOptions(root, id string, opts DeleteOptions) (uint64, error) {
	var flags C.uint64_t
	if opts.SingleHost {
		flags |= C.WSPRUNE_FLAG_SINGLE_HOST
	}
	if opts.Force {
		flags |= C.WSPRUNE_FLAG_FORCE
	}
	return deleteSession(root, id, opts.Wait, flags)
}
