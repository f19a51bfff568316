package wsprune

// This file has an //export, so its preamble holds declarations only; the C
// side of the bridge is in log.c.

/*
#include <stdint.h>
#include "wsprune.h"
void wsprunego_set_logger(uintptr_t handle);
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime/cgo"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Level is the severity of an Event. The numeric values are the C library's
// stable wsprune_level values.
type Level int

// The event levels.
const (
	LevelDebug   Level = 0 // per-operation detail: session.metadata.updated, session.prune.candidate
	LevelInfo    Level = 1 // normal progress: creations, deletions, skips, prune start and end
	LevelWarning Level = 2 // carried on despite a problem (corrupted metadata, a metadata write failure)
	LevelError   Level = 3 // a session could not be handled (session.prune.error)
)

// String gives "debug", "info", "warning" or "error" ("level(N)" otherwise).
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarning:
		return "warning"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// SlogLevel maps l onto log/slog's levels (warning is slog.LevelWarn).
func (l Level) SlogLevel() slog.Level {
	switch {
	case l <= LevelDebug:
		return slog.LevelDebug
	case l == LevelInfo:
		return slog.LevelInfo
	case l == LevelWarning:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// Event is one structured event of the library, e.g. "session.prune.deleted"
// with the fields session_id, age_hours, reclaimed_bytes and dry_run (see
// docs/events.md for the list).
type Event struct {
	Level Level
	// Name is the dotted event name, e.g. "session.metadata.created".
	Name string
	// Fields is the event's JSON object, decoded with encoding/json. Numbers
	// are json.Number (so byte counts above 2^53 stay exact: use its Int64 or
	// Float64 method), strings string, booleans bool, null nil.
	Fields map[string]any
}

// String gives "level name {fields as JSON}", e.g.
// `info session.prune.skipped {"reason":"in_use","session_id":"..."}`.
func (e Event) String() string {
	b, err := json.Marshal(e.Fields)
	if err != nil {
		b = []byte(fmt.Sprint(e.Fields))
	}
	return e.Level.String() + " " + e.Name + " " + string(b)
}

// logger is what the cgo.Handle given to the library as user_data refers to.
type logger struct {
	fn      func(Event)
	retired atomic.Bool // set once uninstalled: late calls are dropped
}

var (
	droppedEvents atomic.Int64 // events that reached a replaced logger (for the tests)
	loggerMu      sync.Mutex   // serialises SetLogger
	loggerHandle  cgo.Handle   // the installed logger's handle; 0 for none
)

// SetLogger installs fn as the process-wide receiver of the library's events,
// replacing any previous one; nil turns events off.
//
// fn is called synchronously on the goroutine (thread) doing the work, which
// may be several at once: it must be safe for concurrent use, and it should be
// quick. It may call any function of this package, SetLogger included, except
// that a prune of the root a running prune holds the lock of, started from fn
// on the same thread, fails at once with a Busy error saying so (it would wait
// for its own prune's lock). A panic
// in fn cannot unwind through the C library: it is recovered, reported on
// standard error, and the event is dropped.
//
// After SetLogger returns, the previous logger gets no new calls (a call
// already running on another thread may still finish).
func SetLogger(fn func(Event)) {
	loggerMu.Lock()
	defer loggerMu.Unlock()
	var h cgo.Handle
	if fn != nil {
		h = cgo.NewHandle(&logger{fn: fn})
	}
	C.wsprunego_set_logger(C.uintptr_t(h))
	old := loggerHandle
	loggerHandle = h
	if old != 0 {
		// Uninstalled above; a call that loaded the old user_data before that
		// may still be on its way in: retire first, so it is dropped, then
		// delete (a lookup of the deleted handle is dropped too).
		old.Value().(*logger).retired.Store(true)
		old.Delete()
	}
}

// SlogLogger adapts a *slog.Logger to SetLogger: each event is logged with its
// name as the message, its level mapped by Level.SlogLevel, and its fields as
// attributes in key order.
//
//	wsprune.SetLogger(wsprune.SlogLogger(slog.Default()))
func SlogLogger(l *slog.Logger) func(Event) {
	return func(e Event) {
		ctx := context.Background()
		lvl := e.Level.SlogLevel()
		if !l.Enabled(ctx, lvl) {
			return
		}
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		attrs := make([]slog.Attr, 0, len(keys))
		for _, k := range keys {
			attrs = append(attrs, slog.Any(k, e.Fields[k]))
		}
		l.LogAttrs(ctx, lvl, e.Name, attrs...)
	}
}

// reportLoggerPanic reports a panic of a logger (a variable for the tests).
var reportLoggerPanic = func(e Event, v any) {
	fmt.Fprintf(os.Stderr, "wsprune: logger panicked on event %s: %v\n%s", e.Name, v, debug.Stack())
}

// wspruneGoLog receives every event from the C bridge (log.c), on whatever
// thread the library emits it.
//
//export wspruneGoLog
func wspruneGoLog(h C.uintptr_t, level C.enum_wsprune_level, event, fieldsJSON *C.char) {
	lg := lookupLogger(cgo.Handle(h))
	if lg == nil || lg.retired.Load() {
		droppedEvents.Add(1)
		return
	}
	lg.deliver(Event{Level: Level(level), Name: C.GoString(event), Fields: decodeFields(C.GoString(fieldsJSON))})
}

// deliver calls the logger, containing a panic: it must not unwind into C.
func (lg *logger) deliver(e Event) {
	defer func() {
		if v := recover(); v != nil {
			reportLoggerPanic(e, v)
		}
	}()
	lg.fn(e)
}

// lookupLogger gives the logger of h, or nil if h was deleted meanwhile (the
// library may still call a callback it loaded just before being replaced).
func lookupLogger(h cgo.Handle) (lg *logger) {
	if h == 0 {
		return nil
	}
	defer func() {
		if recover() != nil {
			lg = nil
		}
	}()
	lg, _ = h.Value().(*logger)
	return lg
}

// decodeFields decodes the library's fields_json; numbers stay exact as
// json.Number. Undecodable input (never produced by the library) gives the
// raw text under the key "fields_json".
func decodeFields(s string) map[string]any {
	fields := map[string]any{}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&fields); err != nil {
		return map[string]any{"fields_json": s}
	}
	return fields
}
