//go:build !wsprune_contract

package main

import (
	"time"

	wsprune "github.com/wsprune/wsprune/bindings/go"
)

// The binding before docs/contract.md: a zero OlderThan is the age rule at
// 0 h, and a zero MinAge is no floor. tests/conformance/build.sh picks the
// other file (tag wsprune_contract) once the binding has EveryIdleSession;
// delete this one then.
var everyIdleSession time.Duration

func noMinAge(o *wsprune.PruneOptions) { o.MinAge = 0 }
