package floor

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ownPrefixes are the families every Go program serves: the floor serves
// its own, from its own collectors.
var ownPrefixes = []string{"go_", "process_", "promhttp_"}

// FromExposition returns a registry serving exactly the series of an
// exporter's text exposition: every family but the Go, process and
// promhttp ones rebuilt as const metrics, family by family, built once,
// plus the Go and process collectors. It stays right as the exporter
// gains families.
func FromExposition(r io.Reader) (*prometheus.Registry, error) {
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse exposition: %w", err)
	}
	var metrics constCollector
	for _, name := range slices.Sorted(maps.Keys(families)) {
		if slices.ContainsFunc(ownPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		mf := families[name]
		descs := map[string]*prometheus.Desc{} // by label names
		for _, m := range mf.GetMetric() {
			names, values := make([]string, 0, len(m.GetLabel())), make([]string, 0, len(m.GetLabel()))
			for _, lp := range m.GetLabel() {
				names, values = append(names, lp.GetName()), append(values, lp.GetValue())
			}
			key := strings.Join(names, ",")
			desc, ok := descs[key]
			if !ok {
				desc = prometheus.NewDesc(name, mf.GetHelp(), names, nil)
				descs[key] = desc
			}
			metric, err := constMetric(mf.GetType(), desc, m, values)
			if err != nil {
				return nil, fmt.Errorf("family %s: %w", name, err)
			}
			metrics = append(metrics, metric)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg, nil
}

func constMetric(t dto.MetricType, desc *prometheus.Desc, m *dto.Metric, values []string) (prometheus.Metric, error) {
	switch t {
	case dto.MetricType_COUNTER:
		return prometheus.NewConstMetric(desc, prometheus.CounterValue, m.GetCounter().GetValue(), values...)
	case dto.MetricType_GAUGE:
		return prometheus.NewConstMetric(desc, prometheus.GaugeValue, m.GetGauge().GetValue(), values...)
	case dto.MetricType_UNTYPED:
		return prometheus.NewConstMetric(desc, prometheus.UntypedValue, m.GetUntyped().GetValue(), values...)
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		buckets := make(map[float64]uint64, len(h.GetBucket()))
		for _, b := range h.GetBucket() {
			if ub := b.GetUpperBound(); !math.IsInf(ub, 1) {
				buckets[ub] = b.GetCumulativeCount()
			}
		}
		return prometheus.NewConstHistogram(desc, h.GetSampleCount(), h.GetSampleSum(), buckets, values...)
	}
	return nil, fmt.Errorf("type %s not supported", t)
}
