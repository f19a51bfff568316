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
	// Problem is what ListSessions found wrong: why the session could not
	// be read (StateUnreadable: its size is unknown and Size is 0) or why
	// its metadata is corrupted; else "". SessionInfo leaves it "".
	Problem string `json:"problem"`
	// Labels are the session's labels, from its host-owned record
	// (ListSessions only; SessionInfo leaves it nil): empty when it has
	// none (and for a directory that is not registered), nil when they
	// cannot be read.
	Labels map[string]string `json:"labels"`
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
// A root on NFS, SMB, 9p or FUSE is ErrInvalidArgument (see
// DeleteSessionSingleHost).
func DeleteSession(root, id string, wait time.Duration) (uint64, error) {
	return deleteSession(root, id, wait, 0)
}

// DeleteSessionSingleHost is DeleteSession on a root that the caller declares
// no other host uses: on NFS, SMB, 9p or FUSE (where a lease is kept by one
// host only) it proceeds, emitting a "workspace.shared_filesystem" warning
// event, instead of failing with ErrInvalidArgument.
func DeleteSessionSingleHost(root, id string, wait time.Duration) (uint64, error) {
	return deleteSession(root, id, wait, C.WSPRUNE_FLAG_SINGLE_HOST)
}

func deleteSession(root, id string, wait time.Duration, flags C.uint64_t) (uint64, error) {
	var n C.uint64_t
	err := withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_delete_with_flags(croot, cid, C.uint32_t(millis(wait)), flags, &n, cerr)
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
	res := &RepairResult{}
	err = ownedJSON("wsprune_repair_sessions", res, func(out **C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_repair_sessions(croot, C.bool(dryRun), nil, out, cerr)
	})
	if err != nil {
		return nil, err
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

// ownedJSON makes a C call whose result is an owned JSON string (its
// out_json and error parameters are call's), frees the string and decodes
// it into v. A call that fails returns its error.
func ownedJSON(name string, v any, call func(out **C.char, cerr **C.wsprune_error) C.enum_wsprune_status) error {
	var cjson *C.char
	var cerr *C.wsprune_error
	st := call(&cjson, &cerr)
	if err := takeError(st, cerr); err != nil {
		C.wsprune_string_free(cjson) // NULL on failure; free anyway in case
		return err
	}
	if cjson == nil {
		return &Error{Status: StatusPanic, Message: name + " succeeded without its JSON"}
	}
	text := C.GoString(cjson)
	C.wsprune_string_free(cjson)
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return &Error{Status: StatusPanic, Message: "cannot parse the JSON of " + name + ": " + text + ": " + err.Error()}
	}
	return nil
}

// ListSessions lists every session under root, sorted by id: what a prune
// considers (UUID-named directories, and custom-id directories holding
// .metadata.json; never hidden entries, site-packages or symlinks), each
// measured and probed as by SessionInfo (wsprune_list_sessions, the form of
// wsprune ls --json). A session that could not be read is listed with
// StateUnreadable, Size 0 (unknown) and the reason in Problem; corrupted
// metadata has its reason in Problem too. A missing root is ErrNotFound.
// The slice is never nil. Needs libwsprune >= 0.3.0.
func ListSessions(root string) ([]Info, error) {
	croot, err := cRoot(root)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(croot))
	list := []Info{}
	err = ownedJSON("wsprune_list_sessions", &list, func(out **C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_list_sessions(croot, out, cerr)
	})
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Created = list[i].Created.UTC()
		list[i].Updated = list[i].Updated.UTC()
	}
	return list, nil
}

// MetadataDocument is a session's metadata file as stored (ReadMetadata).
type MetadataDocument struct {
	// ID is the name the session was found under: a UUID's canonical
	// spelling, or the custom id given.
	ID string `json:"session_id"`
	// State is StateOK, StateLegacy (no metadata file) or StateCorrupted.
	State SessionState `json:"state"`
	// Metadata is the file's JSON object with every field as stored
	// (timestamps in the writer's own format, unknown fields kept) when
	// State is StateOK; else nil.
	Metadata json.RawMessage `json:"metadata"`
	// Problem is why the metadata is corrupted (StateCorrupted); else "".
	Problem string `json:"problem"`
}

// ReadMetadata reads session id's metadata as stored, without measuring or
// locking anything (wsprune_session_read_metadata): the library opens it
// through its checked open, so a session directory that is a symlink is not
// followed (ErrNotFound) and a .metadata.json that is a FIFO, device node or
// symlink is StateCorrupted, never read. A UUID is found by any spelling. A
// directory named like a custom id without metadata reads as StateLegacy.
// A missing session (or root) is ErrNotFound, an id that is neither a UUID
// nor a custom id ErrInvalidSessionID, a session that is a mount point
// ErrIO. Needs libwsprune >= 0.3.0.
func ReadMetadata(root, id string) (*MetadataDocument, error) {
	croot, err := cRoot(root)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(croot))
	cid, err := cID(id)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cid))
	doc := &MetadataDocument{}
	err = ownedJSON("wsprune_session_read_metadata", doc, func(out **C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_read_metadata(croot, cid, out, cerr)
	})
	if err != nil {
		return nil, err
	}
	if doc.State != StateOK {
		doc.Metadata = nil // the JSON's null
	}
	return doc, nil
}
