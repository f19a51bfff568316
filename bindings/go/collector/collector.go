// Package collector exposes a wsprune workspace root's statistics to
// Prometheus: a prometheus.Collector (client_golang) that gathers them
// (wsprune.WorkspaceStats) at every scrape, under the names `wsprune
// metrics` prints (docs/metrics.md in the repository).
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(collector.New("/var/lib/sandbox/workspaces", collector.Options{}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// It is its own Go module, so that the wsprune binding itself depends on
// nothing but the C library.
package collector

import (
	"math"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	wsprune "github.com/wsprune/wsprune/bindings/go"
)

// Options say how the statistics are gathered. The zero value is the
// library's default: no sizing walk.
type Options struct {
	// MeasureSizes walks every session at every scrape to sum its size (as
	// `wsprune metrics --sizes`), adding wsprune_sessions_bytes and
	// wsprune_idle_sessions_bytes. Its cost grows with what the guests wrote.
	MeasureSizes bool
}

// Collector is a prometheus.Collector over one workspace root. Safe for
// concurrent scrapes (each gathers its own statistics).
type Collector struct {
	root string
	opts Options

	sessions, leased, bytes, idle, idleBytes, oldest *prometheus.Desc
	fsSize, fsAvail, fsFiles, fsFilesFree            *prometheus.Desc
}

// New returns a Collector of root's statistics. Every metric carries the
// label root="<root as given>", as the tool's output does.
func New(root string, opts Options) *Collector {
	constLabels := prometheus.Labels{"root": root}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("wsprune_"+name, help, labels, constLabels)
	}
	return &Collector{
		root:        root,
		opts:        opts,
		sessions:    d("sessions", "Sessions in the workspace root, by state (ok, legacy, corrupted, unreadable)", "state"),
		leased:      d("sessions_leased", "Sessions leased (or being deleted) now"),
		bytes:       d("sessions_bytes", "Bytes the sessions take (allocated blocks)"),
		idle:        d("idle_sessions", "Sessions with a known last use, by idle time: more than the previous bucket's upper_seconds, at most this one's", "upper_seconds"),
		idleBytes:   d("idle_sessions_bytes", "Bytes of the sessions in each idle-time bucket of wsprune_idle_sessions", "upper_seconds"),
		oldest:      d("oldest_idle_seconds", "Idle time of the least recently used session with a known last use"),
		fsSize:      d("filesystem_size_bytes", "Size of the root's filesystem"),
		fsAvail:     d("filesystem_avail_bytes", "Bytes available to unprivileged users on the root's filesystem"),
		fsFiles:     d("filesystem_files", "Inodes of the root's filesystem"),
		fsFilesFree: d("filesystem_files_free", "Free inodes of the root's filesystem"),
	}
}

// Describe sends every metric the Collector can send.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.leased, c.bytes, c.idle, c.idleBytes, c.oldest,
		c.fsSize, c.fsAvail, c.fsFiles, c.fsFilesFree} {
		ch <- d
	}
}

// Collect gathers the root's statistics and sends them. If they cannot be
// gathered (the root is gone), it sends one invalid metric carrying the
// error, so the scrape reports it rather than an empty workspace.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s, err := wsprune.WorkspaceStats(c.root, c.opts.MeasureSizes)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.sessions, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, st := range []wsprune.SessionState{wsprune.StateOK, wsprune.StateLegacy, wsprune.StateCorrupted, wsprune.StateUnreadable} {
		gauge(c.sessions, float64(s.Sessions[st]), st.String())
	}
	gauge(c.leased, float64(s.Leased))
	if s.SizesMeasured {
		gauge(c.bytes, float64(s.TotalBytes))
	}
	for _, b := range s.Idle {
		upper := UpperLabel(b.UpperSeconds)
		gauge(c.idle, float64(b.Sessions), upper)
		if s.SizesMeasured {
			gauge(c.idleBytes, float64(b.Bytes), upper)
		}
	}
	if s.OldestIdle >= 0 {
		gauge(c.oldest, s.OldestIdle.Seconds())
	}
	gauge(c.fsSize, float64(s.FSSizeBytes))
	gauge(c.fsAvail, float64(s.FSAvailableBytes))
	gauge(c.fsFiles, float64(s.FSInodes))
	gauge(c.fsFilesFree, float64(s.FSFreeInodes))
}

// UpperLabel is an idle bucket's upper_seconds label value, as every
// surface writes it: the bound in seconds ("3600"), "+Inf" for the last.
func UpperLabel(upperSeconds float64) string {
	if math.IsInf(upperSeconds, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(upperSeconds, 'f', -1, 64)
}
