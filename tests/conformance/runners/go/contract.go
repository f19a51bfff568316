package main

import wsprune "github.com/wsprune/wsprune/bindings/go"

// Zero values are the library defaults (docs/contract.md),
// so "every idle session" and "no min-age floor" are spelled out.
var everyIdleSession = wsprune.EveryIdleSession

func noMinAge(o *wsprune.PruneOptions) { o.NoMinAge = true }
