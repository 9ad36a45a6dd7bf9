// Command testsummary reads `go test -json` and prints what a plain `go
// test` prints (each package's result, the output of the tests that
// failed), so that `make test` stays as quiet as before while it records
// the tests that were skipped and why. With -report it prints that record
// at the end of the run: a test skipped for lack of a program (promtool,
// prometheus, amtool, podman, chromium, systemd-analyze) otherwise only
// shows as "ok".
//
// Usage, as the Makefile runs it:
//
//	go test -json ./... | testsummary -skipped .build/skipped-tests.txt
//	testsummary -report .build/skipped-tests.txt
//
// It exits 1 when a test or a package failed, or when the input held no
// test event at all.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail
	Test       string
	Output     string
}

// skip is a skipped test and the reason it gave.
type skip struct {
	Package, Test, Reason string
}

func (s skip) String() string { return s.Package + " " + s.Test + ": " + s.Reason }

// summary is what filter found in a run.
type summary struct {
	Events  int
	Failed  bool
	Skipped []skip
}

// filter copies to w what a plain `go test` would print of the events in
// r, and returns what it found.
func filter(r io.Reader, w io.Writer) (summary, error) {
	var sum summary
	output := map[string][]string{} // package + " " + test -> its output lines
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintf(w, "%s\n", line) // not an event: go test's own message
			continue
		}
		sum.Events++
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			sum.Failed = true
		case "output":
			if e.Test != "" {
				output[key] = append(output[key], e.Output)
				continue
			}
			// The package's own lines, but for those only -v prints.
			if o := strings.TrimSpace(e.Output); o != "PASS" && o != "testing: warning: no tests to run" {
				fmt.Fprint(w, e.Output)
			}
		case "fail":
			sum.Failed = true
			if e.Test != "" {
				fmt.Fprint(w, strings.Join(output[key], ""))
			}
			delete(output, key)
		case "skip":
			if e.Test != "" {
				sum.Skipped = append(sum.Skipped, skip{e.Package, e.Test, reason(output[key])})
			}
			delete(output, key)
		case "pass":
			delete(output, key)
		}
	}
	return sum, sc.Err()
}

// reason is what a skipped test said: its output without the lines the
// testing package adds, and without the file:line prefix of t.Skip's.
func reason(lines []string) string {
	var said []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		if file, rest, ok := strings.Cut(l, ": "); ok && strings.Contains(file, ".go:") && !strings.Contains(file, " ") {
			l = rest
		}
		said = append(said, l)
	}
	if len(said) == 0 {
		return "no reason given"
	}
	return strings.Join(said, " ")
}

// report prints the skipped tests recorded in path, then removes it.
func report(path string, w io.Writer) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = nil, nil
	}
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(b) == 0 || len(lines) == 0 || lines[0] == "" {
		fmt.Fprintln(w, "No test was skipped.")
		return nil
	}
	noun := "tests were"
	if len(lines) == 1 {
		noun = "test was"
	}
	fmt.Fprintf(w, "%d %s skipped:\n", len(lines), noun)
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
	fmt.Fprintln(w, "Install the programs they name to run them (.ci/run installs them all); with CI=true a missing program fails its test instead.")
	return os.Remove(path)
}

func main() {
	skipped := flag.String("skipped", "", "append the skipped tests to this file")
	reportFile := flag.String("report", "", "print the skipped tests recorded in this file, remove it and exit")
	flag.Parse()
	if *reportFile != "" {
		if err := report(*reportFile, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(1)
		}
		return
	}
	sum, err := filter(os.Stdin, os.Stdout)
	if err == nil && *skipped != "" && len(sum.Skipped) > 0 {
		var f *os.File
		if f, err = os.OpenFile(*skipped, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			for _, s := range sum.Skipped {
				fmt.Fprintln(f, s)
			}
			err = f.Close()
		}
	}
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	case sum.Events == 0:
		fmt.Fprintln(os.Stderr, "testsummary: no test event in the input; did go test run with -json?")
		os.Exit(1)
	case sum.Failed:
		os.Exit(1)
	}
}
