// Command floor serves the same series as tencent_live_exporter, the
// cheapest way client_golang can: the baseline of the scrape-cost
// comparison. With -from it serves exactly the series of a saved
// exposition of the exporter, rebuilt family by family; without, the
// four member families of apps x rooms-per-app rooms.
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
	apps := flag.Int("apps", 5, "Number of apps.")
	rooms := flag.Int("rooms-per-app", 2000, "Rooms per app.")
	from := flag.String("from", "", "Serve the series of this saved text exposition of the exporter.")
	flag.Parse()
	reg := floor.Registry(*apps, *rooms)
	if *from != "" {
		f, err := os.Open(*from)
		if err != nil {
			log.Fatal(err)
		}
		reg, err = floor.FromExposition(f)
		f.Close()
		if err != nil {
			log.Fatal(err)
		}
	}
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(*listen, nil))
}
