// Command go_runner is the conformance runner of the Go binding
// (tests/conformance/PROTOCOL.md): one JSON request per stdin line, one JSON
// response per stdout line, each request mapped onto the binding's
// idiomatic calls. `make conformance` builds it against the installed
// library through pkg-config, as bindings/go/run_tests.sh does.
//
// Mapping: an absent option leaves the PruneOptions field at its zero value
// (Go's unset); older_than_hours null is NoAgeRule; older_than_hours 0 and
// min_age_hours 0 go through compat_*.go (EveryIdleSession and NoMinAge
// once the binding has them). Touch's outcome is reported by the binding only
// through events, which the runner reads.
//
// Not expressible on this surface:
//   - an explicit 0 for max_total_bytes, max_sessions, min_free_bytes,
//     max_deletions, the per-owner caps and the percentages (min_free_percent,
//     the watermarks), and an empty label_selector or per_owner: Go's zero
//     value is unset (docs/contract.md);
//   - NaN or infinite hours: a time.Duration cannot hold them;
//   - dir_mode "0": SessionOptions.DirMode's zero value is unset (0700);
//   - idle_ttl_seconds 0: a zero time.Duration is "no idle TTL".
//
// Times (until, expires_at, as_of) arrive as RFC 3339 strings: a time.Time
// each; idle_ttl_seconds is a time.Duration; force is DeleteOptions.Force.
//
// The session options (dir_mode, adopt, reserved) go through
// CreateSessionWithOptions and OpenSessionWithOptions when a request has
// any of them.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	wsprune "github.com/wsprune/wsprune/bindings/go"
)

type request struct {
	Root string         `json:"root"`
	Op   map[string]any `json:"op"`
}

var (
	mu     sync.Mutex
	events []string
)

func eventNames() []string {
	mu.Lock()
	defer mu.Unlock()
	return append([]string{}, events...)
}

// notExpressible is a request this surface cannot state.
type notExpressible string

func (n notExpressible) Error() string { return string(n) }

// unsupported is a contract feature the binding lacks: a failure, not a skip.
type unsupported string

func (u unsupported) Error() string { return string(u) }

// hours reads a number or "NaN"/"Infinity"/"-Infinity" as a Duration.
func hours(v any) (time.Duration, error) {
	var h float64
	switch x := v.(type) {
	case float64:
		h = x
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, fmt.Errorf("bad hours %q", x)
		}
		h = f
	default:
		return 0, fmt.Errorf("bad hours %v", v)
	}
	if math.IsNaN(h) || math.IsInf(h, 0) {
		return 0, notExpressible("a time.Duration cannot hold NaN or infinite hours")
	}
	return time.Duration(h * float64(time.Hour)), nil
}

func options(o map[string]any) (wsprune.PruneOptions, error) {
	var opts wsprune.PruneOptions
	if v, ok := o["older_than_hours"]; ok {
		if v == nil {
			opts.NoAgeRule = true
		} else {
			d, err := hours(v)
			if err != nil {
				return opts, err
			}
			if d == 0 {
				opts.OlderThan = everyIdleSession
			} else {
				opts.OlderThan = d
			}
		}
	}
	if v, ok := o["min_age_hours"]; ok {
		d, err := hours(v)
		if err != nil {
			return opts, err
		}
		if d == 0 {
			noMinAge(&opts)
		} else {
			opts.MinAge = d
		}
	}
	for key, field := range map[string]*uint64{
		"max_total_bytes": &opts.MaxTotalBytes, "max_sessions": &opts.MaxSessions,
		"min_free_bytes": &opts.MinFreeBytes, "max_deletions": &opts.MaxDeletions,
		"max_sessions_per_owner": &opts.MaxSessionsPerOwner, "max_bytes_per_owner": &opts.MaxBytesPerOwner,
	} {
		if v, ok := o[key]; ok {
			n, _ := v.(float64)
			if n == 0 {
				return opts, notExpressible(key + " 0: Go's zero value is unset")
			}
			*field = uint64(n)
		}
	}
	for key, field := range map[string]*float64{
		"min_free_percent": &opts.MinFreePercent, "high_watermark_percent": &opts.HighWatermarkPercent,
		"low_watermark_percent": &opts.LowWatermarkPercent, "high_inode_watermark_percent": &opts.HighInodeWatermarkPercent,
		"low_inode_watermark_percent": &opts.LowInodeWatermarkPercent,
	} {
		if v, ok := o[key]; ok {
			p, _ := v.(float64)
			if p == 0 {
				return opts, notExpressible(key + " 0: Go's zero value is unset")
			}
			*field = p
		}
	}
	if v, ok := o["jobs"].(float64); ok {
		opts.Jobs = int(v)
	}
	opts.DryRun, _ = o["dry_run"].(bool)
	opts.SingleHost, _ = o["single_host"].(bool)
	var err error
	if opts.AsOf, err = when(o, "as_of"); err != nil {
		return opts, err
	}
	for key, field := range map[string]*string{"label_selector": &opts.LabelSelector, "per_owner": &opts.PerOwner} {
		if v, ok := o[key]; ok {
			s, _ := v.(string)
			if s == "" {
				return opts, notExpressible(key + " \"\": Go's zero value is unset")
			}
			*field = s
		}
	}
	return opts, nil
}

func prune(root string, o map[string]any) (map[string]any, error) {
	opts, err := options(o)
	if err != nil {
		return nil, err
	}
	r, err := wsprune.Prune(root, opts)
	if err != nil {
		return nil, err
	}
	errs := []string{}
	for id := range r.Errors {
		errs = append(errs, id)
	}
	sort.Strings(errs)
	out := map[string]any{
		"deleted": r.Deleted, "rules": r.DeletedRules, "skipped": r.SkippedReasons(),
		"errors": errs, "reclaimed_bytes": r.ReclaimedBytes, "dry_run": r.DryRun,
	}
	deletedBytes := map[string]uint64{}
	for id, d := range r.DeletedDetails {
		deletedBytes[id] = d.Bytes
	}
	unmet := []map[string]any{}
	for _, u := range r.Unmet {
		unmet = append(unmet, map[string]any{"rule": u.Rule, "target": u.Target, "actual": u.Actual})
	}
	out["deleted_bytes"], out["unmet"] = deletedBytes, unmet
	// The lists the contract adds are read from the result's JSON form when
	// the binding has them (absent otherwise, never invented).
	var full map[string]any
	if b, err := json.Marshal(r); err == nil && json.Unmarshal(b, &full) == nil {
		if v, ok := full["interrupted"]; ok {
			out["interrupted"] = v
		}
		if ts, ok := full["unmet_targets"].([]any); ok {
			names := []any{}
			for _, t := range ts {
				if m, ok := t.(map[string]any); ok {
					names = append(names, m["rule"])
				} else {
					names = append(names, t)
				}
			}
			out["unmet_targets"] = names
		}
	}
	return out, nil
}

func run(root string, op map[string]any) (map[string]any, error) {
	id, _ := op["id"].(string)
	switch op["kind"] {
	case "create", "open":
		if opts, ok, err := sessionOptions(op); err != nil {
			return nil, err
		} else if ok {
			if op["kind"] == "create" {
				got, err := wsprune.CreateSessionWithOptions(root, id, opts)
				return map[string]any{"id": got}, err
			}
			got, created, err := wsprune.OpenSessionWithOptions(root, id, opts)
			return map[string]any{"id": got, "created": created}, err
		}
	}
	switch op["kind"] {
	case "migrate":
		dry, _ := op["dry_run"].(bool)
		r, err := wsprune.Migrate(root, dry)
		if err != nil {
			return nil, err
		}
		registered := []string{}
		for _, m := range r.Registered {
			registered = append(registered, m.ID)
		}
		skipped := []string{}
		for s := range r.Skipped {
			skipped = append(skipped, s)
		}
		sort.Strings(skipped)
		return map[string]any{"registered": registered, "skipped": skipped, "dry_run": r.DryRun}, nil
	case "create":
		if op["id"] == nil {
			newID, err := wsprune.CreateSession(root)
			return map[string]any{"id": newID}, err
		}
		got, err := wsprune.CreateSessionWithID(root, id)
		return map[string]any{"id": got}, err
	case "open":
		got, created, err := wsprune.OpenSession(root, id)
		return map[string]any{"id": got, "created": created}, err
	case "touch":
		outcome, err := wsprune.TouchWithOutcome(root, id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"outcome": string(outcome)}, nil
	case "acquire":
		lease, err := wsprune.Acquire(root, id)
		if err != nil {
			return nil, err
		}
		touch, _ := op["release_touch"].(bool)
		outcome, err := lease.ReleaseWithOutcome(touch)
		if err != nil {
			return nil, err
		}
		if !touch {
			return map[string]any{"touched": nil}, nil
		}
		return map[string]any{"touched": string(outcome)}, nil
	case "delete":
		var d wsprune.DeleteOptions
		d.SingleHost, _ = op["single_host"].(bool)
		d.Force, _ = op["force"].(bool)
		n, err := wsprune.DeleteSessionWithOptions(root, id, d)
		return map[string]any{"reclaimed_bytes": n}, err
	case "pin":
		until, err := when(op, "until")
		if err != nil {
			return nil, err
		}
		return map[string]any{}, wsprune.PinSession(root, id, until)
	case "unpin":
		return map[string]any{}, wsprune.UnpinSession(root, id)
	case "label":
		var changes []string
		for _, c := range asSlice(op["changes"]) {
			s, _ := c.(string)
			changes = append(changes, s)
		}
		labels, err := wsprune.SetLabels(root, id, changes...)
		if err != nil {
			return nil, err
		}
		return map[string]any{"labels": labels}, nil
	case "set_ttl":
		o, _, err := sessionOptions(op)
		if err != nil {
			return nil, err
		}
		return map[string]any{}, wsprune.SetSessionTTL(root, id, o.IdleTTL, o.ExpiresAt)
	case "stats":
		measure, _ := op["measure_sizes"].(bool)
		s, err := wsprune.WorkspaceStats(root, measure)
		if err != nil {
			return nil, err
		}
		var sessions, bytes []uint64
		for _, b := range s.Idle {
			sessions = append(sessions, b.Sessions)
			bytes = append(bytes, b.Bytes)
		}
		out := map[string]any{
			"sessions": map[string]any{
				"ok": s.Sessions[wsprune.StateOK], "legacy": s.Sessions[wsprune.StateLegacy],
				"corrupted": s.Sessions[wsprune.StateCorrupted], "unreadable": s.Sessions[wsprune.StateUnreadable],
			},
			"leased": s.Leased, "total_bytes": nil, "idle_sessions": sessions, "idle_bytes": nil,
			"oldest_idle_hours": nil,
			"filesystem_consistent": s.FSSizeBytes > 0 && s.FSAvailableBytes <= s.FSSizeBytes &&
				s.FSFreeInodes <= s.FSInodes,
		}
		if s.SizesMeasured {
			out["total_bytes"], out["idle_bytes"] = s.TotalBytes, bytes
		}
		if s.OldestIdle >= 0 {
			out["oldest_idle_hours"] = int64(s.OldestIdle / time.Hour)
		}
		return out, nil
	case "list":
		list, err := wsprune.ListSessions(root)
		if err != nil {
			return nil, err
		}
		sessions, labels := map[string]any{}, map[string]any{}
		for _, i := range list {
			sessions[i.ID] = i.State.String()
			if i.Labels == nil {
				labels[i.ID] = nil
			} else {
				labels[i.ID] = i.Labels
			}
		}
		return map[string]any{"sessions": sessions, "labels": labels}, nil
	case "info":
		i, err := wsprune.SessionInfo(root, id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"state": i.State.String(), "size_bytes": i.Size, "in_use": i.InUse}, nil
	case "repair":
		dry, _ := op["dry_run"].(bool)
		r, err := wsprune.Repair(root, dry)
		if err != nil {
			return nil, err
		}
		return map[string]any{"repaired": len(r.Repaired)}, nil
	case "prune":
		o, _ := op["options"].(map[string]any)
		return prune(root, o)
	}
	return nil, fmt.Errorf("unknown op %v", op["kind"])
}

var statusNames = map[wsprune.Status]string{
	wsprune.StatusInvalidArgument: "invalid_argument", wsprune.StatusInvalidSessionID: "invalid_session_id",
	wsprune.StatusNotFound: "not_found", wsprune.StatusAlreadyExists: "already_exists",
	wsprune.StatusBusy: "busy", wsprune.StatusIO: "io", wsprune.StatusPanic: "panic",
}

func handle(line string) map[string]any {
	var req request
	if loneSurrogate(line) {
		return map[string]any{"not_expressible": "Go's JSON decoding replaces a lone surrogate with U+FFFD, and a Go string holds UTF-8"}
	}
	if err := json.Unmarshal([]byte(line), &req); err != nil {
		return map[string]any{"status": "bad_request", "message": err.Error()}
	}
	mu.Lock()
	events = events[:0]
	mu.Unlock()
	result, err := run(req.Root, req.Op)
	var ne notExpressible
	if errors.As(err, &ne) {
		return map[string]any{"not_expressible": string(ne)}
	}
	resp := map[string]any{"status": "ok", "message": "", "result": result, "events": eventNames()}
	if err != nil {
		resp["result"] = nil
		var we *wsprune.Error
		var un unsupported
		switch {
		case errors.As(err, &we):
			resp["status"] = statusNames[we.Status]
		case errors.As(err, &un):
			resp["status"] = "unsupported"
		default:
			resp["status"] = "runner_error"
		}
		resp["message"] = err.Error()
	}
	return resp
}

// loneSurrogate reports whether the JSON text escapes a UTF-16 surrogate
// that is not half of a pair.
func loneSurrogate(s string) bool {
	hex4 := func(at int) (uint64, bool) {
		if at+4 > len(s) {
			return 0, false
		}
		v, err := strconv.ParseUint(s[at:at+4], 16, 32)
		return v, err == nil
	}
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		if s[i+1] != 'u' {
			i++ // an escaped character, perhaps a backslash
			continue
		}
		v, ok := hex4(i + 2)
		switch {
		case !ok:
		case v >= 0xD800 && v <= 0xDBFF:
			w, ok := hex4(i + 8)
			if ok && s[i+6] == '\\' && s[i+7] == 'u' && w >= 0xDC00 && w <= 0xDFFF {
				i += 11
				continue
			}
			return true
		case v >= 0xDC00 && v <= 0xDFFF:
			return true
		}
		i += 5
	}
	return false
}

func main() {
	wsprune.SetLogger(func(e wsprune.Event) {
		mu.Lock()
		events = append(events, e.Name)
		mu.Unlock()
	})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		if len(in.Bytes()) == 0 {
			continue
		}
		if err := out.Encode(handle(in.Text())); err != nil {
			os.Exit(1)
		}
	}
}

// sessionOptions reads the request's session options; ok is false when it
// sets none (the calls without options are used then).
func sessionOptions(op map[string]any) (wsprune.SessionOptions, bool, error) {
	var o wsprune.SessionOptions
	_, hasMode := op["dir_mode"]
	_, hasAdopt := op["adopt"]
	_, hasReserved := op["reserved"]
	if m, ok := op["dir_mode"].(string); ok {
		mode, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			return o, false, fmt.Errorf("bad request: dir_mode %q", m)
		}
		if mode == 0 {
			return o, false, notExpressible("dir_mode 0 is SessionOptions.DirMode's zero value, the unset (0700)")
		}
		o.DirMode = os.FileMode(mode)
	}
	o.Adopt, _ = op["adopt"].(bool)
	if names, ok := op["reserved"].([]any); ok {
		for _, n := range names {
			s, _ := n.(string)
			o.Reserved = append(o.Reserved, s)
		}
	}
	secs, hasTTL := op["idle_ttl_seconds"].(float64)
	if hasTTL && secs == 0 {
		return o, false, notExpressible("idle_ttl_seconds 0: a zero time.Duration is no idle TTL")
	}
	o.IdleTTL = time.Duration(secs) * time.Second
	var err error
	if o.ExpiresAt, err = when(op, "expires_at"); err != nil {
		return o, false, err
	}
	labels, hasLabels := op["labels"].(map[string]any)
	if hasLabels {
		o.Labels = map[string]string{}
		for k, v := range labels {
			o.Labels[k], _ = v.(string)
		}
	}
	return o, hasMode || hasAdopt || hasReserved || hasTTL || !o.ExpiresAt.IsZero() || hasLabels, nil
}

// when reads the RFC 3339 time op[key]; the zero time when absent.
func when(op map[string]any, key string) (time.Time, error) {
	s, ok := op[key].(string)
	if !ok {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("bad request: %s %q: %v", key, s, err)
	}
	return t, nil
}

// asSlice is v as a JSON array (nil when it is not one).
func asSlice(v any) []any {
	a, _ := v.([]any)
	return a
}
