//go:build wsprune_contract

package main

import wsprune "github.com/wsprune/wsprune/bindings/go"

// The binding after docs/contract.md: zero values are the library defaults,
// so "every idle session" and "no min-age floor" are spelled out.
var everyIdleSession = wsprune.EveryIdleSession

func noMinAge(o *wsprune.PruneOptions) { o.NoMinAge = true }
