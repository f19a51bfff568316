package wsprune

/*
#include <stdlib.h>
#include "wsprune.h"
*/
import "C"

import (
	"os"
	"sort"
	"strconv"
	"time"
	"unsafe"
)

// SessionOptions says how CreateSessionWithOptions and
// OpenSessionWithOptions create or open a session. Its zero value is the
// library's default on every surface: mode 0700, no adoption, no reserved
// name but "site-packages".
type SessionOptions struct {
	// DirMode is the mode of a new session directory, before the umask:
	// permission bits only, with rwx for the owner (else
	// ErrInvalidArgument). 0: the default, 0700. A runtime that gives the
	// session to the guest's uid chowns the directory after creating it.
	DirMode os.FileMode
	// Adopt lets OpenSessionWithOptions adopt an existing directory that is
	// neither a registered session nor holds valid .metadata.json
	// (registered dated now: a later prune deletes it with what it holds).
	// Without it such a directory is ErrNotFound. A creation ignores it.
	Adopt bool
	// Reserved names are never a session, besides "site-packages":
	// creating or opening one is ErrInvalidSessionID, with Adopt or
	// without. A name holding a NUL byte is ErrInvalidArgument.
	Reserved []string
	// IdleTTL is the session's own idle timeout (0: none; at least 1s, whole
	// seconds): a prune deletes it once idle this long, whatever its age
	// rule. Given to an open of an existing session, IdleTTL and ExpiresAt
	// replace its TTL (both zero leave it).
	IdleTTL time.Duration
	// ExpiresAt is the session's absolute expiry (the zero time: none).
	ExpiresAt time.Time
	// Labels the session gets (docs/contract.md, "Labels"): a new session is
	// created with them; an open of an existing one sets each, keeping its
	// other labels. A bad key or value is ErrInvalidArgument and nothing is
	// created.
	Labels map[string]string
}

// cSessionOptions is a wsprune_session_options and the C memory it points
// to; free it with free.
type cSessionOptions struct {
	opts     C.wsprune_session_options
	reserved cStrings
	labels   cStrings
}

// cStrings is a C array of C strings, all in C memory (cgo forbids handing C
// a Go pointer to Go pointers); free it with free.
type cStrings struct {
	strs  []*C.char
	array unsafe.Pointer
}

// newCStrings copies items into C memory; a NUL in one is ErrInvalidArgument
// (what names it in the message).
func newCStrings(items []string, what string) (cStrings, error) {
	var c cStrings
	for i, s := range items {
		cs, err := cString(s, what+" "+strconv.Itoa(i), StatusInvalidArgument)
		if err != nil {
			c.free()
			return cStrings{}, err
		}
		c.strs = append(c.strs, cs)
	}
	if len(c.strs) > 0 {
		size := C.size_t(len(c.strs)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))
		c.array = C.malloc(size)
		copy(unsafe.Slice((**C.char)(c.array), len(c.strs)), c.strs)
	}
	return c, nil
}

// ptr is the array for C (NULL when empty).
func (c cStrings) ptr() **C.char { return (**C.char)(c.array) }

func (c cStrings) free() {
	for _, s := range c.strs {
		C.free(unsafe.Pointer(s))
	}
	C.free(c.array)
}

func newSessionOptions(o SessionOptions) (*cSessionOptions, error) {
	c := &cSessionOptions{}
	if st := C.wsprune_session_options_init(&c.opts, C.size_t(unsafe.Sizeof(c.opts))); st != C.WSPRUNE_STATUS_OK {
		return nil, &Error{Status: Status(st), Message: "wsprune_session_options_init failed"}
	}
	if o.DirMode != 0 {
		if o.DirMode&^os.ModePerm != 0 {
			return nil, &Error{Status: StatusInvalidArgument, Message: "session directory mode " + o.DirMode.String() + ": expected permission bits only"}
		}
		c.opts.dir_mode = C.uint32_t(o.DirMode)
	}
	c.opts.adopt = C.bool(o.Adopt)
	secs, err := ttlSeconds(o.IdleTTL)
	if err != nil {
		return nil, err
	}
	c.opts.idle_ttl_seconds = secs
	c.opts.expires_at_us = micros(o.ExpiresAt)
	if c.reserved, err = newCStrings(o.Reserved, "reserved name"); err != nil {
		return nil, err
	}
	c.opts.reserved, c.opts.reserved_count = c.reserved.ptr(), C.size_t(len(c.reserved.strs))
	keys := make([]string, 0, len(o.Labels))
	for k := range o.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	texts := make([]string, len(keys))
	for i, k := range keys {
		texts[i] = k + "=" + o.Labels[k]
	}
	if c.labels, err = newCStrings(texts, "label"); err != nil {
		c.free()
		return nil, err
	}
	c.opts.labels, c.opts.labels_count = c.labels.ptr(), C.size_t(len(c.labels.strs))
	return c, nil
}

func (c *cSessionOptions) free() {
	c.reserved.free()
	c.labels.free()
}

// SetLabels sets ("key=value") and removes ("key-") labels of a registered
// session, in order, all checked before any is made (docs/contract.md,
// "Labels"), and returns its labels. A bad change, or one leaving more than
// 32 labels, is ErrInvalidArgument, and so is an unregistered directory; a
// missing session ErrNotFound.
func SetLabels(root, id string, changes ...string) (map[string]string, error) {
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
	cs, err := newCStrings(changes, "label change")
	if err != nil {
		return nil, err
	}
	defer cs.free()
	labels := map[string]string{}
	err = ownedJSON("wsprune_session_set_labels", &labels, func(out **C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_set_labels(croot, cid, cs.ptr(), C.size_t(len(cs.strs)), out, cerr)
	})
	if err != nil {
		return nil, err
	}
	return labels, nil
}

// CreateSessionWithOptions is CreateSessionWithID with options (an empty id
// creates a session with a new random UUIDv4): the directory's mode and
// more reserved names (opts.Adopt does not apply). It returns the session's
// id. A bad mode is ErrInvalidArgument and creates nothing; a reserved name
// is ErrInvalidSessionID.
func CreateSessionWithOptions(root, id string, opts SessionOptions) (string, error) {
	var buf [C.WSPRUNE_SESSION_ID_MAX_LEN]C.char
	err := withOptions(root, id, opts, func(croot, cid *C.char, copts *C.wsprune_session_options, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_create_with_options(croot, cid, copts, &buf[0], C.size_t(len(buf)), cerr)
	})
	if err != nil {
		return "", err
	}
	return C.GoString(&buf[0]), nil
}

// OpenSessionWithOptions is OpenSession with options: a registered session
// is opened, a directory with valid .metadata.json is registered with it,
// any other directory is ErrNotFound unless opts.Adopt; a session it creates
// gets opts.DirMode; a reserved name is ErrInvalidSessionID. It returns the
// session's id and whether it was created.
func OpenSessionWithOptions(root, id string, opts SessionOptions) (string, bool, error) {
	var buf [C.WSPRUNE_SESSION_ID_MAX_LEN]C.char
	var created C.bool
	err := withOptions(root, id, opts, func(croot, cid *C.char, copts *C.wsprune_session_options, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_session_open_with_options(croot, cid, copts, &buf[0], C.size_t(len(buf)), &created, cerr)
	})
	if err != nil {
		return "", false, err
	}
	return C.GoString(&buf[0]), bool(created), nil
}

// withOptions converts root, id (empty: NULL, a new UUID) and opts to C for
// call, frees them after it and returns its error.
func withOptions(root, id string, opts SessionOptions, call func(croot, cid *C.char, copts *C.wsprune_session_options, cerr **C.wsprune_error) C.enum_wsprune_status) error {
	croot, err := cRoot(root)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(croot))
	var cid *C.char
	if id != "" {
		if cid, err = cID(id); err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(cid))
	}
	copts, err := newSessionOptions(opts)
	if err != nil {
		return err
	}
	defer copts.free()
	// A copy on its own: the struct holds only C pointers, while cSessionOptions
	// also holds a Go slice, which cgo must not see behind the pointer.
	cOpts := copts.opts
	var cerr *C.wsprune_error
	return takeError(call(croot, cid, &cOpts, &cerr), cerr)
}

// MigratedSession is a session Migrate registered (or, in a dry run, would
// have).
type MigratedSession struct {
	// ID is the session id.
	ID string `json:"session_id"`
	// HadMetadata tells whether it had valid metadata (trusted once) or
	// none (a legacy UUID session, registered dated now).
	HadMetadata bool `json:"had_metadata"`
	// UpdatedAt is the updated_at its record starts with, in UTC.
	UpdatedAt time.Time `json:"updated_at"`
}

// MigrateResult is what Migrate did (or, in a dry run, would do). Its slice
// and map are never nil.
type MigrateResult struct {
	// Registered lists the sessions registered, sorted by id.
	Registered []MigratedSession `json:"registered"`
	// Skipped maps each session left unregistered (corrupted metadata, a
	// locked directory, an error) to why.
	Skipped map[string]string `json:"skipped"`
	// DryRun tells whether this was a dry run (nothing registered).
	DryRun bool `json:"dry_run"`
}

// Migrate registers every session an older writer left under root (the
// reference implementation, wsprune 0.3): one with valid .metadata.json
// keeps its times (that metadata is trusted this once), a UUID directory
// without metadata is dated now; one with corrupted metadata or a locked
// directory is skipped and listed. With dryRun, it registers nothing. A
// missing root is ErrNotFound; a prune holding the root ErrBusy.
func Migrate(root string, dryRun bool) (*MigrateResult, error) {
	croot, err := cRoot(root)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(croot))
	res := &MigrateResult{}
	err = ownedJSON("wsprune_migrate_sessions", res, func(out **C.char, cerr **C.wsprune_error) C.enum_wsprune_status {
		return C.wsprune_migrate_sessions(croot, C.bool(dryRun), out, cerr)
	})
	if err != nil {
		return nil, err
	}
	if res.Registered == nil {
		res.Registered = []MigratedSession{}
	}
	if res.Skipped == nil {
		res.Skipped = map[string]string{}
	}
	for i := range res.Registered {
		res.Registered[i].UpdatedAt = res.Registered[i].UpdatedAt.UTC()
	}
	return res, nil
}
