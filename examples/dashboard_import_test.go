package examples_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDashboardImportAsksForDataSource: Grafana's import dialog asks for a
// data source only for the inputs listed in __inputs, and replaces each
// ${NAME} of an input in the JSON with the choice. The dashboard lists one
// Prometheus input, every ${DS_…} it holds is an input, and the datasource
// variable starts at the chosen data source.
func TestDashboardImportAsksForDataSource(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Inputs []struct {
			Name, Label, Type, PluginID string
		} `json:"__inputs"`
		Requires []struct {
			Type, ID string
		} `json:"__requires"`
		Templating struct {
			List []struct {
				Name, Type string
				Current    json.RawMessage `json:"current"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]bool{}
	for _, in := range d.Inputs {
		if in.Type != "datasource" || in.PluginID != "prometheus" || in.Label == "" {
			t.Errorf("__inputs %+v; want a labelled prometheus datasource input", in)
		}
		inputs[in.Name] = true
	}
	if len(inputs) != 1 {
		t.Fatalf("__inputs lists %d inputs; want one Prometheus data source", len(inputs))
	}
	for _, m := range regexp.MustCompile(`\$\{(DS_[A-Z0-9_]+)\}`).FindAllStringSubmatch(string(raw), -1) {
		if !inputs[m[1]] {
			t.Errorf("${%s} is not an input of __inputs: the import would leave it as is", m[1])
		}
	}
	if !slices.ContainsFunc(d.Requires, func(r struct{ Type, ID string }) bool { return r.Type == "datasource" && r.ID == "prometheus" }) {
		t.Errorf("__requires %+v lacks the prometheus datasource", d.Requires)
	}
	for _, v := range d.Templating.List {
		if v.Type != "datasource" {
			continue
		}
		var current struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(v.Current, &current); err != nil || !inputs[strings.TrimSuffix(strings.TrimPrefix(current.Value, "${"), "}")] {
			t.Errorf("variable %s starts at %s; want the imported data source, ${<an input>}", v.Name, v.Current)
		}
	}
}

// TestDashboardRoomsLimited: the Audience row draws the top 10 rooms, the
// same ones all along the time range, not one line per room (thousands
// with discovery); every room is one click away, in a collapsed row.
func TestDashboardRoomsLimited(t *testing.T) {
	d := loadDashboard(t)
	var top, all *panel
	var allRow *panel
	for i := range d.Panels {
		row := &d.Panels[i]
		if row.Title == "Members per room (top 10)" {
			top = row
		}
		for j := range row.Panels {
			if row.Panels[j].Title == "Members per room (all)" {
				all, allRow = &row.Panels[j], row
			}
		}
	}
	if top == nil || len(top.Targets) != 1 {
		t.Fatal(`no top-level panel "Members per room (top 10)" with one target`)
	}
	limited := regexp.MustCompile(`and on \(app, room\) topk\(10, .*\[\$__range\] @ end\(\)\)\)`)
	if expr := top.Targets[0].Expr; !limited.MatchString(expr) {
		t.Errorf("Members per room (top 10): %s; want the series limited to topk(10, …[$__range] @ end())", expr)
	}
	switch {
	case all == nil:
		t.Error(`no panel "Members per room (all)" inside a row`)
	case !allRow.Collapsed || allRow.Type != "row":
		t.Errorf("Members per room (all) is in row %q, collapsed %v; want a collapsed row", allRow.Title, allRow.Collapsed)
	case len(all.Targets) != 1 || strings.Contains(all.Targets[0].Expr, "topk") || !strings.Contains(all.Targets[0].Expr, "tencent_live_room_members"):
		t.Errorf("Members per room (all): %+v; want every room's tencent_live_room_members", all.Targets)
	}
}

// TestReadmeDashboardOrder: the README lists the dashboard's rows in the
// JSON's order, says which are collapsed, and names each row's panels in
// the order they appear in it.
func TestReadmeDashboardOrder(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	start := slices.IndexFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "- [examples/grafana-dashboard.json](examples/grafana-dashboard.json)")
	})
	if start < 0 {
		t.Fatal("README.md: no dashboard entry in the examples list")
	}
	type entry struct {
		title     string
		collapsed bool
		text      string
	}
	var entries []entry
	item := regexp.MustCompile(`^  - \*([^*]+)\*( \(collapsed\))?: (.*)$`)
	for _, l := range lines[start+1:] {
		if m := item.FindStringSubmatch(l); m != nil {
			entries = append(entries, entry{m[1], m[2] != "", m[3]})
			continue
		}
		if strings.HasPrefix(l, "    ") && len(entries) > 0 {
			entries[len(entries)-1].text += " " + strings.TrimSpace(l)
			continue
		}
		if len(entries) > 0 || !strings.HasPrefix(l, "  ") {
			break
		}
	}
	d := loadDashboard(t)
	// The rows and their panels: a collapsed row holds its own, an open
	// one is followed by them.
	type row struct {
		title     string
		collapsed bool
		panels    []string
	}
	var rows []row
	for _, p := range d.Panels {
		if p.Type == "row" {
			r := row{title: p.Title, collapsed: p.Collapsed}
			for _, c := range p.Panels {
				r.panels = append(r.panels, c.Title)
			}
			rows = append(rows, r)
			continue
		}
		if len(rows) == 0 {
			t.Fatalf("panel %q comes before any row", p.Title)
		}
		rows[len(rows)-1].panels = append(rows[len(rows)-1].panels, p.Title)
	}
	var readmeRows, jsonRows []string
	for _, e := range entries {
		readmeRows = append(readmeRows, e.title)
	}
	for _, r := range rows {
		jsonRows = append(jsonRows, r.title)
	}
	if !slices.Equal(readmeRows, jsonRows) {
		t.Fatalf("README.md lists the rows %q; the dashboard has %q", readmeRows, jsonRows)
	}
	for i, r := range rows {
		e := entries[i]
		if e.collapsed != r.collapsed {
			t.Errorf("README.md row %q collapsed: %v; the dashboard's: %v", r.title, e.collapsed, r.collapsed)
		}
		text := strings.ToLower(e.text)
		at := 0
		for _, title := range r.panels {
			j := strings.Index(text[at:], strings.ToLower(title))
			if j < 0 {
				t.Errorf("README.md row %q: panel %q is not named after the previous one in %q", r.title, title, e.text)
				continue
			}
			at += j + len(title)
		}
	}
}
