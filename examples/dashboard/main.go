// Command dashboard writes examples/grafana-dashboard.json, the Grafana
// dashboard of tencent_live_exporter, from the typed panels and queries
// of dashboard.go (Grafana's foundation SDK).
//
// It is a module of its own so that the SDK never becomes a dependency of
// the exporter. Edit dashboard.go, then regenerate the JSON:
//
//	go generate ./...   # in examples/dashboard, or `make dashboard`
//
// TestGenerated fails while the committed JSON differs from what this
// writes.
package main

//go:generate go run . -o ../grafana-dashboard.json

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("o", "", "file to write the dashboard to (default: standard output)")
	flag.Parse()
	b, err := Render()
	if err == nil {
		if *out == "" {
			_, err = os.Stdout.Write(b)
		} else {
			err = os.WriteFile(*out, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashboard:", err)
		os.Exit(1)
	}
}
