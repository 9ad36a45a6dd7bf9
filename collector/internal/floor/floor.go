// Package floor builds the baselines that benchmarks and the scrape-cost
// harness compare the exporter against, from the exporter's own
// exposition: the cheapest way through a client_golang registry (const
// metrics built once, family by family) and no work per series but
// encoding (the parsed families served as they are). Both add the Go and
// process collectors, as the exporter does.
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
