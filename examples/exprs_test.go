package examples_test

// Helpers shared by the tests of this package: they read the dashboard and
// the rule files and pull out every PromQL expression, so that the static
// tests (examples_test.go) and the end-to-end test against a real
// Prometheus (e2e_test.go) look at exactly the same expressions.
//
// The rule files are YAML, and this package uses the standard library only,
// so rules are read by a small line-oriented reader that understands the
// shapes used in our rule files (plain, quoted and block scalars). The
// static tests cross-check its rule count against promtool's.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Files of this directory, relative to it (go test runs in the package
// directory).
const (
	dashboardFile          = "grafana-dashboard.json"
	recordingRulesFile     = "recording_rules.yml"
	alertingRulesFile      = "alerts.yml"
	alertsTestFile         = "alerts_test.yml"
	prometheusConfigFile   = "prometheus.yml"
	alertmanagerConfigFile = "alertmanager.yml"
)

// ruleFiles lists the rule files in the order prometheus.yml loads them.
var ruleFiles = []string{recordingRulesFile, alertingRulesFile}

// dashboard is the part of a Grafana dashboard model the tests look at.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []templateVar `json:"list"`
	} `json:"templating"`
}

// panel is a dashboard panel; rows carry their children in Panels when
// collapsed.
type panel struct {
	ID         *int            `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Collapsed  bool            `json:"collapsed"`
	Datasource json.RawMessage `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []panelTarget `json:"targets"`
	Panels  []panel       `json:"panels"`
}

// panelTarget is one query of a panel.
type panelTarget struct {
	RefID      string          `json:"refId"`
	Expr       string          `json:"expr"`
	Instant    bool            `json:"instant"`
	Datasource json.RawMessage `json:"datasource"`
}

// templateVar is one entry of templating.list.
type templateVar struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource json.RawMessage `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// queryString returns the variable's query whether Grafana stored it as a
// string or as an object with a "query" field.
func (v templateVar) queryString() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &o) == nil && o.Query != "" {
		return o.Query
	}
	return v.Definition
}

// loadDashboard parses grafana-dashboard.json.
func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// allPanels flattens panels, descending into (collapsed) rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// dashboardTarget is one PromQL query of the dashboard and where it is.
type dashboardTarget struct {
	PanelID    int
	PanelTitle string
	RefID      string
	Expr       string // as written, with Grafana variables
	Instant    bool
}

func (dt dashboardTarget) String() string {
	return fmt.Sprintf("panel %d %q target %s", dt.PanelID, dt.PanelTitle, dt.RefID)
}

// dashboardTargets returns every query of every panel, nested ones included.
func dashboardTargets(t *testing.T) []dashboardTarget {
	t.Helper()
	var out []dashboardTarget
	for _, p := range allPanels(loadDashboard(t).Panels) {
		id := 0
		if p.ID != nil {
			id = *p.ID
		}
		for _, tg := range p.Targets {
			out = append(out, dashboardTarget{PanelID: id, PanelTitle: p.Title, RefID: tg.RefID, Expr: tg.Expr, Instant: tg.Instant})
		}
	}
	return out
}

var labelValuesRe = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// dashboardVariableSelectors returns the series selectors inside the
// label_values(selector, label) queries of the template variables: they are
// PromQL (after substituteGrafanaVars) even though the queries are not.
func dashboardVariableSelectors(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, v := range loadDashboard(t).Templating.List {
		if v.Type != "query" {
			continue
		}
		q := v.queryString()
		m := labelValuesRe.FindStringSubmatch(q)
		if m == nil {
			t.Fatalf("variable %q: query %q is not label_values(selector, label)", v.Name, q)
		}
		out = append(out, m[1])
	}
	return out
}

// rule is one recording or alerting rule read from a rule file.
type rule struct {
	File        string
	Line        int // of the "- alert:" or "- record:" line
	Group       string
	Alert       string // set for alerting rules
	Record      string // set for recording rules
	Expr        string
	For         string
	Labels      map[string]string
	Annotations map[string]string
}

// Name is the alert or record name.
func (r rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

func (r rule) String() string { return fmt.Sprintf("%s:%d %s", r.File, r.Line, r.Name()) }

// loadRules reads every rule of all rule files.
func loadRules(t *testing.T) []rule {
	t.Helper()
	var out []rule
	for _, f := range ruleFiles {
		rs, err := readRuleFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rs...)
	}
	return out
}

// recordedNames returns the names of the recording rules.
func recordedNames(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Record != "" {
			out[r.Record] = true
		}
	}
	return out
}

type yamlLine struct {
	n      int    // 1-based line number
	indent int    // leading spaces
	text   string // without indentation and trailing spaces
}

var (
	ruleStartRe = regexp.MustCompile(`^- (alert|record):\s*(.*)$`)
	groupNameRe = regexp.MustCompile(`^- name:\s*(.*)$`)
	keyRe       = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*)|)$`)
)

// readRuleFile reads the rules of a Prometheus rule file written in the
// block style of our examples.
func readRuleFile(path string) ([]rule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []yamlLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		raw := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimLeft(raw, " ")
		if strings.HasPrefix(trimmed, "\t") {
			return nil, fmt.Errorf("%s:%d: tab in indentation", path, n)
		}
		lines = append(lines, yamlLine{n: n, indent: len(raw) - len(trimmed), text: trimmed})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}

	var (
		rules []rule
		group string
	)
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := groupNameRe.FindStringSubmatch(l.text); m != nil {
			group, _, err = scalar(path, lines, i, l.indent+2, m[1])
			if err != nil {
				return nil, err
			}
			continue
		}
		m := ruleStartRe.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		// The rule's keys sit two columns right of the dash.
		keyIndent := l.indent + 2
		r := rule{File: path, Line: l.n, Group: group, Labels: map[string]string{}, Annotations: map[string]string{}}
		name, _, err := scalar(path, lines, i, keyIndent, m[2])
		if err != nil {
			return nil, err
		}
		if m[1] == "alert" {
			r.Alert = name
		} else {
			r.Record = name
		}
		// The rule ends at the next line indented at most as far as its dash.
		end := i + 1
		for end < len(lines) && (lines[end].text == "" || strings.HasPrefix(lines[end].text, "#") || lines[end].indent > l.indent) {
			end++
		}
		for j := i + 1; j < end; j++ {
			kl := lines[j]
			if kl.indent != keyIndent {
				continue
			}
			km := keyRe.FindStringSubmatch(kl.text)
			if km == nil {
				continue
			}
			switch km[1] {
			case "expr", "for":
				v, _, err := scalar(path, lines[:end], j, keyIndent, km[2])
				if err != nil {
					return nil, err
				}
				if km[1] == "expr" {
					r.Expr = v
				} else {
					r.For = v
				}
			case "labels", "annotations":
				dst := r.Labels
				if km[1] == "annotations" {
					dst = r.Annotations
				}
				for k := j + 1; k < end && (lines[k].text == "" || lines[k].indent > keyIndent); k++ {
					if lines[k].indent != keyIndent+2 {
						continue
					}
					mm := keyRe.FindStringSubmatch(lines[k].text)
					if mm == nil {
						continue
					}
					v, _, err := scalar(path, lines[:end], k, keyIndent+2, mm[2])
					if err != nil {
						return nil, err
					}
					dst[mm[1]] = v
				}
			}
		}
		if r.Expr == "" {
			return nil, fmt.Errorf("%s:%d: rule %s has no expr", path, l.n, r.Name())
		}
		rules = append(rules, r)
		i = end - 1
	}
	return rules, nil
}

// scalar decodes the YAML scalar that starts with v on lines[i], whose key
// is indented by keyIndent: plain (possibly continued on more-indented
// lines), single- or double-quoted on one line, or a literal (|) or folded
// (>) block. It returns the value and the index of its last line.
func scalar(path string, lines []yamlLine, i, keyIndent int, v string) (string, int, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", i, nil
	case strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">"):
		if strings.ContainsAny(strings.TrimLeft(v[1:], "+-"), "0123456789") {
			return "", i, fmt.Errorf("%s:%d: block indentation indicators are not supported", path, lines[i].n)
		}
		var (
			body   []string
			indent = -1
			last   = i
		)
		for j := i + 1; j < len(lines); j++ {
			if lines[j].text == "" {
				body = append(body, "")
				continue
			}
			if lines[j].indent <= keyIndent {
				break
			}
			if indent < 0 {
				indent = lines[j].indent
			}
			if lines[j].indent < indent {
				return "", i, fmt.Errorf("%s:%d: block scalar less indented than its first line", path, lines[j].n)
			}
			body = append(body, strings.Repeat(" ", lines[j].indent-indent)+lines[j].text)
			last = j
		}
		body = body[:last-i]
		sep := "\n"
		if v[0] == '>' {
			sep = " "
		}
		return strings.TrimSpace(strings.Join(body, sep)), last, nil
	case v[0] == '\'':
		if len(v) < 2 || v[len(v)-1] != '\'' {
			return "", i, fmt.Errorf("%s:%d: multi-line single-quoted scalars are not supported", path, lines[i].n)
		}
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), i, nil
	case v[0] == '"':
		s, err := strconv.Unquote(v)
		if err != nil {
			return "", i, fmt.Errorf("%s:%d: double-quoted scalar: %w", path, lines[i].n, err)
		}
		return s, i, nil
	default:
		if k := strings.Index(v, " #"); k >= 0 {
			v = strings.TrimSpace(v[:k])
		}
		parts := []string{v}
		last := i
		for j := i + 1; j < len(lines) && lines[j].text != "" && lines[j].indent > keyIndent; j++ {
			if keyRe.MatchString(lines[j].text) || strings.HasPrefix(lines[j].text, "- ") {
				break
			}
			parts = append(parts, lines[j].text)
			last = j
		}
		return strings.Join(parts, " "), last, nil
	}
}

// grafanaVarRe matches $var, ${var}, ${var:format} and [[var]].
var grafanaVarRe = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\]\]`)

// grafanaBuiltins are Grafana's global variables our expressions may use,
// with the value substituteGrafanaVars gives them.
var grafanaBuiltins = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "1m",
	"__interval_ms":   "60000",
	"__range":         "1h",
	"__range_s":       "3600",
	"__range_ms":      "3600000",
}

// grafanaVarNames returns the names of the variables used in s.
func grafanaVarNames(s string) []string {
	var out []string
	for _, m := range grafanaVarRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2]+m[3])
	}
	return out
}

// substituteGrafanaVars makes a dashboard expression evaluable by Prometheus:
// the dashboard's template variables ($app, $room, always used in =~
// matchers) become ".*" as if "All" were selected, and Grafana's interval
// variables become fixed durations. Unknown variables are left alone, so
// that Prometheus rejects the expression instead of a test passing on a
// silently changed one.
func substituteGrafanaVars(expr string) string {
	return grafanaVarRe.ReplaceAllStringFunc(expr, func(m string) string {
		names := grafanaVarNames(m)
		if len(names) != 1 {
			return m
		}
		switch name := names[0]; name {
		case "app", "room":
			return ".*"
		default:
			if v, ok := grafanaBuiltins[name]; ok {
				return v
			}
			return m
		}
	})
}

// promqlKeywords are identifiers of PromQL that are not metric names when
// they are not followed by "(".
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true,
	"offset": true, "by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "inf": true, "nan": true,
	// Aggregation operators, which may be followed by "by (...)" first.
	"sum": true, "min": true, "max": true, "avg": true, "group": true,
	"stddev": true, "stdvar": true, "count": true, "count_values": true,
	"bottomk": true, "topk": true, "quantile": true,
}

// promqlLabelLists are keywords followed by a parenthesised list of label
// names.
var promqlLabelLists = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// metricNames returns the metric names an expression selects. It is a
// tokenizer, not a parser: it skips strings, label matchers, ranges,
// numbers, function calls, keywords and label lists, and takes the
// remaining identifiers as metric names. Grafana variables are skipped.
func metricNames(expr string) []string {
	var out []string
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	skipSpace := func(i int) int {
		for i < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[i])) {
			i++
		}
		return i
	}
	// skipTo returns the index after the bracket closing the one at i,
	// skipping quoted strings inside.
	skipTo := func(i int, open, closing byte) int {
		depth := 0
		for ; i < len(expr); i++ {
			switch c := expr[i]; c {
			case '"', '\'', '`':
				for i++; i < len(expr) && expr[i] != c; i++ {
					if expr[i] == '\\' && c != '`' {
						i++
					}
				}
			case open:
				depth++
			case closing:
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '#': // comment to end of line
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			i = j + 1
		case c == '{':
			i = skipTo(i, '{', '}')
		case c == '[':
			i = skipTo(i, '[', ']')
		case c == '$':
			i++
			if i < len(expr) && expr[i] == '{' {
				i = skipTo(i, '{', '}')
			}
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			word := expr[i:j]
			next := skipSpace(j)
			switch {
			case promqlLabelLists[word]:
				i = next
				if i < len(expr) && expr[i] == '(' {
					i = skipTo(i, '(', ')')
				}
			case promqlKeywords[strings.ToLower(word)]:
				i = j
			case next < len(expr) && expr[next] == '(':
				i = j // function call
			default:
				out = append(out, word)
				i = j
			}
		default:
			i++
		}
	}
	return out
}
