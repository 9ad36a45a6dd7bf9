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
// plus the Go and process collectors. It is the cheapest way to serve
// them through a client_golang registry, and stays right as the exporter
// gains families.
func FromExposition(r io.Reader) (*prometheus.Registry, error) {
	families, err := parse(r)
	if err != nil {
		return nil, err
	}
	var metrics constCollector
	for _, mf := range families {
		descs := map[string]*prometheus.Desc{} // by label names
		for _, m := range mf.GetMetric() {
			names, values := make([]string, 0, len(m.GetLabel())), make([]string, 0, len(m.GetLabel()))
			for _, lp := range m.GetLabel() {
				names, values = append(names, lp.GetName()), append(values, lp.GetValue())
			}
			key := strings.Join(names, ",")
			desc, ok := descs[key]
			if !ok {
				desc = prometheus.NewDesc(mf.GetName(), mf.GetHelp(), names, nil)
				descs[key] = desc
			}
			metric, err := constMetric(mf.GetType(), desc, m, values)
			if err != nil {
				return nil, fmt.Errorf("family %s: %w", mf.GetName(), err)
			}
			metrics = append(metrics, metric)
		}
	}
	reg := ownRegistry()
	reg.MustRegister(metrics)
	return reg, nil
}

// StaticFromExposition returns a gatherer serving the same series as
// FromExposition with no work per series at all: the parsed families
// themselves, merged with what the Go and process collectors gather. A
// scrape of it costs encoding alone, of messages laid out in exposition
// order (each series with label pairs of its own, as parsed).
func StaticFromExposition(r io.Reader) (prometheus.Gatherer, error) {
	families, err := parse(r)
	if err != nil {
		return nil, err
	}
	own := ownRegistry()
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := own.Gather()
		mfs = append(mfs, families...)
		slices.SortFunc(mfs, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
		return mfs, err
	}), nil
}

// parse returns the families of a text exposition but those every Go
// program serves, sorted by name.
func parse(r io.Reader) ([]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.LegacyValidation)
	byName, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse exposition: %w", err)
	}
	var families []*dto.MetricFamily
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		if !slices.ContainsFunc(ownPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			families = append(families, byName[name])
		}
	}
	return families, nil
}

// ownRegistry serves the Go and process collectors, as the exporter does.
func ownRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
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
