package wsprune

/*
#include <stdlib.h>
#include "wsprune.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"time"
	"unsafe"
)

// SessionState is the state of a session's metadata. The numeric values are
// the C library's stable wsprune_session_state values.
type SessionState int

// The metadata states (wsprune_session_state).
const (
	StateOK         SessionState = 0 // valid metadata: the timestamps are known
	StateLegacy     SessionState = 1 // no metadata file (a session from before metadata existed)
	StateCorrupted  SessionState = 2 // a metadata file that cannot be used
	StateUnreadable SessionState = 3 // the session could not be read (only in listings)
)

// String gives "ok", "legacy" or "corrupted" (the library's names, as in
// repair's JSON and the events), or "state(N)" for another value.
func (s SessionState) String() string {
	switch s {
	case StateOK:
		return "ok"
	case StateLegacy:
		return "legacy"
	case StateCorrupted:
		return "corrupted"
	case StateUnreadable:
		return "unreadable"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// MarshalText gives the String form, so a SessionState is a JSON string.
func (s SessionState) MarshalText() ([]byte, error) {
	return []byte(s.String()), nil
}

// UnmarshalText parses "ok", "legacy" or "corrupted".
func (s *SessionState) UnmarshalText(b []byte) error {
	for _, v := range []SessionState{StateOK, StateLegacy, StateCorrupted, StateUnreadable} {
		if string(b) == v.String() {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("wsprune: unknown session state %q", b)
}

// Info is what SessionInfo reports about a session.
type Info struct {
	// ID is the session id.
	ID string `json:"session_id"`
	// Created is created_at, in UTC; the zero time unless State is StateOK.
	Created time.Time `json:"created_at"`
	// Updated is updated_at (last use), in UTC; the zero time unless State is StateOK.
	Updated time.Time `json:"updated_at"`
	// Size is the sum of the sizes of the files in the session (symlinks
	// counting themselves): what deleting it frees.
	Size uint64 `json:"size_bytes"`
	// State is the metadata's state.
	State SessionState `json:"state"`
	// InUse tells whether a lease (or a prune) held the session when it was
	// probed (a non-blocking lock, released at once).
	InUse bool `json:"in_use"`
}

// SessionInfo reports what is known about session id: timestamps, size,
// metadata state and whether it is in use. It changes nothing. A UUID is
// found by any spelling (Info.ID is the id as passed). A missing session (or
// root) is ErrNotFound, and so is a directory named like a custom id without
// metadata (not a session); an id that is neither a UUID nor a custom id is
// ErrInvalidSessionID.
func SessionInfo(root, id string) (*Info, error) {
	var ci C.wsprune_session_details
	ci.struct_size = C.sizeof_wsprune_session_details
	err := withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_info(croot, cid, &ci, cerr)
	})
	if err != nil {
		return nil, err
	}
	info := &Info{
		ID:    id,
		Size:  uint64(ci.size_bytes),
		State: SessionState(ci.state),
		InUse: bool(ci.in_use),
	}
	if info.State == StateOK {
		info.Created = time.UnixMicro(int64(ci.created_at_us)).UTC()
		info.Updated = time.UnixMicro(int64(ci.updated_at_us)).UTC()
	}
	return info, nil
}

// DeleteSession deletes session id now, whatever its age or metadata, with
// the same locked, atomic deletion as a prune, and returns the bytes freed.
// A leased session is ErrBusy, after waiting up to wait for its leases to be
// released (0 or negative: do not wait; rounded up to whole milliseconds,
// capped at 2^32-1 ms). A missing session (or root) is ErrNotFound; a failure
// part-way is ErrIO (what remains is in a hidden trash directory that the next
// prune finishes, reporting it in PruneResult.Interrupted).
func DeleteSession(root, id string, wait time.Duration) (uint64, error) {
	var n C.uint64_t
	err := withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_delete(croot, cid, C.uint32_t(millis(wait)), &n, cerr)
	})
	if err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// RepairedSession is a session Repair gave metadata to (or, in a dry run,
// would have).
type RepairedSession struct {
	// ID is the session id.
	ID string `json:"session_id"`
	// PreviousState is what the metadata was: StateLegacy or StateCorrupted.
	PreviousState SessionState `json:"previous_state"`
	// UpdatedAt is the created_at and updated_at written (the newest
	// modification time found in the session), in UTC.
	UpdatedAt time.Time `json:"updated_at"`
}

// RepairResult is what Repair did (or, in a dry run, would do). Its slice and
// map are never nil.
type RepairResult struct {
	// Repaired lists the sessions given metadata, sorted by id.
	Repaired []RepairedSession `json:"repaired"`
	// Errors maps the id of each session that needed repair but could not be
	// repaired (leased, an I/O error) to a message.
	Errors map[string]string `json:"errors"`
	// DryRun tells whether this was a dry run (nothing written).
	DryRun bool `json:"dry_run"`
}

// Repair writes metadata for every session under root that has none (legacy)
// or has corrupted metadata, dated by the newest modification time found in
// the session, so that age rules can apply to it. It is never run
// implicitly. Leased sessions are left alone and listed in Errors. With
// dryRun, it writes nothing and reports what it would do. A missing root is
// ErrNotFound.
func Repair(root string, dryRun bool) (*RepairResult, error) {
	croot, err := cRoot(root)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(croot))
	var cjson *C.char
	var cerr *C.wsprune_error
	st := C.wsprune_repair_sessions(croot, C.bool(dryRun), nil, &cjson, &cerr)
	if err := takeError(st, cerr); err != nil {
		C.wsprune_string_free(cjson) // NULL on failure; free anyway in case
		return nil, err
	}
	if cjson == nil {
		return nil, &Error{Status: StatusPanic, Message: "wsprune_repair_sessions succeeded without its JSON"}
	}
	text := C.GoString(cjson)
	C.wsprune_string_free(cjson)
	res := &RepairResult{}
	if err := json.Unmarshal([]byte(text), res); err != nil {
		return nil, &Error{Status: StatusPanic, Message: "cannot parse the repair result " + text + ": " + err.Error()}
	}
	if res.Repaired == nil {
		res.Repaired = []RepairedSession{}
	}
	if res.Errors == nil {
		res.Errors = map[string]string{}
	}
	for i := range res.Repaired {
		res.Repaired[i].UpdatedAt = res.Repaired[i].UpdatedAt.UTC()
	}
	return res, nil
}
