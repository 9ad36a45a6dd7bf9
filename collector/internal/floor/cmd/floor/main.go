// Command floor serves the same room series as tencent_live_exporter with
// 10 000 cached rooms, the cheapest way client_golang can: the baseline of
// the scrape-cost comparison in the README's Performance section.
//
//	go run ./collector/internal/floor/cmd/floor -listen 127.0.0.1:9900
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector/internal/floor"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9900", "Address to serve /metrics on.")
	apps := flag.Int("apps", 5, "Number of apps.")
	rooms := flag.Int("rooms-per-app", 2000, "Rooms per app.")
	flag.Parse()
	reg := floor.Registry(*apps, *rooms)
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(*listen, nil))
}
