// Command promlint lints a Prometheus text exposition read from stdin with
// client_golang's testutil/promlint (the linter `promtool check metrics`
// runs). It prints each problem and exits 1 if there is any, 2 if the input
// does not parse. Used by tests/promlint/run.sh on wsprune's metrics.
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func main() {
	problems, err := promlint.New(os.Stdin).Lint()
	if err != nil {
		fmt.Fprintln(os.Stderr, "promlint: cannot parse the exposition:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Printf("%s: %s\n", p.Metric, p.Text)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Println("promlint: no problems")
}
