package collector

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricLabels returns a metric's labels as a map.
func metricLabels(t *testing.T, m prometheus.Metric) map[string]string {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	labels := make(map[string]string, len(pb.Label))
	for _, l := range pb.Label {
		labels[l.GetName()] = l.GetValue()
	}
	return labels
}
