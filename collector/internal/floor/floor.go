// Package floor builds the cheapest way client_golang can serve the
// exporter's series: the exporter's own exposition rebuilt as const metrics,
// family by family, built once and handed to the registry on every scrape,
// plus the Go and process collectors. Benchmarks and the scrape-cost
// harness compare the exporter against it.
package floor

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// constCollector sends metrics built once.
type constCollector []prometheus.Metric

func (c constCollector) Describe(chan<- *prometheus.Desc) {}

func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

// RoomID names room i of an app the way the harnesses configure it.
func RoomID(i int) string { return fmt.Sprintf("room-%05d", i) }

// AppName names app i the way the harnesses configure it.
func AppName(i int) string { return fmt.Sprintf("app-%d", i) }
