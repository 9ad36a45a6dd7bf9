// Command floor serves the same series as tencent_live_exporter, the
// cheapest way client_golang can: the baseline of the scrape-cost
// comparison. It serves exactly the series of a saved exposition of the
// exporter, rebuilt family by family.
//
//	go run ./collector/internal/floor/cmd/floor -listen 127.0.0.1:9900 -from exporter.prom
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector/internal/floor"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9900", "Address to serve /metrics on.")
	from := flag.String("from", "", "Serve the series of this saved text exposition of the exporter (required).")
	flag.Parse()
	if *from == "" {
		log.Fatal("-from is required: a saved text exposition of the exporter")
	}
	f, err := os.Open(*from)
	if err != nil {
		log.Fatal(err)
	}
	reg, err := floor.FromExposition(f)
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(*listen, nil))
}
