// Command floor serves the same series as tencent_live_exporter, the
// baselines of the scrape-cost comparison: exactly the series of a saved
// exposition of the exporter, rebuilt as const metrics family by family
// (the cheapest way through a client_golang registry), or with -static
// served as parsed (encoding alone).
//
//	go run ./collector/internal/floor/cmd/floor -listen 127.0.0.1:9900 -from exporter.prom [-static]
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector/internal/floor"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9900", "Address to serve /metrics on.")
	from := flag.String("from", "", "Serve the series of this saved text exposition of the exporter (required).")
	static := flag.Bool("static", false, "Serve the parsed families as they are, with no registry work per series.")
	flag.Parse()
	if *from == "" {
		log.Fatal("-from is required: a saved text exposition of the exporter")
	}
	f, err := os.Open(*from)
	if err != nil {
		log.Fatal(err)
	}
	var g prometheus.Gatherer
	if *static {
		g, err = floor.StaticFromExposition(f)
	} else {
		g, err = floor.FromExposition(f)
	}
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(*listen, nil))
}
