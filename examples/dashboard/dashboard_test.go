package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

var update = flag.Bool("update", false, "rewrite ../grafana-dashboard.json from the generator")

const dashboardFile = "../grafana-dashboard.json"

// TestGenerated: the committed dashboard is what the generator writes
// now. After editing dashboard.go, run `go generate ./...` here (or
// `make dashboard`, or this test with -update).
func TestGenerated(t *testing.T) {
	want, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(dashboardFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the generator's output: edit examples/dashboard/dashboard.go, not the JSON, then run `make dashboard`", dashboardFile)
	}
}

// TestStrictDecode: the file decodes into the SDK's dashboard types with
// no unknown or mistyped field, panels and Prometheus queries included.
func TestStrictDecode(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	b, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	// __inputs and __requires belong to the export format, not to the
	// dashboard model.
	delete(doc, "__inputs")
	delete(doc, "__requires")
	model, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(model); err != nil {
		t.Errorf("strict decoding: %v", err)
	}
	// The check sees what it must: an unknown field fails it.
	doc["colour"] = json.RawMessage(`"red"`)
	if bad, _ := json.Marshal(doc); decodeStrict(bad) == nil {
		t.Error("strict decoding accepts an unknown field")
	}
}

// decodeStrict decodes a dashboard model with the SDK's strict decoder,
// which returns an empty cog.BuildErrors when all is well.
func decodeStrict(model []byte) error {
	var d dashboard.Dashboard
	err := d.UnmarshalJSONStrict(model)
	if errs, ok := err.(cog.BuildErrors); ok && len(errs) == 0 {
		return nil
	}
	return err
}

// TestImportInputs: Grafana's import dialog asks for a Prometheus data
// source (DS_PROMETHEUS), and what it picks becomes the datasource
// variable's value, which every panel and query uses.
func TestImportInputs(t *testing.T) {
	b, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Inputs []struct {
			Name, Type, PluginID string
		} `json:"__inputs"`
		Requires []struct {
			Type, ID string
		} `json:"__requires"`
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name, Type string
				Current    struct{ Value json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Inputs) != 1 || doc.Inputs[0].Name != "DS_PROMETHEUS" || doc.Inputs[0].Type != "datasource" || doc.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v; want one Prometheus data source input DS_PROMETHEUS", doc.Inputs)
	}
	if v := doc.Templating.List[0]; v.Name != "datasource" || v.Type != "datasource" || string(v.Current.Value) != `"${DS_PROMETHEUS}"` {
		t.Errorf("first variable %+v; want datasource, set from ${DS_PROMETHEUS}", v)
	}
	// Every panel type used is required, so the import dialog names a
	// missing plugin.
	d, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	required := map[string]bool{}
	for _, r := range doc.Requires {
		required[r.Type+"/"+r.ID] = true
	}
	for _, p := range allPanels(d) {
		if !required["panel/"+p.Type] {
			t.Errorf("panel %d uses %s, which __requires lacks", *p.Id, p.Type)
		}
	}
	if n := strings.Count(string(b), "${DS_PROMETHEUS}"); n != 2 {
		t.Errorf("${DS_PROMETHEUS} appears %d times; want only in the datasource variable's current value (text, value)", n)
	}
}

// TestMembersPerRoom: the audience's main panel shows the 10 biggest
// rooms of the time range, the same ones all along, and the collapsed row
// right under the Audience row shows every room.
func TestMembersPerRoom(t *testing.T) {
	d, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	const members = `max by (app, room) (tencent_live_room_members{app=~"$app", room=~"$room"})`
	var top, all string
	var rows []string
	for _, p := range d.Panels {
		switch {
		case p.RowPanel != nil:
			rows = append(rows, *p.RowPanel.Title)
			for _, c := range p.RowPanel.Panels {
				if *c.Title == "Members per room (all)" {
					all = expr(t, c)
					if !p.RowPanel.Collapsed || *p.RowPanel.Title != "All rooms" {
						t.Errorf("%q is in row %q (collapsed %v); want the collapsed row All rooms", *c.Title, *p.RowPanel.Title, p.RowPanel.Collapsed)
					}
				}
			}
		case *p.Panel.Title == "Members per room (top 10)":
			top = expr(t, *p.Panel)
			if rows[len(rows)-1] != "Audience" {
				t.Errorf("Members per room (top 10) is in row %q; want Audience", rows[len(rows)-1])
			}
		}
	}
	overRange := strings.ReplaceAll(members, "(tencent_live_room_members{app=~\"$app\", room=~\"$room\"})", `(max_over_time(tencent_live_room_members{app=~"$app", room=~"$room"}[$__range] @ end()))`)
	if want := members + " and on (app, room) topk(10, " + overRange + ")"; top != want {
		t.Errorf("Members per room (top 10) queries\n%s; want\n%s", top, want)
	}
	if all != members {
		t.Errorf("Members per room (all) queries %s; want %s", all, members)
	}
	if i := slices.Index(rows, "Audience"); i < 0 || i+1 >= len(rows) || rows[i+1] != "All rooms" {
		t.Errorf("rows %q; want All rooms right after Audience", rows)
	}
}

func expr(t *testing.T, p dashboard.Panel) string {
	t.Helper()
	b, err := json.Marshal(p.Targets)
	if err != nil {
		t.Fatal(err)
	}
	var targets []struct{ Expr string }
	if err := json.Unmarshal(b, &targets); err != nil || len(targets) != 1 {
		t.Fatalf("panel %q: targets %s; want one", *p.Title, b)
	}
	return targets[0].Expr
}

// readmeRow is a row's bullet in the README's list of the dashboard's
// panels: "  - *Title*: ..." or "  - *Title* (collapsed): ...".
var readmeRow = regexp.MustCompile(`(?m)^  - \*([^*]+)\*`)

// TestREADMEOrder: the README lists the dashboard's rows in the
// dashboard's order.
func TestREADMEOrder(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(readme), "- [examples/grafana-dashboard.json](examples/grafana-dashboard.json)")
	if !ok {
		t.Fatal("README.md: no bullet for examples/grafana-dashboard.json")
	}
	list, _, _ = strings.Cut(list, "\n\n")
	var listed []string
	for _, m := range readmeRow.FindAllStringSubmatch(list, -1) {
		listed = append(listed, m[1])
	}
	d, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, p := range d.Panels {
		if p.RowPanel != nil {
			rows = append(rows, *p.RowPanel.Title)
		}
	}
	if !slices.Equal(listed, rows) {
		t.Errorf("README.md lists the rows %q; the dashboard has %q", listed, rows)
	}
}

// allPanels is every panel, those of collapsed rows included.
func allPanels(d dashboard.Dashboard) []dashboard.Panel {
	var out []dashboard.Panel
	for _, p := range d.Panels {
		if p.Panel != nil {
			out = append(out, *p.Panel)
		}
		if p.RowPanel != nil {
			out = append(out, p.RowPanel.Panels...)
		}
	}
	return out
}

func TestUnescapeHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"a \u003e 0 \u0026 b \u003c c"`, `"a > 0 & b < c"`},
		{`"\\u003e"`, `"\\u003e"`}, // an escaped backslash, then text
		{`"\"\u003e"`, `"\">"`},
		{`"\u00e9"`, `"\u00e9"`},
	}
	for _, tc := range tests {
		if got := string(unescapeHTML([]byte(tc.in))); got != tc.want {
			t.Errorf("unescapeHTML(%s) = %s; want %s", tc.in, got, tc.want)
		}
	}
}
