package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// events is a `go test -json` stream: a package that passes with a
// skipped test and a skipped subtest, one that fails, one that does not
// build, and a line that is not an event.
const events = `{"Action":"start","Package":"m/a"}
{"Action":"run","Package":"m/a","Test":"TestOK"}
{"Action":"output","Package":"m/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"m/a","Test":"TestOK","Output":"    a_test.go:3: chatter of a passing test\n"}
{"Action":"output","Package":"m/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"m/a","Test":"TestOK"}
{"Action":"run","Package":"m/a","Test":"TestPromtool"}
{"Action":"output","Package":"m/a","Test":"TestPromtool","Output":"=== RUN   TestPromtool\n"}
{"Action":"output","Package":"m/a","Test":"TestPromtool","Output":"    a_test.go:9: promtool not found in PATH (install the Debian package prometheus); skipping because CI is unset\n"}
{"Action":"output","Package":"m/a","Test":"TestPromtool","Output":"--- SKIP: TestPromtool (0.00s)\n"}
{"Action":"skip","Package":"m/a","Test":"TestPromtool"}
{"Action":"output","Package":"m/a","Test":"TestT/sub","Output":"    a_test.go:12: needs: a \"quoted\" reason\n"}
{"Action":"skip","Package":"m/a","Test":"TestT/sub"}
{"Action":"output","Package":"m/a","Test":"TestQuiet","Output":"--- SKIP: TestQuiet (0.00s)\n"}
{"Action":"skip","Package":"m/a","Test":"TestQuiet"}
{"Action":"output","Package":"m/a","Output":"PASS\n"}
{"Action":"output","Package":"m/a","Output":"ok  \tm/a\t0.01s\n"}
{"Action":"pass","Package":"m/a"}
{"Action":"output","Package":"m/b","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"m/b","Test":"TestBad","Output":"    b_test.go:5: got 1; want 2\n"}
{"Action":"output","Package":"m/b","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"m/b","Test":"TestBad"}
{"Action":"output","Package":"m/b","Output":"FAIL\n"}
{"Action":"output","Package":"m/b","Output":"FAIL\tm/b\t0.01s\n"}
{"Action":"fail","Package":"m/b"}
{"ImportPath":"m/c","Action":"build-output","Output":"c.go:1:1: expected 'package', found x\n"}
{"ImportPath":"m/c","Action":"build-fail"}
not an event: go test's own message
`

func TestFilter(t *testing.T) {
	var out strings.Builder
	sum, err := filter(strings.NewReader(events), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "ok  \tm/a\t0.01s\n" +
		"=== RUN   TestBad\n    b_test.go:5: got 1; want 2\n--- FAIL: TestBad (0.00s)\n" +
		"FAIL\nFAIL\tm/b\t0.01s\n" +
		"c.go:1:1: expected 'package', found x\n" +
		"not an event: go test's own message\n"
	if out.String() != want {
		t.Errorf("filter printed:\n%s\nwant:\n%s", out.String(), want)
	}
	wantSkips := []skip{
		{"m/a", "TestPromtool", "promtool not found in PATH (install the Debian package prometheus); skipping because CI is unset"},
		{"m/a", "TestT/sub", `needs: a "quoted" reason`},
		{"m/a", "TestQuiet", "no reason given"},
	}
	if !sum.Failed || sum.Events != 27 || !slices.Equal(sum.Skipped, wantSkips) {
		t.Errorf("filter = failed %v, %d events, skipped %q; want true, 27, %q", sum.Failed, sum.Events, sum.Skipped, wantSkips)
	}
	sum, _ = filter(strings.NewReader(strings.Join(strings.Split(events, "\n")[:18], "\n")), &strings.Builder{})
	if sum.Failed {
		t.Error("filter of a passing package: failed")
	}
}

func TestReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "skipped.txt")
	var out strings.Builder
	if err := report(path, &out); err != nil || out.String() != "No test was skipped.\n" {
		t.Errorf("report(no file) = %q, %v; want \"No test was skipped.\"", out.String(), err)
	}
	if err := os.WriteFile(path, []byte("m/a TestX: why\nm/b TestY: why not\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := report(path, &out); err != nil {
		t.Fatal(err)
	}
	if want := "2 tests were skipped:\n  m/a TestX: why\n  m/b TestY: why not\n"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("report = %q; want it to start with %q", out.String(), want)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("report left %s: %v", path, err)
	}
}
