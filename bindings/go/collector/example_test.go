package collector_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	wsprune "github.com/wsprune/wsprune/bindings/go"
	"github.com/wsprune/wsprune/bindings/go/collector"
)

// A /metrics endpoint serving a root's statistics, scraped once. The
// README's recipe is the middle of it (TestReadmeRecipeIsTheExample).
func ExampleNew() {
	tmp, _ := os.MkdirTemp("", "wsprune-collector")
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "workspaces")
	if _, err := wsprune.CreateSession(root); err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.New(root, collector.Options{})) // Options{MeasureSizes: true} also walks every session
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "wsprune_sessions") {
			fmt.Println(strings.ReplaceAll(l, root, "ROOT"))
		}
	}
	// Output:
	// wsprune_sessions{root="ROOT",state="corrupted"} 0
	// wsprune_sessions{root="ROOT",state="legacy"} 0
	// wsprune_sessions{root="ROOT",state="ok"} 1
	// wsprune_sessions{root="ROOT",state="unreadable"} 0
	// wsprune_sessions_leased{root="ROOT"} 0
}
