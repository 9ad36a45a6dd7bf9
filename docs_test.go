package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
)

// anchors returns the GitHub anchors of a Markdown file's headings.
func anchors(markdown string) map[string]bool {
	out := map[string]bool{}
	fenced := false
	for line := range strings.SplitSeq(markdown, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range title {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}

var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsLinks: every link of the README and docs/ to a file of the
// repository or to a heading resolves, and every alert's runbook_url
// points at a heading of the README's runbook.
func TestDocsLinks(t *testing.T) {
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "README.md")
	texts := map[string]string{}
	for _, f := range files {
		texts[f] = readRepoFile(t, f)
	}
	for _, f := range files {
		for _, m := range markdownLink.FindAllStringSubmatch(texts[f], -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target, anchor, _ := strings.Cut(link, "#")
			path := f
			if target != "" {
				path = filepath.Clean(filepath.Join(filepath.Dir(f), target))
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s links to %s: %v", f, link, err)
					continue
				}
			}
			if anchor != "" {
				text, ok := texts[path]
				if !ok {
					text = readRepoFile(t, path)
				}
				if !anchors(text)[anchor] {
					t.Errorf("%s links to %s: no heading #%s in %s", f, link, anchor, path)
				}
			}
		}
	}
	readme := anchors(texts["README.md"])
	for _, m := range regexp.MustCompile(`runbook_url: \S+README\.md#(\S+)`).FindAllStringSubmatch(readRepoFile(t, "examples/alerts.yml"), -1) {
		if !readme[m[1]] {
			t.Errorf("examples/alerts.yml: runbook_url #%s has no heading in README.md", m[1])
		}
	}
	for _, f := range files {
		for _, internal := range []string{"issue #", "the design called"} {
			if strings.Contains(strings.ToLower(texts[f]), internal) {
				t.Errorf("%s: %q: user documentation holds a developer's note", f, internal)
			}
		}
	}
}

// troubleshootingRow returns the README's troubleshooting table row of code.
func troubleshootingRow(t *testing.T, readme, code string) string {
	t.Helper()
	row := lineWith(readme, "| `"+code+"` |")
	if row == "" {
		t.Fatalf("README.md: no troubleshooting row for %s", code)
	}
	return row
}

// TestTroubleshootingRows: the 60007 row gives each command's own limit
// (the collector's constants: get_room_list allows 10/s, not 200), and
// the 70016 row names a wrong sdkappid as well as a wrong region.
func TestTroubleshootingRows(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	row := troubleshootingRow(t, readme, "60007")
	for command, limit := range map[string]float64{
		"get_member_list": collector.UpstreamQPSLimit,
		"get_room_info":   collector.RoomInfoQPSLimit,
		"get_room_stats":  collector.RoomStatsQPSLimit,
		"get_room_list":   collector.RoomListQPSLimit,
	} {
		if !regexp.MustCompile("`" + command + "` " + strconv.FormatFloat(limit, 'f', -1, 64) + `\b`).MatchString(row) {
			t.Errorf("README.md 60007 row does not give %s's limit, %g calls/s:\n%s", command, limit, row)
		}
	}
	row = troubleshootingRow(t, readme, "70016")
	for _, want := range []string{"`region`", "`sdkappid`"} {
		if !strings.Contains(row, want) {
			t.Errorf("README.md 70016 row does not name %s:\n%s", want, row)
		}
	}
	if !strings.Contains(errorMeanings["70016"], "sdkappid") {
		t.Errorf("landing page meaning of 70016 %q does not name the sdkappid", errorMeanings["70016"])
	}
}

// The README's opening says which upstream commands the exporter calls:
// every command of the collector's table (a README that named only
// get_member_list outlived three more).
func TestReadmeNamesEveryCommand(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	intro, _, _ := strings.Cut(string(data), "\n- [")
	for _, command := range collector.Commands() {
		if !strings.Contains(intro, "`"+command+"`") && !strings.Contains(intro, "/"+command+"`") {
			t.Errorf("the README's opening does not name %s:\n%s", command, intro)
		}
	}
}
