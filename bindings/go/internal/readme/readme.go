// Package readme checks a README's Go recipe against the example that runs
// it: tests of the binding and of the collector use it, so that every recipe
// in a README is code `go test` runs.
package readme

import (
	"os"
	"strings"
	"testing"
)

// CheckRecipe fails t unless the first ```go block after the heading
// `section` of the README at readmePath has at least minLines lines, each of
// which (trimmed) is a line of the Go file at examplePath.
func CheckRecipe(t testing.TB, readmePath, section, examplePath string, minLines int) {
	t.Helper()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), section)
	_, block, ok2 := strings.Cut(after, "```go\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("no go block in the README's section %q", section)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(example), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	n := 0
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			n++
			if !lines[l] {
				t.Errorf("README line %q is not in %s", l, examplePath)
			}
		}
	}
	if n < minLines {
		t.Fatalf("README recipe has %d lines", n)
	}
}
