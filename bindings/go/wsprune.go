// Package wsprune is the Go binding of wsprune: session workspace metadata,
// leases and safe pruning for code-execution sandboxes.
//
// A sandbox runtime keeps one workspace directory per session under a
// workspace root, named by a UUID. wsprune records when each session was
// created and last used (<root>/<id>/.metadata.json), lets the runtime hold a
// lease while code runs in a session, and deletes stale sessions without ever
// deleting the wrong thing (no symlink, no mount, nothing outside the root,
// never a leased or just-touched session).
//
// The package calls the C library libwsprune through cgo and finds it with
// pkg-config (package "wsprune"): set PKG_CONFIG_PATH to <prefix>/lib/pkgconfig
// when building, and make libwsprune.so.0 findable at run time
// (LD_LIBRARY_PATH, ldconfig, or an rpath).
//
// # Errors
//
// Library failures are *Error values carrying the library's Status and
// message. Each wraps one sentinel (ErrInvalidArgument, ErrInvalidSessionID,
// ErrNotFound, ErrAlreadyExists, ErrBusy, ErrIO, ErrPanic), so callers test
// them with errors.Is, and get at the details with errors.As:
//
//	if errors.Is(err, wsprune.ErrNotFound) { ... }
//	var e *wsprune.Error
//	if errors.As(err, &e) { log.Print(e.Status, e.Message) }
//
// # Concurrency
//
// Every function may be called from any goroutine at the same time. A *Lease
// may be shared between goroutines (its methods are serialised).
package wsprune

/*
#cgo pkg-config: wsprune
#include <stdlib.h>
#include "wsprune.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Status is the kind of a library failure. The numeric values are the C
// library's stable wsprune_status values.
type Status int

// The statuses of the C library (wsprune_status), with their stable values.
const (
	StatusOK               Status = 0 // success (never carried by an *Error)
	StatusInvalidArgument  Status = 1 // empty root, NUL byte, non-UTF-8, NaN/negative/infinite hours
	StatusInvalidSessionID Status = 2 // not a UUID; every traversal attempt lands here
	StatusNotFound         Status = 3 // no such session (or root, for Touch and Acquire)
	StatusAlreadyExists    Status = 4 // CreateSessionWithID with an existing id
	StatusBusy             Status = 5 // Acquire while a prune holds the session (after 2 s)
	StatusIO               Status = 6 // an operating-system error
	StatusPanic            Status = 7 // a bug inside wsprune, caught at the boundary
)

// String gives the library's name for the status, e.g.
// "WSPRUNE_STATUS_NOT_FOUND" ("WSPRUNE_STATUS_UNKNOWN" for other values).
func (s Status) String() string {
	if s < 0 || s > 1<<31-1 {
		return "WSPRUNE_STATUS_UNKNOWN"
	}
	return C.GoString(C.wsprune_status_name(C.enum_wsprune_status(s)))
}

// Sentinel errors, one per failure status. Every *Error returned by this
// package wraps exactly one of them, so use errors.Is(err, ErrNotFound).
var (
	ErrInvalidArgument  = errors.New("wsprune: invalid argument")
	ErrInvalidSessionID = errors.New("wsprune: invalid session id")
	ErrNotFound         = errors.New("wsprune: not found")
	ErrAlreadyExists    = errors.New("wsprune: already exists")
	ErrBusy             = errors.New("wsprune: busy")
	ErrIO               = errors.New("wsprune: I/O error")
	ErrPanic            = errors.New("wsprune: internal error (panic)")
)

// ErrLeaseReleased is returned by (*Lease).Release when the lease was already
// released. It is not a library error (not an *Error).
var ErrLeaseReleased = errors.New("wsprune: lease already released")

// Error is a failed library call: the library's status and message.
type Error struct {
	Status  Status // the kind of failure
	Message string // the library's message, naming what failed
}

// Error gives "wsprune: " and the library's message.
func (e *Error) Error() string {
	if e.Message == "" {
		return "wsprune: " + e.Status.String()
	}
	return "wsprune: " + e.Message
}

// Unwrap gives the sentinel error of e's status (nil for an unknown status),
// which makes errors.Is(err, ErrNotFound) work.
func (e *Error) Unwrap() error {
	switch e.Status {
	case StatusInvalidArgument:
		return ErrInvalidArgument
	case StatusInvalidSessionID:
		return ErrInvalidSessionID
	case StatusNotFound:
		return ErrNotFound
	case StatusAlreadyExists:
		return ErrAlreadyExists
	case StatusBusy:
		return ErrBusy
	case StatusIO:
		return ErrIO
	case StatusPanic:
		return ErrPanic
	}
	return nil
}

// Is reports whether target is an *Error with the same Status, so that
// errors.Is(err, &wsprune.Error{Status: wsprune.StatusBusy}) works too.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && (t.Message == "" || t.Message == e.Message)
}

// takeError turns a status and an owned C error into a Go error, always
// freeing the C error.
func takeError(st C.enum_wsprune_status, cerr *C.wsprune_error) error {
	if cerr == nil {
		if st == C.WSPRUNE_STATUS_OK {
			return nil
		}
		return &Error{Status: Status(st)}
	}
	defer C.wsprune_error_free(cerr)
	if st == C.WSPRUNE_STATUS_OK {
		st = C.wsprune_error_status(cerr)
	}
	return &Error{Status: Status(st), Message: C.GoString(C.wsprune_error_message(cerr))}
}

// cString copies s into C memory (free it with C.free). A Go string may hold a
// NUL byte, which C would silently cut the string at; that is refused with
// status st instead.
func cString(s, what string, st Status) (*C.char, error) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, &Error{Status: st, Message: what + " contains a NUL byte at offset " + strconv.Itoa(i)}
	}
	return C.CString(s), nil
}

func cRoot(root string) (*C.char, error) {
	return cString(root, "workspace root", StatusInvalidArgument)
}

func cID(id string) (*C.char, error) {
	return cString(id, "session id", StatusInvalidSessionID)
}

// Version is the C library's version, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.wsprune_version())
}

// CreateSession creates a session with a new random UUIDv4 under root
// (created if missing), writes its metadata (created_at == updated_at) and
// returns its id.
func CreateSession(root string) (string, error) {
	croot, err := cRoot(root)
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(croot))
	var buf [64]C.char // the library needs 37 bytes
	var cerr *C.wsprune_error
	st := C.wsprune_session_create(croot, nil, &buf[0], C.size_t(len(buf)), &cerr)
	if err := takeError(st, cerr); err != nil {
		return "", err
	}
	return C.GoString(&buf[0]), nil
}

// CreateSessionWithID creates session id (a UUID) under root (created if
// missing) and writes its metadata. An existing session is ErrAlreadyExists; an
// id that is not a UUID is ErrInvalidSessionID.
func CreateSessionWithID(root, id string) error {
	return withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_create(croot, cid, nil, 0, cerr)
	})
}

// Touch sets the session's updated_at to now, preserving every other field.
// A legacy session without metadata is not an error (nothing is written);
// corrupted metadata is left untouched, with a "session.metadata.corrupted"
// warning event, and is not an error either. A missing session (or root) is
// ErrNotFound.
func Touch(root, id string) error {
	return withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_touch(croot, cid, cerr)
	})
}

// withRootAndID passes root and id to call as C strings (freed afterwards)
// and turns the status and error it returns into a Go error.
func withRootAndID(root, id string, call func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status) error {
	croot, err := cRoot(root)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(croot))
	cid, err := cID(id)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cid))
	var cerr *C.wsprune_error
	st := call(croot, cid, &cerr)
	return takeError(st, cerr)
}

// Lease is a shared lock on a session directory, held while code runs in the
// session: a prune skips a leased session (reason "in_use"). Several leases
// may share a session. Release it with Release; a lease that becomes
// unreachable without being released is released (without touching) by a
// finalizer, but do not rely on that: the garbage collector decides when.
type Lease struct {
	mu   sync.Mutex
	ptr  *C.wsprune_lease // nil once released
	root string
	id   string
}

// Acquire takes a lease on session id. It waits up to 2 seconds while a prune
// is deciding about the session, then gives ErrBusy; a missing session (or one
// pruned meanwhile) is ErrNotFound.
func Acquire(root, id string) (*Lease, error) {
	var p *C.wsprune_lease
	err := withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_acquire(croot, cid, &p, cerr)
	})
	if err != nil {
		return nil, err
	}
	l := &Lease{ptr: p, root: root, id: id}
	runtime.SetFinalizer(l, func(l *Lease) { _ = l.release(false) })
	return l, nil
}

// SessionID is the leased session's id.
func (l *Lease) SessionID() string { return l.id }

// Root is the workspace root the lease was taken in.
func (l *Lease) Root() string { return l.root }

// Release releases the lease. With touch, it first refreshes the session's
// updated_at while the lease still protects it (the "after successful
// execution" hook); legacy and corrupted metadata are fine, as for Touch. The
// lock is released even when the touch fails (the touch's error is returned).
//
// Release is idempotent: every call after the first does nothing and returns
// ErrLeaseReleased. Calling it on a nil *Lease gives ErrInvalidArgument.
func (l *Lease) Release(touch bool) error {
	if l == nil {
		return &Error{Status: StatusInvalidArgument, Message: "lease is nil"}
	}
	return l.release(touch)
}

func (l *Lease) release(touch bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.ptr
	if p == nil {
		return ErrLeaseReleased
	}
	l.ptr = nil
	runtime.SetFinalizer(l, nil)
	var cerr *C.wsprune_error
	st := C.wsprune_lease_release(p, C.bool(touch), &cerr)
	runtime.KeepAlive(l)
	return takeError(st, cerr)
}

// Reasons a prune leaves a session in place (SkippedSession.Reason).
const (
	ReasonMissingMetadata    = "missing_metadata"    // a legacy session: no .metadata.json
	ReasonCorruptedMetadata  = "corrupted_metadata"  // .metadata.json is not valid metadata
	ReasonCorruptedTimestamp = "corrupted_timestamp" // valid JSON, unparsable timestamp
	ReasonInUse              = "in_use"              // stale but leased
)

// PruneOptions says which sessions Prune deletes.
type PruneOptions struct {
	// OlderThan is the idle time after which a session goes: it is deleted
	// when now - updated_at >= OlderThan. The zero value means 0: every
	// session with valid metadata that is not leased (and not dated in the
	// future) goes; use DefaultOlderThan (24h) for the reference behaviour.
	// A negative duration is ErrInvalidArgument. It is passed to the library
	// as fractional hours.
	OlderThan time.Duration
	// DryRun deletes nothing but reports what would go and the bytes that
	// would be reclaimed.
	DryRun bool
}

// DefaultOlderThan is the reference implementation's default threshold.
const DefaultOlderThan = 24 * time.Hour

// SkippedSession is a session a prune left in place, and why (one of the
// Reason constants).
type SkippedSession struct {
	ID     string `json:"session_id"`
	Reason string `json:"reason"`
}

// PruneResult is what a prune did (or, in a dry run, would do). It is a plain
// Go value copied out of the library; slices and the map are never nil.
type PruneResult struct {
	// Deleted lists the sessions deleted (or that would be), in the order handled.
	Deleted []string `json:"deleted_sessions"`
	// Skipped lists the sessions left in place with their reasons, in the
	// library's order.
	Skipped []SkippedSession `json:"skipped_sessions"`
	// ReclaimedBytes is the sum of the sizes of the files removed (or that
	// would be), .metadata.json included; a symlink counts itself.
	ReclaimedBytes uint64 `json:"reclaimed_bytes"`
	// Errors maps the id of each session that could not be handled to a
	// message; the prune carried on with the others.
	Errors map[string]string `json:"errors"`
	// DryRun tells whether this was a dry run.
	DryRun bool `json:"dry_run"`
	// Summary is the library's one-line summary, e.g. "Pruned 2 sessions
	// (1 skipped, 1 error), reclaimed 1.4 MB".
	Summary string `json:"summary"`
}

// String gives the library's summary (the Summary field).
func (r PruneResult) String() string { return r.Summary }

// SkippedReasons gives the skipped sessions as a map from id to reason.
func (r *PruneResult) SkippedReasons() map[string]string {
	m := make(map[string]string, len(r.Skipped))
	for _, s := range r.Skipped {
		m[s.ID] = s.Reason
	}
	return m
}

// Prune deletes the sessions under root that have been idle for
// opts.OlderThan or longer, and reports what it did. Leased sessions are
// skipped ("in_use"), as are sessions without metadata ("missing_metadata"),
// with unparsable metadata ("corrupted_metadata") or timestamp
// ("corrupted_timestamp"). A failure on one session goes into
// PruneResult.Errors and the prune carries on; a missing root gives an empty
// result. Concurrent prunes of one root never delete a session twice.
func Prune(root string, opts PruneOptions) (*PruneResult, error) {
	return prune(root, opts.OlderThan.Hours(), opts.DryRun)
}

// prune is Prune with the library's own threshold type (hours as a float64,
// which, unlike a time.Duration, can be NaN or infinite).
func prune(root string, hours float64, dryRun bool) (*PruneResult, error) {
	croot, err := cRoot(root)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(croot))
	var cerr *C.wsprune_error
	r := C.wsprune_prune_sessions(croot, C.double(hours), C.bool(dryRun), &cerr)
	if r == nil {
		st := C.wsprune_error_status(cerr) // INVALID_ARGUMENT if cerr is NULL
		return nil, takeError(st, cerr)
	}
	defer C.wsprune_prune_result_free(r)
	if cerr != nil { // never happens: success sets *error to NULL
		C.wsprune_error_free(cerr)
	}
	return copyResult(r), nil
}

// copyResult copies everything out of the C result, which the caller frees.
func copyResult(r *C.wsprune_prune_result) *PruneResult {
	nd := int(C.wsprune_prune_result_deleted_count(r))
	ns := int(C.wsprune_prune_result_skipped_count(r))
	ne := int(C.wsprune_prune_result_error_count(r))
	res := &PruneResult{
		Deleted:        make([]string, 0, nd),
		Skipped:        make([]SkippedSession, 0, ns),
		Errors:         make(map[string]string, ne),
		ReclaimedBytes: uint64(C.wsprune_prune_result_reclaimed_bytes(r)),
		DryRun:         bool(C.wsprune_prune_result_dry_run(r)),
		Summary:        goString(C.wsprune_prune_result_summary(r)),
	}
	for i := 0; i < nd; i++ {
		res.Deleted = append(res.Deleted, goString(C.wsprune_prune_result_deleted_id(r, C.size_t(i))))
	}
	for i := 0; i < ns; i++ {
		res.Skipped = append(res.Skipped, SkippedSession{
			ID:     goString(C.wsprune_prune_result_skipped_id(r, C.size_t(i))),
			Reason: goString(C.wsprune_prune_result_skipped_reason(r, C.size_t(i))),
		})
	}
	for i := 0; i < ne; i++ {
		id := goString(C.wsprune_prune_result_error_id(r, C.size_t(i)))
		res.Errors[id] = goString(C.wsprune_prune_result_error_message(r, C.size_t(i)))
	}
	return res
}

// goString is C.GoString that tolerates NULL (an out-of-range accessor).
func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}
