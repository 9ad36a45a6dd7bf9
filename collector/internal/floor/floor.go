// Package floor builds the cheapest way client_golang can serve the
// exporter's room series: const metrics built once and handed to the
// registry on every scrape, plus the Go and process collectors. Benchmarks
// and the scrape-cost harness compare the exporter against it.
package floor

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// The exporter's room families (see collector/metrics.go), with the same
// label names.
var roomFamilies = []string{
	"tencent_live_room_members",
	"tencent_live_room_up",
	"tencent_live_room_exists",
	"tencent_live_room_last_success_timestamp_seconds",
}

// constCollector sends metrics built once.
type constCollector []prometheus.Metric

func (c constCollector) Describe(chan<- *prometheus.Desc) {}

func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

// RoomID names room i of an app the way the harness configures it.
func RoomID(i int) string { return fmt.Sprintf("room-%05d", i) }

// AppName names app i the way the harness configures it.
func AppName(i int) string { return fmt.Sprintf("app-%d", i) }

// Registry returns a registry serving apps × roomsPerApp rooms' series
// from const metrics, with the Go and process collectors.
func Registry(apps, roomsPerApp int) *prometheus.Registry {
	descs := make([]*prometheus.Desc, len(roomFamilies))
	for i, name := range roomFamilies {
		descs[i] = prometheus.NewDesc(name, "Floor copy of the exporter's "+name+" family.", []string{"app", "room"}, nil)
	}
	// Fetch times spread over the last 40 s with sub-second precision, like
	// the exporter's, so both compress alike.
	now := float64(time.Now().UnixNano()) / 1e9
	metrics := make(constCollector, 0, apps*roomsPerApp*len(descs))
	for a := range apps {
		for r := range roomsPerApp {
			values := []float64{float64(r), 1, 1, now - float64(r%4000)*0.0100037}
			for i, d := range descs {
				metrics = append(metrics, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, values[i], AppName(a), RoomID(r)))
			}
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
