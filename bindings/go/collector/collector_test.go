package collector

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	wsprune "github.com/wsprune/wsprune/bindings/go"
	"github.com/wsprune/wsprune/bindings/go/internal/du"
	"github.com/wsprune/wsprune/bindings/go/internal/readme"
)

// workspace is a real root in a temporary directory: a fresh session with
// 3000 bytes, one last used 30 h ago (leased), one last used in 2020, and
// a legacy directory (no metadata) with 5000 bytes.
type workspace struct {
	root                    string
	fresh, day, old, legacy string
	lease                   *wsprune.Lease
}

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	w := &workspace{root: filepath.Join(t.TempDir(), "ws")}
	create := func() string {
		id, err := wsprune.CreateSession(w.root)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	w.fresh, w.day, w.old = create(), create(), create()
	backdate(t, w.root, w.day, time.Now().Add(-30*time.Hour))
	backdate(t, w.root, w.old, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	w.legacy = "77777777-7777-4777-8777-777777777777"
	if err := os.Mkdir(filepath.Join(w.root, w.legacy), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(w.root, w.fresh, "data.bin"), 3000)
	write(t, filepath.Join(w.root, w.legacy, "data.bin"), 5000)
	lease, err := wsprune.Acquire(w.root, w.day)
	if err != nil {
		t.Fatal(err)
	}
	w.lease = lease
	t.Cleanup(func() { lease.Release(false) })
	return w
}

// backdate sets a registered session's host-owned record (what the
// library decides by) to say it was last used at `at`.
func backdate(t *testing.T, root, id string, at time.Time) {
	t.Helper()
	stamp := at.UTC().Format("2006-01-02T15:04:05.000000Z")
	b, err := json.Marshal(map[string]any{"session_id": id, "created_at": stamp, "updated_at": stamp, "version": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".wsprune", "sessions", id), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path string, n int) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, n), 0o600); err != nil {
		t.Fatal(err)
	}
}

// treeSize is what `du -sB1` says: allocated blocks, each inode once.
func treeSize(t *testing.T, dir string) float64 {
	return float64(du.Bytes(t, dir))
}

// scrape gathers the collector through a registry, as a /metrics handler
// does, and returns each sample's value by "name{label=value}" (the root
// label checked and left out).
func scrape(t *testing.T, c prometheus.Collector, root string) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return samples(t, families, root)
}

func samples(t *testing.T, families []*dto.MetricFamily, root string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, f := range families {
		if f.GetType() != dto.MetricType_GAUGE || f.GetHelp() == "" {
			t.Fatalf("%s: type %v, help %q", f.GetName(), f.GetType(), f.GetHelp())
		}
		for _, m := range f.GetMetric() {
			key := f.GetName()
			var rest []string
			sawRoot := false
			for _, l := range m.GetLabel() {
				if l.GetName() == "root" {
					if l.GetValue() != root {
						t.Fatalf("%s: root=%q", key, l.GetValue())
					}
					sawRoot = true
					continue
				}
				rest = append(rest, l.GetName()+"="+l.GetValue())
			}
			if !sawRoot || m.TimestampMs != nil {
				t.Fatalf("%s: root label %v, timestamp %v", key, sawRoot, m.TimestampMs)
			}
			sort.Strings(rest)
			if len(rest) > 0 {
				key += "{" + strings.Join(rest, ",") + "}"
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestCollectorScrapesARealWorkspace(t *testing.T) {
	w := newWorkspace(t)
	got := scrape(t, New(w.root, Options{MeasureSizes: true}), w.root)
	want := map[string]float64{
		"wsprune_sessions{state=ok}":         3,
		"wsprune_sessions{state=legacy}":     1,
		"wsprune_sessions{state=corrupted}":  0,
		"wsprune_sessions{state=unreadable}": 0,
		"wsprune_sessions_leased":            1,
		"wsprune_sessions_bytes": treeSize(t, filepath.Join(w.root, w.fresh)) + treeSize(t, filepath.Join(w.root, w.day)) +
			treeSize(t, filepath.Join(w.root, w.old)) + treeSize(t, filepath.Join(w.root, w.legacy)),
	}
	buckets := map[string]string{"3600": w.fresh, "21600": "", "86400": "", "604800": w.day, "2592000": "", "+Inf": w.old}
	for upper, id := range buckets {
		n, b := 0.0, 0.0
		if id != "" {
			n, b = 1, treeSize(t, filepath.Join(w.root, id))
		}
		want["wsprune_idle_sessions{upper_seconds="+upper+"}"] = n
		want["wsprune_idle_sessions_bytes{upper_seconds="+upper+"}"] = b
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(w.root, &st); err != nil {
		t.Fatal(err)
	}
	want["wsprune_filesystem_size_bytes"] = float64(st.Blocks * uint64(st.Frsize))
	want["wsprune_filesystem_files"] = float64(st.Files)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	oldest := time.Since(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)).Seconds()
	if d := got["wsprune_oldest_idle_seconds"] - oldest; math.Abs(d) > 60 {
		t.Errorf("oldest idle %v, want about %v", got["wsprune_oldest_idle_seconds"], oldest)
	}
	if a := got["wsprune_filesystem_avail_bytes"]; a <= 0 || a > want["wsprune_filesystem_size_bytes"] {
		t.Errorf("available %v", a)
	}
	if f := got["wsprune_filesystem_files_free"]; f > want["wsprune_filesystem_files"] {
		t.Errorf("free inodes %v", f)
	}
	if len(got) != len(want)+3 {
		t.Errorf("%d samples, want %d: %v", len(got), len(want)+3, got)
	}

	// Without sizes: no walk, no byte counts; the lease gone, 0 leased.
	w.lease.Release(false)
	quick := scrape(t, New(w.root, Options{}), w.root)
	if _, ok := quick["wsprune_sessions_bytes"]; ok || quick["wsprune_sessions_leased"] != 0 {
		t.Errorf("without sizes: %v", quick)
	}
	if _, ok := quick["wsprune_idle_sessions_bytes{upper_seconds=+Inf}"]; ok || quick["wsprune_idle_sessions{upper_seconds=+Inf}"] != 1 {
		t.Errorf("without sizes: %v", quick)
	}
}

func TestCollectorPassesPromlint(t *testing.T) {
	w := newWorkspace(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(New(w.root, Options{MeasureSizes: true}))
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestAMissingRootFailsTheScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(filepath.Join(t.TempDir(), "missing"), Options{}))
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("gather of a missing root: %v", err)
	}
	// An empty root: no oldest idle time at all (not 0).
	root := t.TempDir()
	got := scrape(t, New(root, Options{}), root)
	if _, ok := got["wsprune_oldest_idle_seconds"]; ok || got["wsprune_sessions{state=ok}"] != 0 {
		t.Fatalf("empty root: %v", got)
	}
}

// The collector and `wsprune metrics --sizes` give the same families,
// labels and values for the same root (docs/metrics.md: one set of names).
// run_tests.sh sets WSPRUNE_CLI to the tool it installed.
func TestSameNamesAndValuesAsTheTool(t *testing.T) {
	cli := os.Getenv("WSPRUNE_CLI")
	if cli == "" {
		t.Skip("WSPRUNE_CLI is not set (run_tests.sh sets it)")
	}
	w := newWorkspace(t)
	out, err := exec.Command(cli, "metrics", w.root, "--sizes").Output()
	if err != nil {
		t.Fatalf("%s metrics: %v", cli, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(strings.NewReader(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	var families []*dto.MetricFamily
	for _, f := range parsed {
		families = append(families, f)
	}
	tool := samples(t, families, w.root)
	ours := scrape(t, New(w.root, Options{MeasureSizes: true}), w.root)
	volatile := map[string]float64{"wsprune_filesystem_avail_bytes": 64 << 20, "wsprune_filesystem_files_free": 1000, "wsprune_oldest_idle_seconds": 60}
	for k, v := range tool {
		g, ok := ours[k]
		if !ok {
			t.Errorf("%s: the tool has it, the collector does not", k)
		} else if math.Abs(g-v) > volatile[k] {
			t.Errorf("%s: tool %v, collector %v", k, v, g)
		}
	}
	for k := range ours {
		if _, ok := tool[k]; !ok {
			t.Errorf("%s: the collector has it, the tool does not", k)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(w.root, Options{MeasureSizes: true}))
	gathered, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range gathered {
		if p, ok := parsed[f.GetName()]; !ok || p.GetHelp() != f.GetHelp() {
			t.Errorf("%s: help %q, the tool's %q", f.GetName(), f.GetHelp(), p.GetHelp())
		}
	}
}

// The README's collector recipe is part of ExampleNew, which go test runs
// and checks: every line of it is a line of the example.
func TestReadmeRecipeIsTheExample(t *testing.T) {
	readme.CheckRecipe(t, "../README.md", "## Prometheus collector", "example_test.go", 3)
}
