package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/version"

	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// TestStampVersion: what the linker did not stamp comes from the build
// information Go records; what it stamped stays.
func TestStampVersion(t *testing.T) {
	vcs := func(rev, time, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: time}, {Key: "vcs.modified", Value: modified}}
	}
	type stamp struct{ version, revision, branch, date string }
	for _, tc := range []struct {
		name    string
		linker  stamp // what -X set
		bi      *debug.BuildInfo
		want    stamp
		wantRev string // version.GetRevision()
	}{
		{
			name: "go run",
			bi:   &debug.BuildInfo{Main: debug.Module{Path: "m", Version: "(devel)"}},
			want: stamp{"devel", "", "unknown", ""}, wantRev: "unknown",
		},
		{
			name: "go install module@v0.1.0",
			bi:   &debug.BuildInfo{Main: debug.Module{Path: "m", Version: "v0.1.0"}},
			want: stamp{"0.1.0", "", "unknown", ""}, wantRev: "unknown",
		},
		{
			name: "go build in a checkout with changes",
			bi: &debug.BuildInfo{Main: debug.Module{Path: "m", Version: "v0.0.0-20261203072744-bfdf7f08a8a3+dirty"},
				Settings: vcs("bfdf7f08a8a340cd6c87adea2592371c1951b8dd", "2026-12-03T07:27:44Z", "true")},
			want:    stamp{"0.0.0-20261203072744-bfdf7f08a8a3+dirty", "bfdf7f08a8a340cd6c87adea2592371c1951b8dd-modified", "unknown", "20261203-07:27:44"},
			wantRev: "bfdf7f08a8a340cd6c87adea2592371c1951b8dd-modified",
		},
		{
			name: "go build in a clean checkout",
			bi: &debug.BuildInfo{Main: debug.Module{Path: "m", Version: "v0.1.1-0.20261203072744-bfdf7f08a8a3"},
				Settings: vcs("bfdf7f08a8a340cd6c87adea2592371c1951b8dd", "2026-12-03T15:27:44+08:00", "false")},
			want:    stamp{"0.1.1-0.20261203072744-bfdf7f08a8a3", "bfdf7f08a8a340cd6c87adea2592371c1951b8dd", "unknown", "20261203-07:27:44"},
			wantRev: "bfdf7f08a8a340cd6c87adea2592371c1951b8dd",
		},
		{
			name:   "make build",
			linker: stamp{"0.1.0", "abc", "main", "20260101-00:00:00"},
			bi: &debug.BuildInfo{Main: debug.Module{Path: "m", Version: "v0.0.0-20261203072744-bfdf7f08a8a3"},
				Settings: vcs("bfdf7f08a8a340cd6c87adea2592371c1951b8dd", "2026-12-03T07:27:44Z", "false")},
			want: stamp{"0.1.0", "abc", "main", "20260101-00:00:00"}, wantRev: "abc",
		},
		{
			name: "no build information",
			want: stamp{"devel", "", "unknown", ""}, wantRev: "unknown",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := stamp{version.Version, version.Revision, version.Branch, version.BuildDate}
			t.Cleanup(func() {
				version.Version, version.Revision, version.Branch, version.BuildDate = saved.version, saved.revision, saved.branch, saved.date
			})
			version.Version, version.Revision, version.Branch, version.BuildDate = tc.linker.version, tc.linker.revision, tc.linker.branch, tc.linker.date
			stampVersion(tc.bi, tc.bi != nil)
			got := stamp{version.Version, version.Revision, version.Branch, version.BuildDate}
			if got != tc.want {
				t.Errorf("stampVersion(%+v) = %+v; want %+v", tc.bi, got, tc.want)
			}
			// Without a vcs.revision the revision is common/version's
			// own fallback, computed from this test binary: not checked.
			if tc.want.revision != "" && version.GetRevision() != tc.wantRev {
				t.Errorf("GetRevision() = %q; want %q", version.GetRevision(), tc.wantRev)
			}
			if ua := userAgent(); ua != exporterName+"/"+tc.want.version {
				t.Errorf("userAgent() = %q; want %s/%s", ua, exporterName, tc.want.version)
			}
		})
	}
}

// TestBinaryVersionUnstamped builds the exporter as `go run .` and `go
// build` in a git checkout do, without make's -X stamps, and checks that
// --version, build_info and the User-Agent upstream name a version (and,
// where Go recorded the commit, the revision), never an empty one.
func TestBinaryVersionUnstamped(t *testing.T) {
	git := toolOrSkip(t, "git", "git")
	// A copy of the working tree as a repository of its own: the commit
	// Go records is then known, whatever this checkout is (a worktree, a
	// tarball).
	files, err := exec.Command(git, "ls-files", "--cached", "--others", "--exclude-standard", "-z").Output()
	if err != nil {
		t.Skipf("git ls-files: %v: not a git checkout", err)
	}
	src := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		if fi, err := os.Stat(f); err != nil || !fi.Mode().IsRegular() {
			continue // deleted, not yet committed
		}
		copyFile(t, f, filepath.Join(src, f), 0o644)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(git, append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = src
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	run("add", "-A")
	run("commit", "-q", "-m", "copy")
	head := run("rev-parse", "HEAD")

	for _, c := range []struct {
		name, buildvcs       string
		wantVersion, wantRev string
		wantVersionHasPrefix bool
	}{
		// go run stamps no VCS information.
		{name: "go run", buildvcs: "-buildvcs=false", wantVersion: "devel", wantRev: "unknown"},
		// go build in a checkout: a pseudo-version and the commit.
		{name: "go build", buildvcs: "-buildvcs=true", wantVersion: "0.0.0-", wantVersionHasPrefix: true, wantRev: head},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), exporterName)
			build := exec.Command("go", "build", c.buildvcs, "-trimpath", "-o", bin, ".")
			build.Dir = src
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err := exec.Command(bin, "--version").CombinedOutput()
			if err != nil {
				t.Fatalf("--version: %v\n%s", err, out)
			}
			line := lineWith(string(out), ", version ")
			_, after, _ := strings.Cut(line, ", version ")
			gotVersion, _, _ := strings.Cut(after, " ")
			if gotVersion == "" || (c.wantVersionHasPrefix && !strings.HasPrefix(gotVersion, c.wantVersion)) || (!c.wantVersionHasPrefix && gotVersion != c.wantVersion) ||
				!strings.Contains(line, "revision: "+c.wantRev+")") {
				t.Errorf("--version printed %q; want version %s and revision %s", line, c.wantVersion, c.wantRev)
			}

			if !c.wantVersionHasPrefix {
				gotVersion = c.wantVersion // build_info and the User-Agent must say it too
			}

			// The same in build_info and in the User-Agent upstream.
			f := newFakeApp(t, 1400000801)
			f.SetRoom("room-1", tencenttest.Room{MemberCount: 5})
			var mu sync.Mutex
			var agents []string
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				agents = append(agents, r.UserAgent())
				mu.Unlock()
				f.Fake.ServeHTTP(w, r)
			}))
			t.Cleanup(front.Close)
			_, configPath := configDir(t, f)
			writeFile(t, configPath, "apps:\n"+strings.Replace(appYAML("live", f, keyFileRel, "", "room-1"), f.URL, front.URL, 1))
			addr := childproc.FreeAddr(t)
			p := childproc.Start(t, t.TempDir(), bin, "--config.file="+configPath, "--web.listen-address="+addr)
			waitFor(t, p, startTimeout, "/-/ready", func() bool {
				resp, _, err := fetch(httpClient, http.MethodGet, "http://"+addr+"/-/ready", nil, nil)
				return err == nil && resp.StatusCode == http.StatusOK
			})
			_, body := httpDo(t, http.MethodGet, "http://"+addr+"/metrics", http.Header{scrapeTimeoutHeader: {"5"}})
			m := parseMetrics(t, body)
			if v, ok := m.get(t, "tencent_live_exporter_build_info", "version", gotVersion, "revision", c.wantRev); !ok || v != 1 {
				t.Errorf("no tencent_live_exporter_build_info{version=%q,revision=%q} 1 in:\n%s", gotVersion, c.wantRev, lineWith(body, "build_info{"))
			}
			mu.Lock()
			defer mu.Unlock()
			if len(agents) == 0 {
				t.Fatal("the exporter made no call upstream")
			}
			for _, ua := range agents {
				if ua != exporterName+"/"+gotVersion || strings.HasSuffix(ua, "/") {
					t.Errorf("User-Agent %q; want %s/%s", ua, exporterName, gotVersion)
				}
			}
		})
	}
}
