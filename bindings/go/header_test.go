package wsprune

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// cgo checks every call's types against include/wsprune.h when it compiles
// the package; this test checks coverage, as the Node.js, Java and Python
// bindings' header tests do: every C function of the header is called by
// the binding (Go code or log.c), or listed here with the reason it is not,
// so that a new C function cannot be forgotten.
var notCalled = map[string]string{
	"wsprune_prune_sessions":       "the first prune entry point; Prune uses wsprune_prune_sessions_with_options",
	"wsprune_prune_result_to_json": "PruneResult is built from the result's accessors, not from its JSON",
	"wsprune_session_touch":        "Touch and TouchWithOutcome both call wsprune_session_touch_outcome",
	"wsprune_lease_release":        "Release and ReleaseWithOutcome both call wsprune_lease_release_outcome",
	"wsprune_session_delete":       "DeleteSession and DeleteSessionSingleHost both call wsprune_session_delete_with_flags",
}

func headerFunctions(t *testing.T) []string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "..", "include", "wsprune.h"))
	if err != nil {
		t.Fatal(err)
	}
	noComments := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(text), "")
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^[^#\n;(]*\b(wsprune_\w+)\([^()]*\);`).FindAllStringSubmatch(noComments, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}

func bindingSources(t *testing.T) string {
	t.Helper()
	var all strings.Builder
	for _, pattern := range []string{"*.go", "*.c"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all.Write(b)
		}
	}
	return all.String()
}

func TestEveryHeaderFunctionIsCalledOrListed(t *testing.T) {
	names := headerFunctions(t)
	if len(names) < 40 {
		t.Fatalf("parsed only %d functions from the header: %v", len(names), names)
	}
	src := bindingSources(t)
	inHeader := map[string]bool{}
	for _, name := range names {
		inHeader[name] = true
		called := regexp.MustCompile(`\b` + name + `\(`).MatchString(src)
		_, listed := notCalled[name]
		switch {
		case !called && !listed:
			t.Errorf("%s is in include/wsprune.h but the binding never calls it: call it, or list it in notCalled with the reason", name)
		case called && listed:
			t.Errorf("%s is called by the binding: remove it from notCalled", name)
		}
	}
	for name := range notCalled {
		if !inHeader[name] {
			t.Errorf("notCalled lists %s, which is not in include/wsprune.h", name)
		}
	}
}
