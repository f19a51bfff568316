// Package wsprune is the Go binding of wsprune: session workspace metadata,
// leases and safe pruning for code-execution sandboxes.
//
// A sandbox runtime keeps one workspace directory per session under a
// workspace root, named by its session id: a UUID or a custom id (1 to 255
// bytes of UTF-8, no '/', no control characters, not starting with '.').
// wsprune records when each session was created and last used
// (<root>/<id>/.metadata.json), lets the runtime hold a lease while code runs
// in a session, and deletes stale sessions without ever deleting the wrong
// thing (no symlink, no mount, nothing outside the root, never a leased or
// just-touched session).
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
	"math"
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
	StatusInvalidSessionID Status = 2 // neither a UUID nor a safe custom id; every traversal attempt lands here
	StatusNotFound         Status = 3 // no such session (or root; Prune treats a missing root as empty)
	StatusAlreadyExists    Status = 4 // CreateSessionWithID with an existing id
	StatusBusy             Status = 5 // Acquire while a prune holds the session (after 2 s), DeleteSession of a leased session, Prune past LockTimeout
	StatusIO               Status = 6 // an operating-system error
	StatusPanic            Status = 7 // a bug inside wsprune, caught at the boundary
)

// String gives the library's name for the status, e.g.
// "WSPRUNE_STATUS_NOT_FOUND" ("WSPRUNE_STATUS_UNKNOWN" for other values).
func (s Status) String() string {
	if s < 0 || s > 1<<31-1 {
		return "WSPRUNE_STATUS_UNKNOWN"
	}
	return C.GoString(C.wsprune_status_name(C.int(s)))
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

// CreateSessionWithID creates session id under root (created if missing) and
// writes its metadata. id is a UUID in any spelling (hyphenated or 32 hex
// digits, any case: the session is named by its canonical spelling,
// lowercase hyphenated, and every call finds it by any spelling) or a custom
// id (1 to 255 bytes of UTF-8, no '/' or control characters, not starting
// with '.', not "site-packages"). An existing session (for a UUID, under the
// canonical spelling or the one passed) is ErrAlreadyExists; any other id is
// ErrInvalidSessionID. It returns the session's id: its directory's name,
// the canonical spelling for a UUID (since 0.3.0; it returned only an error
// before).
func CreateSessionWithID(root, id string) (string, error) {
	var buf [C.WSPRUNE_SESSION_ID_MAX_LEN]C.char
	err := withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_create(croot, cid, &buf[0], C.size_t(len(buf)), cerr)
	})
	if err != nil {
		return "", err
	}
	return C.GoString(&buf[0]), nil
}

// OpenSession opens session id if it exists, else creates it
// (create-or-open, as a runtime does when given a session id to reuse), and
// returns the session's id (its directory's name: the canonical spelling of
// a new UUID session) and whether it was created. An empty id creates a
// session with a new random UUIDv4. An existing directory without metadata
// (a legacy session, or a directory named like the custom id) gets fresh
// metadata dated now; corrupted metadata is left as it is. Ids as for
// CreateSessionWithID.
func OpenSession(root, id string) (string, bool, error) {
	croot, err := cRoot(root)
	if err != nil {
		return "", false, err
	}
	defer C.free(unsafe.Pointer(croot))
	var cid *C.char // NULL: a new UUID
	if id != "" {
		if cid, err = cID(id); err != nil {
			return "", false, err
		}
		defer C.free(unsafe.Pointer(cid))
	}
	var buf [C.WSPRUNE_SESSION_ID_MAX_LEN]C.char
	var created C.bool
	var cerr *C.wsprune_error
	st := C.wsprune_session_open(croot, cid, &buf[0], C.size_t(len(buf)), &created, &cerr)
	if err := takeError(st, cerr); err != nil {
		return "", false, err
	}
	return C.GoString(&buf[0]), bool(created), nil
}

// Touch sets the session's updated_at to now, preserving every other field.
// A legacy session without metadata is not an error (nothing is written);
// corrupted metadata is left untouched, with a "session.metadata.corrupted"
// warning event, and is not an error either. A missing session (or root) is
// ErrNotFound.
func Touch(root, id string) error {
	_, err := TouchWithOutcome(root, id)
	return err
}

// TouchOutcome is what a touch did.
type TouchOutcome string

// What a touch did (TouchWithOutcome, Lease.ReleaseWithOutcome).
const (
	TouchUpdated   TouchOutcome = "updated"   // updated_at is now
	TouchLegacy    TouchOutcome = "legacy"    // no metadata: nothing to update
	TouchCorrupted TouchOutcome = "corrupted" // corrupted metadata, left as it is
)

// touchOutcome names a WSPRUNE_TOUCH_* value ("" for WSPRUNE_TOUCH_NONE).
func touchOutcome(code C.int32_t) TouchOutcome {
	switch code {
	case C.WSPRUNE_TOUCH_UPDATED:
		return TouchUpdated
	case C.WSPRUNE_TOUCH_LEGACY:
		return TouchLegacy
	case C.WSPRUNE_TOUCH_CORRUPTED:
		return TouchCorrupted
	}
	return ""
}

// TouchWithOutcome is Touch, also telling what it did (read from the C ABI,
// not from events).
func TouchWithOutcome(root, id string) (TouchOutcome, error) {
	code := C.int32_t(-1)
	err := withRootAndID(root, id, func(croot, cid *C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_touch_outcome(croot, cid, &code, cerr)
	})
	if err != nil {
		return "", err
	}
	return touchOutcome(code), nil
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
	runtime.SetFinalizer(l, func(l *Lease) { _, _ = l.release(false) })
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
	_, err := l.release(touch)
	return err
}

// ReleaseWithOutcome is Release, also telling what the touch did ("" when
// touch is false).
func (l *Lease) ReleaseWithOutcome(touch bool) (TouchOutcome, error) {
	if l == nil {
		return "", &Error{Status: StatusInvalidArgument, Message: "lease is nil"}
	}
	return l.release(touch)
}

func (l *Lease) release(touch bool) (TouchOutcome, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.ptr
	if p == nil {
		return "", ErrLeaseReleased
	}
	l.ptr = nil
	runtime.SetFinalizer(l, nil)
	var cerr *C.wsprune_error
	code := C.int32_t(-1)
	st := C.wsprune_lease_release_outcome(p, C.bool(touch), &code, &cerr)
	runtime.KeepAlive(l)
	if err := takeError(st, cerr); err != nil {
		return "", err
	}
	return touchOutcome(code), nil
}

// Reasons a prune leaves a session in place (SkippedSession.Reason).
const (
	ReasonMissingMetadata    = "missing_metadata"    // a legacy session: no .metadata.json
	ReasonCorruptedMetadata  = "corrupted_metadata"  // .metadata.json is not valid metadata
	ReasonCorruptedTimestamp = "corrupted_timestamp" // valid JSON, unparsable timestamp
	ReasonInUse              = "in_use"              // stale but leased
	ReasonPinned             = "pinned"              // selected, but pinned (since 0.4.0)
)

// PruneOptions says which sessions Prune deletes. A session goes if any
// enabled rule selects it: the age rule (OlderThan, on unless NoAgeRule) or
// the size and count rules (MaxTotalBytes, MaxSessions, MinFreeBytes), which
// evict the least recently updated sessions first and never evict one that is
// leased, updated less than MinAge ago, or without readable metadata.
//
// A zero field means the library's default, never "delete more"
// (docs/contract.md): the zero PruneOptions{} is the library default, the age
// rule at 24 hours with no size or count rule, and a size or count rule alone
// keeps that age rule beside it (set NoAgeRule to prune by size or count
// alone). The defaults are read from the C library
// (wsprune_prune_options_init), not from constants in this package.
//
// Every integer rule is off at 0, as in the C struct (so MaxDeletions 0 means
// no limit, not "delete nothing"; a cap of 0 cannot be asked for).
type PruneOptions struct {
	// OlderThan is the idle time after which a session goes: it is deleted
	// when now - updated_at >= OlderThan. The zero value means the library's
	// default, 24 hours. To delete every idle session (every one with valid
	// metadata that is not leased or dated in the future), use
	// EveryIdleSession. A negative duration is ErrInvalidArgument (unless
	// NoAgeRule is set). It is passed to the library as fractional hours.
	OlderThan time.Duration
	// NoAgeRule turns the age rule off (OlderThan is then ignored): only the
	// size and count rules (and interrupted deletions) delete anything.
	NoAgeRule bool
	// DryRun deletes nothing but reports what would go and the bytes that
	// would be reclaimed.
	DryRun bool
	// MaxTotalBytes evicts the least recently updated sessions until the
	// sessions total at most this many bytes; 0: no such rule.
	MaxTotalBytes uint64
	// MaxSessions keeps at most this many sessions (the most recently
	// updated); 0: no such rule (to delete every idle session, use
	// OlderThan: EveryIdleSession).
	MaxSessions uint64
	// MinFreeBytes evicts the least recently updated sessions until the
	// workspace's filesystem has this many bytes available; 0: no such rule.
	MinFreeBytes uint64
	// MinFreePercent evicts the least recently updated sessions until the
	// filesystem has this percentage of its size available, in (0, 100]; 0:
	// no such rule. One rule with MinFreeBytes (the larger target wins).
	MinFreePercent float64
	// HighWatermarkPercent starts capacity eviction once the filesystem is
	// this full (percent of its bytes used when the prune begins): the least
	// recently updated sessions go until it is at most LowWatermarkPercent
	// full. Below it the rule does nothing. In (0, 100]; 0: no such rule.
	HighWatermarkPercent float64
	// LowWatermarkPercent is what a crossed HighWatermarkPercent evicts down
	// to, in (0, HighWatermarkPercent]; 0: the high watermark itself. Above
	// the high one, or without it, is ErrInvalidArgument.
	LowWatermarkPercent float64
	// HighInodeWatermarkPercent is HighWatermarkPercent for the
	// filesystem's inodes; 0: no such rule.
	HighInodeWatermarkPercent float64
	// LowInodeWatermarkPercent is LowWatermarkPercent for inodes.
	LowInodeWatermarkPercent float64
	// MaxDeletions stops after deleting this many sessions (the least
	// recently updated first), for incremental pruning; 0: no limit.
	MaxDeletions uint64
	// MinAge is a floor for the size and count rules: a session updated less
	// than MinAge ago is never evicted by them. 0 means the library's
	// default, 1 hour; set NoMinAge for no floor. Negative is
	// ErrInvalidArgument.
	MinAge time.Duration
	// NoMinAge removes the floor of the size and count rules (an explicit
	// MinAge of 0). Setting it together with a non-zero MinAge is
	// ErrInvalidArgument.
	NoMinAge bool
	// Jobs is the number of sessions handled concurrently; 0 picks a default
	// for the machine. Negative (or above 2^32-1) is ErrInvalidArgument.
	Jobs int
	// LockTimeout is how long to wait for another prune of the same root to
	// finish before failing with ErrBusy. 0 means DefaultLockTimeout (30 s);
	// a negative duration means do not wait at all. It is rounded up to whole
	// milliseconds and capped at 2^32-1 ms (about 49.7 days).
	LockTimeout time.Duration
	// SingleHost declares that no other host uses root. Without it, a root
	// on NFS, SMB, 9p or FUSE (where a lease is kept by one host only) is
	// ErrInvalidArgument; with it, Prune proceeds and emits a
	// "workspace.shared_filesystem" warning event.
	SingleHost bool
	// LabelSelector limits every rule to the sessions whose labels (from
	// their host-owned records) match it: comma-separated terms that must
	// all hold, "key=value", "key!=value", "key" (present), "!key" (absent),
	// e.g. "owner=alice,tier!=pro" (docs/contract.md, "Labels"). Only the
	// matching sessions count towards MaxTotalBytes and MaxSessions. "": every
	// session (Go cannot tell an empty selector, which the other surfaces
	// refuse, from unset). A bad selector is ErrInvalidArgument.
	LabelSelector string
	// PerOwner names the label whose value is a session's owner (e.g.
	// "owner"), for MaxSessionsPerOwner and MaxBytesPerOwner; "": no
	// per-owner caps. Sessions without a value for it belong to no owner.
	PerOwner string
	// MaxSessionsPerOwner keeps at most this many sessions per owner,
	// evicting each owner's least recently used first; 0: no such rule.
	MaxSessionsPerOwner uint64
	// MaxBytesPerOwner evicts each owner's least recently used sessions until
	// its sessions total at most this many bytes; 0: no such rule.
	MaxBytesPerOwner uint64
	// AsOf is the look-ahead: the rules are evaluated as of this time (what
	// a prune then would delete: ages, TTLs and pins at that time). Only
	// with DryRun, else ErrInvalidArgument. The zero time: now.
	AsOf time.Time
}

// EveryIdleSession is the OlderThan that selects every idle session: every
// session with valid metadata that is not leased (and not dated in the
// future), however recently it was used. It is the smallest positive
// duration, since a zero OlderThan means the default (24 hours).
const EveryIdleSession = time.Nanosecond

// DefaultLockTimeout is how long Prune waits for another prune of the same
// root when PruneOptions.LockTimeout is 0.
const DefaultLockTimeout = 30 * time.Second

// DefaultOlderThan is the reference implementation's default threshold, the
// one a zero PruneOptions.OlderThan gets from the library.
const DefaultOlderThan = 24 * time.Hour

// SkippedSession is a session a prune left in place, and why (one of the
// Reason constants).
type SkippedSession struct {
	ID     string `json:"session_id"`
	Reason string `json:"reason"`
}

// The rules that select a session for deletion (PruneResult.DeletedRules).
const (
	RuleOlderThan     = "older_than"      // idle for PruneOptions.OlderThan or longer
	RuleMaxTotalBytes = "max_total_bytes" // evicted to bring the total under PruneOptions.MaxTotalBytes
	RuleMaxSessions   = "max_sessions"    // evicted to keep at most PruneOptions.MaxSessions
	RuleMinFreeBytes  = "min_free_bytes"  // evicted to free space up to PruneOptions.MinFreeBytes
	RuleInterrupted   = "interrupted"     // no longer produced (since 0.3.0): leftover trash is in PruneResult.Interrupted
	// RuleWatermark: evicted because the filesystem had reached PruneOptions.HighWatermarkPercent.
	RuleWatermark = "watermark"
	// RuleInodeWatermark: evicted because the filesystem's inodes had reached PruneOptions.HighInodeWatermarkPercent.
	RuleInodeWatermark = "inode_watermark"
	// RuleMaxSessionsPerOwner: evicted to keep its owner at PruneOptions.MaxSessionsPerOwner (since 0.4.0).
	RuleMaxSessionsPerOwner = "max_sessions_per_owner"
	// RuleMaxBytesPerOwner: evicted to bring its owner under PruneOptions.MaxBytesPerOwner (since 0.4.0).
	RuleMaxBytesPerOwner = "max_bytes_per_owner"
	// RuleTTL: the session's own TTL passed (SessionOptions.IdleTTL, ExpiresAt; since 0.4.0).
	RuleTTL = "ttl"
)

// PruneResult is what a prune did (or, in a dry run, would do). It is a plain
// Go value copied out of the library; slices and maps are never nil.
type PruneResult struct {
	// Deleted lists the sessions deleted (or that would be), sorted by id.
	Deleted []string `json:"deleted_sessions"`
	// DeletedRules maps each id in Deleted to the rule that selected it (one
	// of the Rule constants).
	DeletedRules map[string]string `json:"deleted_rules"`
	// Skipped lists the sessions left in place with their reasons, in the
	// library's order.
	Skipped []SkippedSession `json:"skipped_sessions"`
	// ReclaimedBytes is the sum of the sizes of the files removed (or that
	// would be), .metadata.json included; a symlink counts itself.
	ReclaimedBytes uint64 `json:"reclaimed_bytes"`
	// Errors maps the id of each session that could not be handled (or the
	// name of a leftover trash directory that could not be finished) to a
	// message; the prune carried on with the others.
	Errors map[string]string `json:"errors"`
	// Interrupted lists the leftover trash directories (".wsprune-trash.*",
	// left by an interrupted deletion) this prune finished (or would), by
	// name, sorted. They are never reported as sessions: a live session of
	// the same id may exist again.
	Interrupted []string `json:"interrupted"`
	// DryRun tells whether this was a dry run.
	DryRun bool `json:"dry_run"`
	// Summary is the library's one-line summary, e.g. "Pruned 2 sessions
	// (1 skipped, 1 error), reclaimed 1.4 MB", with "; target not reached:
	// min_free_bytes" appended when a capacity target was not reached.
	Summary string `json:"summary"`
	// UnmetTargets lists the capacity rules (RuleMaxTotalBytes,
	// RuleMaxSessions, RuleMinFreeBytes, RuleWatermark, RuleInodeWatermark, in that order) still not satisfied
	// when the prune ended: every evictable session went (or MaxDeletions
	// stopped it) and the target is out of reach. In a dry run, projected.
	// Empty, never nil, when every target was met.
	UnmetTargets []string `json:"unmet_targets"`
	// DeletedDetails maps each id in Deleted to what the library recorded
	// when it deleted it: the rule, the bytes freed and the idle age (since
	// 0.4.0).
	DeletedDetails map[string]DeletedSession `json:"deleted_details"`
	// InterruptedBytes maps each name in Interrupted to the bytes finishing
	// it freed (or would free; since 0.4.0).
	InterruptedBytes map[string]uint64 `json:"interrupted_bytes"`
	// Unmet gives, for each of UnmetTargets (same order), what the rule asked
	// for and what there was when the prune ended (since 0.4.0).
	Unmet []UnmetTarget `json:"unmet"`
}

// DeletedSession is what a prune recorded about one session it deleted (or,
// in a dry run, would delete).
type DeletedSession struct {
	Rule     string  `json:"rule"`      // one of the Rule constants
	Bytes    uint64  `json:"bytes"`     // bytes freed (or that would be)
	AgeHours float64 `json:"age_hours"` // hours since it was last used
}

// UnmetTarget is a capacity target a prune did not reach.
type UnmetTarget struct {
	Rule   string `json:"rule"`   // RuleMaxTotalBytes, RuleMaxSessions, RuleMinFreeBytes, RuleWatermark or RuleInodeWatermark
	Target uint64 `json:"target"` // the option's value (bytes, or a session count); for a watermark, the most bytes (inodes) used the low one allows
	Actual uint64 `json:"actual"` // the total bytes, session count, free bytes, or bytes (inodes) used at the end
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

// Prune deletes the sessions under root that the rules of opts select (see
// PruneOptions), and reports what it did and which rule selected each
// deleted session. Leased sessions are skipped ("in_use"), as are sessions
// without metadata ("missing_metadata"), with unparsable metadata
// ("corrupted_metadata") or timestamp ("corrupted_timestamp"). A failure on
// one session goes into PruneResult.Errors and the prune carries on; a
// missing root gives an empty result. Concurrent prunes of one root take
// turns (waiting up to opts.LockTimeout, then ErrBusy), so a session is
// never deleted twice and two size-capped prunes never over-evict.
func Prune(root string, opts PruneOptions) (*PruneResult, error) {
	c, err := newOptions()
	if err != nil {
		return nil, err
	}
	if err := opts.toC(c); err != nil {
		return nil, err
	}
	free, err := opts.labelsToC(c)
	if err != nil {
		return nil, err
	}
	defer free()
	return pruneWith(root, c)
}

// labelsToC sets the label selector and the per-owner caps of c, copying
// the strings into C memory; the caller calls free once the prune returns.
func (o PruneOptions) labelsToC(c *C.wsprune_prune_options) (free func(), err error) {
	var held []*C.char
	free = func() {
		for _, p := range held {
			C.free(unsafe.Pointer(p))
		}
	}
	for _, f := range []struct {
		value, what string
		field       **C.char
	}{{o.LabelSelector, "PruneOptions.LabelSelector", &c.label_selector}, {o.PerOwner, "PruneOptions.PerOwner", &c.per_owner}} {
		if f.value == "" {
			continue
		}
		p, err := cString(f.value, f.what, StatusInvalidArgument)
		if err != nil {
			free()
			return nil, err
		}
		held = append(held, p)
		*f.field = p
	}
	c.max_sessions_per_owner = C.uint64_t(o.MaxSessionsPerOwner)
	c.max_bytes_per_owner = C.uint64_t(o.MaxBytesPerOwner)
	return free, nil
}

// sizeofPruneOptions is sizeof(wsprune_prune_options) in the header this
// package was built with.
const sizeofPruneOptions = C.sizeof_wsprune_prune_options

// newOptions gives wsprune_prune_options_init's defaults, in Go memory (no Go
// pointers in it, so it may be passed to C). The size passed is the struct's
// size in the header this package was built with: a newer libwsprune.so.0
// writes only that much, and reads the fields this package knows.
func newOptions() (*C.wsprune_prune_options, error) {
	c := new(C.wsprune_prune_options)
	if st := C.wsprune_prune_options_init(c, sizeofPruneOptions); st != C.WSPRUNE_STATUS_OK {
		return nil, takeError(st, nil)
	}
	return c, nil
}

// toC sets the fields of c (initialised by newOptions) from o. A zero
// duration keeps the library's default that newOptions put in c.
func (o PruneOptions) toC(c *C.wsprune_prune_options) error {
	if o.Jobs < 0 || uint64(o.Jobs) > math.MaxUint32 {
		return &Error{Status: StatusInvalidArgument, Message: "PruneOptions: Jobs must be in [0, 2^32-1], got " + strconv.Itoa(o.Jobs)}
	}
	if o.NoMinAge && o.MinAge != 0 {
		return &Error{Status: StatusInvalidArgument, Message: "PruneOptions: NoMinAge together with MinAge " + o.MinAge.String() +
			"; set one of them"}
	}
	c.use_older_than = C.bool(!o.NoAgeRule)
	if o.OlderThan != 0 {
		c.older_than_hours = C.double(o.OlderThan.Hours())
	}
	if o.NoMinAge {
		c.min_age_hours = 0
	} else if o.MinAge != 0 {
		c.min_age_hours = C.double(o.MinAge.Hours())
	}
	c.max_total_bytes = C.uint64_t(o.MaxTotalBytes)
	c.max_sessions = C.uint64_t(o.MaxSessions)
	c.min_free_bytes = C.uint64_t(o.MinFreeBytes)
	c.max_deletions = C.uint64_t(o.MaxDeletions)
	c.min_free_percent = C.double(o.MinFreePercent)
	c.high_watermark_percent = C.double(o.HighWatermarkPercent)
	c.low_watermark_percent = C.double(o.LowWatermarkPercent)
	c.high_inode_watermark_percent = C.double(o.HighInodeWatermarkPercent)
	c.low_inode_watermark_percent = C.double(o.LowInodeWatermarkPercent)
	c.jobs = C.uint32_t(o.Jobs)
	if o.LockTimeout != 0 { // 0 keeps the library's default
		c.lock_timeout_ms = C.uint32_t(millis(o.LockTimeout))
	}
	c.dry_run = C.bool(o.DryRun)
	if o.SingleHost {
		c.flags |= C.WSPRUNE_FLAG_SINGLE_HOST
	}
	c.as_of_us = micros(o.AsOf)
	return nil
}

// millis converts d to whole milliseconds for the library: rounded up (so a
// positive duration never becomes "do not wait"), 0 for a negative d, capped
// at 2^32-1.
func millis(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	if ms > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(ms)
}

// prune is the reference call with the library's own threshold type (hours
// as a float64, which, unlike a time.Duration, can be NaN or infinite).
func prune(root string, hours float64, dryRun bool) (*PruneResult, error) {
	c, err := newOptions()
	if err != nil {
		return nil, err
	}
	c.older_than_hours = C.double(hours)
	c.dry_run = C.bool(dryRun)
	return pruneWith(root, c)
}

// pruneWith calls wsprune_prune_sessions_with_options.
func pruneWith(root string, c *C.wsprune_prune_options) (*PruneResult, error) {
	croot, err := cRoot(root)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(croot))
	var cerr *C.wsprune_error
	r := C.wsprune_prune_sessions_with_options(croot, c, &cerr)
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
	nu := int(C.wsprune_prune_result_unmet_target_count(r))
	ni := int(C.wsprune_prune_result_interrupted_count(r))
	res := &PruneResult{
		UnmetTargets:     make([]string, 0, nu),
		Unmet:            make([]UnmetTarget, 0, nu),
		DeletedDetails:   make(map[string]DeletedSession, nd),
		InterruptedBytes: make(map[string]uint64, ni),
		Interrupted:      make([]string, 0, ni),
		Deleted:          make([]string, 0, nd),
		DeletedRules:     make(map[string]string, nd),
		Skipped:          make([]SkippedSession, 0, ns),
		Errors:           make(map[string]string, ne),
		ReclaimedBytes:   uint64(C.wsprune_prune_result_reclaimed_bytes(r)),
		DryRun:           bool(C.wsprune_prune_result_dry_run(r)),
		Summary:          goString(C.wsprune_prune_result_summary(r)),
	}
	for i := 0; i < nd; i++ {
		id := goString(C.wsprune_prune_result_deleted_id(r, C.size_t(i)))
		res.Deleted = append(res.Deleted, id)
		rule := goString(C.wsprune_prune_result_deleted_rule(r, C.size_t(i)))
		res.DeletedRules[id] = rule
		res.DeletedDetails[id] = DeletedSession{
			Rule:     rule,
			Bytes:    uint64(C.wsprune_prune_result_deleted_bytes(r, C.size_t(i))),
			AgeHours: float64(C.wsprune_prune_result_deleted_age_hours(r, C.size_t(i))),
		}
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
	for i := 0; i < nu; i++ {
		rule := goString(C.wsprune_prune_result_unmet_target(r, C.size_t(i)))
		res.UnmetTargets = append(res.UnmetTargets, rule)
		res.Unmet = append(res.Unmet, UnmetTarget{
			Rule:   rule,
			Target: uint64(C.wsprune_prune_result_unmet_target_value(r, C.size_t(i))),
			Actual: uint64(C.wsprune_prune_result_unmet_actual(r, C.size_t(i))),
		})
	}
	for i := 0; i < ni; i++ {
		name := goString(C.wsprune_prune_result_interrupted_name(r, C.size_t(i)))
		res.Interrupted = append(res.Interrupted, name)
		res.InterruptedBytes[name] = uint64(C.wsprune_prune_result_interrupted_bytes(r, C.size_t(i)))
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
