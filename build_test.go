package main

// Tests of how the exporter is built and shipped: the Makefile's version
// stamp and release tarballs, and that they match .promu.yml.

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
)

// toolOrSkip finds a program that .ci/run installs: without it the test is
// skipped on a developer's machine but fails in CI.
func toolOrSkip(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s not found in PATH (install the Debian package %s); skipping because CI is unset", name, debianPackage)
	}
	t.Fatalf("%s not found in PATH and CI is set: .ci/run must install the Debian package %s", name, debianPackage)
	return ""
}

// gitOutput runs git in the repository and returns its trimmed output.
func gitOutput(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		t.Skipf("git %s: %v: not a git checkout, no version stamp to check", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// fileVersion is the content of VERSION.
func fileVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// release is the output of one `make release`, shared by the tests that
// need a binary built the way users get it.
type release struct {
	buildDir, tarballDir string
	out                  string
	err                  error
}

var (
	releaseOnce sync.Once
	releaseRun  release
)

// makeRelease runs `make release` once per test run, into binDir.
func makeRelease(t *testing.T) release {
	t.Helper()
	toolOrSkip(t, "make", "make")
	gitOutput(t, "rev-parse", "HEAD")
	releaseOnce.Do(func() {
		r := release{buildDir: filepath.Join(binDir, "build"), tarballDir: filepath.Join(binDir, "tarballs")}
		cmd := exec.Command("make", "-s", "release", "BUILD_DIR="+r.buildDir, "TARBALL_DIR="+r.tarballDir)
		out, err := cmd.CombinedOutput()
		r.out = string(out)
		if err != nil {
			r.err = fmt.Errorf("make release: %w\n%s", err, out)
		}
		releaseRun = r
	})
	if releaseRun.err != nil {
		t.Fatal(releaseRun.err)
	}
	return releaseRun
}

// hostBinary is the release binary this machine can run.
func (r release) hostBinary(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("release binaries are for linux/amd64 and linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	return filepath.Join(r.buildDir, "linux-"+runtime.GOARCH, exporterName)
}

// TestMakeBuildVersion: `make build` stamps the version from VERSION and
// the commit and branch from git, and the binary shows them in --version
// and in tencent_live_exporter_build_info.
func TestMakeBuildVersion(t *testing.T) {
	toolOrSkip(t, "make", "make")
	version, revision, branch := fileVersion(t), gitOutput(t, "rev-parse", "HEAD"), gitOutput(t, "rev-parse", "--abbrev-ref", "HEAD")
	dir := t.TempDir()
	if out, err := exec.Command("make", "-s", "build", "PREFIX="+dir).CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, exporterName)

	out, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	want := fmt.Sprintf("%s, version %s (branch: %s, revision: %s)", exporterName, version, branch, revision)
	if !strings.Contains(string(out), want) {
		t.Errorf("--version printed:\n%s\nwant a line %q", out, want)
	}
	for _, field := range []string{"build user:", "build date:", "go version:"} {
		line := lineWith(string(out), field)
		if value := strings.TrimSpace(strings.TrimPrefix(line, field)); value == "" || strings.HasSuffix(value, "@") {
			t.Errorf("--version: %q line is %q; want a value", field, line)
		}
	}

	addr := childproc.FreeAddr(t)
	p := childproc.Start(t, t.TempDir(), bin, "--demo", "--web.listen-address="+addr)
	url := "http://" + addr
	waitFor(t, p, startTimeout, "/-/ready", func() bool {
		resp, _, err := fetch(httpClient, http.MethodGet, url+"/-/ready", nil, nil)
		return err == nil && resp.StatusCode == http.StatusOK
	})
	_, body := httpDo(t, http.MethodGet, url+"/metrics", nil)
	m := parseMetrics(t, body)
	if v, ok := m.get(t, "tencent_live_exporter_build_info", "version", version, "revision", revision, "branch", branch); !ok || v != 1 {
		t.Errorf("no tencent_live_exporter_build_info{version=%q,revision=%q,branch=%q} 1 in:\n%s", version, revision, branch, lineWith(body, "build_info{"))
	}
	_, page := httpDo(t, http.MethodGet, url+"/", nil)
	if !strings.Contains(page, "version="+version) {
		t.Errorf("landing page does not show version %s:\n%s", version, lineWith(page, "Version"))
	}
}

// lineWith returns the first line of s that contains sub.
func lineWith(s, sub string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// TestMakeMatchesPromu: what the Makefile builds with is what .promu.yml
// tells promu: the same -X stamps, build flags, platforms and tarball
// files, so that a build by either means is the same build.
func TestMakeMatchesPromu(t *testing.T) {
	toolOrSkip(t, "make", "make")
	b, err := os.ReadFile(".promu.yml")
	if err != nil {
		t.Fatal(err)
	}
	var promu struct {
		Go struct {
			Version string `yaml:"version"`
			CGO     bool   `yaml:"cgo"`
		} `yaml:"go"`
		Repository struct {
			Path string `yaml:"path"`
		} `yaml:"repository"`
		Build struct {
			Binaries []struct {
				Name string `yaml:"name"`
			} `yaml:"binaries"`
			Flags   string `yaml:"flags"`
			LDFlags string `yaml:"ldflags"`
		} `yaml:"build"`
		Tarball struct {
			Files []string `yaml:"files"`
		} `yaml:"tarball"`
		Crossbuild struct {
			Platforms []string `yaml:"platforms"`
		} `yaml:"crossbuild"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&promu); err != nil {
		t.Fatalf(".promu.yml: %v", err)
	}
	if len(promu.Build.Binaries) != 1 || promu.Build.Binaries[0].Name != exporterName {
		t.Errorf(".promu.yml binaries = %v; want only %s", promu.Build.Binaries, exporterName)
	}
	if promu.Go.CGO {
		t.Error(".promu.yml builds with cgo; the image needs a static binary")
	}
	goMod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if want := "module " + promu.Repository.Path + "\n"; !strings.HasPrefix(string(goMod), want) {
		t.Errorf("go.mod does not start with %q, the repository.path of .promu.yml", want)
	}
	if want := "\ngo " + promu.Go.Version + "."; !strings.Contains(string(goMod), want) {
		t.Errorf("go.mod has no %q line: .promu.yml's go.version is %s", strings.TrimSpace(want), promu.Go.Version)
	}

	// What make would run, without running it.
	out, err := exec.Command("make", "-n", "build", "release").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n: %v\n%s", err, out)
	}
	dry := string(out)
	buildLine := lineWith(dry, " build ")
	if !strings.Contains(buildLine, "CGO_ENABLED=0") {
		t.Errorf("make build runs %q; want CGO_ENABLED=0", buildLine)
	}
	if !strings.Contains(buildLine, " "+promu.Build.Flags+" ") {
		t.Errorf("make build runs %q; want the .promu.yml flags %q", buildLine, promu.Build.Flags)
	}
	// Each -X of .promu.yml, with its template filled as promu fills it.
	fill := strings.NewReplacer(
		"{{.Version}}", fileVersion(t),
		"{{.Revision}}", gitOutput(t, "rev-parse", "HEAD"),
		"{{.Branch}}", gitOutput(t, "rev-parse", "--abbrev-ref", "HEAD"),
	)
	for line := range strings.SplitSeq(strings.TrimSpace(promu.Build.LDFlags), "\n") {
		line = fill.Replace(strings.TrimSpace(line))
		switch {
		case strings.Contains(line, "{{user}}@{{host}}"):
			user, _ := exec.Command("whoami").Output()
			host, _ := os.Hostname()
			line = strings.Replace(line, "{{user}}@{{host}}", strings.TrimSpace(string(user))+"@"+host, 1)
		case strings.Contains(line, `{{date "20060102-15:04:05"}}`):
			// The date differs by the second; check the shape.
			prefix, _, _ := strings.Cut(line, "{{")
			i := strings.Index(buildLine, prefix)
			if i < 0 || len(buildLine) < i+len(prefix)+len("20060102-15:04:05") || buildLine[i+len(prefix)+8] != '-' {
				t.Errorf("make build runs %q; want %s<yyyymmdd-hh:mm:ss>", buildLine, prefix)
			}
			continue
		}
		if !strings.Contains(buildLine, line+" ") {
			t.Errorf("make build runs %q; want %q from .promu.yml", buildLine, line)
		}
	}
	for _, p := range promu.Crossbuild.Platforms {
		if !strings.Contains(dry, p) {
			t.Errorf("make release does not build %s, a .promu.yml crossbuild platform", p)
		}
	}
	for _, f := range promu.Tarball.Files {
		if !strings.Contains(dry, " "+f) {
			t.Errorf("make release does not pack %s, a .promu.yml tarball file", f)
		}
	}
}

// TestMakeRelease: `make release` leaves a tarball per platform, laid out
// as promu's, with a checksum file that matches them; each binary is
// static, for its architecture, and carries the CA roots.
func TestMakeRelease(t *testing.T) {
	r := makeRelease(t)
	version := fileVersion(t)
	sums, err := os.ReadFile(filepath.Join(r.tarballDir, "sha256sums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(sums)))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("sha256sums.txt line %q: want \"<sum>  <file>\"", sc.Text())
		}
		listed[name] = sum
	}
	for _, c := range []struct{ arch, machine string }{{"amd64", elf.EM_X86_64.String()}, {"arm64", elf.EM_AARCH64.String()}} {
		name := fmt.Sprintf("%s-%s.linux-%s", exporterName, version, c.arch)
		path := filepath.Join(r.tarballDir, name+".tar.gz")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("make release: %v", err)
			continue
		}
		sum := sha256.Sum256(data)
		if got := listed[name+".tar.gz"]; got != hex.EncodeToString(sum[:]) {
			t.Errorf("sha256sums.txt has %q for %s; want %x", got, name, sum)
		}
		files := tarFiles(t, path)
		want := []string{name + "/LICENSE", name + "/README.md", name + "/config.yml", name + "/" + exporterName,
			name + "/tencent_live_exporter.service", name + "/tencent_live_exporter.socket"}
		if !slices.Equal(slices.Sorted(slices.Values(files)), slices.Sorted(slices.Values(want))) {
			t.Errorf("%s holds %v; want %v", filepath.Base(path), files, want)
		}

		bin := filepath.Join(r.buildDir, "linux-"+c.arch, exporterName)
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine.String() != c.machine {
			t.Errorf("%s is for %s; want %s", bin, f.Machine, c.machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s has a program interpreter: not static", bin)
			}
		}
		f.Close()
		// The module list Go embeds in the binary names the CA roots
		// bundle: the image needs no CA file of its own.
		out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "golang.org/x/crypto/x509roots/fallback") {
			t.Errorf("go version -m %s: %v; want golang.org/x/crypto/x509roots/fallback among the modules\n%s", bin, err, out)
		}
		if !strings.Contains(string(out), "-tags=netgo") || !strings.Contains(string(out), "CGO_ENABLED=0") {
			t.Errorf("go version -m %s: want -tags=netgo and CGO_ENABLED=0\n%s", bin, out)
		}
	}
}

// tarFiles lists the regular files of a .tar.gz.
func tarFiles(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	var files []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag == tar.TypeReg {
			files = append(files, h.Name)
		}
	}
}

// TestMakeFmtCheckKeepsLog: `make fmt-check` with its output appended to
// a log file keeps what the log held before (the old `tee /dev/stderr`
// truncated it), and still fails on a file that needs gofmt.
func TestMakeFmtCheckKeepsLog(t *testing.T) {
	toolOrSkip(t, "make", "make")
	makefile, err := filepath.Abs("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ugly.go"), "package ugly\nfunc  F( ) {}\n")
	log := filepath.Join(dir, "ci.log")
	cmd := exec.Command("sh", "-c", `{ echo "earlier line"; make -s -f "$1" fmt-check; } >"$2" 2>&1`, "sh", makefile, log)
	cmd.Dir = dir
	if err := cmd.Run(); err == nil {
		t.Error("make fmt-check passed on a file that needs gofmt")
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"earlier line", "ugly.go"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("log after make fmt-check lacks %q:\n%s", want, b)
		}
	}
}

// TestShippedConfigs: the configurations shipped in the tarball (for
// every install, systemd's included) and in the Kubernetes ConfigMap are
// valid, as --config.check would find them (the keys they name exist only
// where they are deployed).
func TestShippedConfigs(t *testing.T) {
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "deploy/kubernetes/base/configmap.yaml")), &cm); err != nil {
		t.Fatal(err)
	}
	for name, config := range map[string]string{
		"examples/config.yml":                              readRepoFile(t, "examples/config.yml"),
		"deploy/kubernetes/base/configmap.yaml config.yml": cm.Data["config.yml"],
	} {
		cfg, err := collector.Decode(strings.NewReader(config))
		if err != nil || len(cfg.Apps) == 0 {
			t.Errorf("%s: %v; want a valid configuration", name, err)
		}
	}
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeBlock returns the commands of the first ```sh block of the README
// after the line that starts with marker.
func readmeBlock(t *testing.T, marker string) []string {
	t.Helper()
	lines := strings.Split(readRepoFile(t, "README.md"), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, marker) })
	if i < 0 {
		t.Fatalf("README.md: no line starting with %q", marker)
	}
	for ; i < len(lines) && lines[i] != "```sh"; i++ {
	}
	var block []string
	for i++; i < len(lines) && lines[i] != "```"; i++ {
		block = append(block, lines[i])
	}
	if len(block) == 0 {
		t.Fatalf("README.md: no ```sh block after %q", marker)
	}
	return block
}

// underRoot rewrites the absolute paths of a command into root, so that
// the README's install commands can run without touching the machine.
var underRoot = regexp.MustCompile(`(^|[\s=])/(etc|usr)/`)

// TestReadmeTarballInstall runs the README's commands as written, in
// order, the way a user does on a fresh machine: one tarball downloaded
// with sha256sums.txt, checked, unpacked and installed, then the systemd
// steps in the directory it unpacked to, up to the configuration check.
// Only /etc and /usr are moved under a scratch root, and systemctl is
// recorded instead of run. Every file the commands and the unit name must
// be in the tarball, and the shipped configuration must check clean
// before the service has ever run.
func TestReadmeTarballInstall(t *testing.T) {
	r := makeRelease(t)
	r.hostBinary(t) // skips on a machine the release binaries cannot run on
	bash := toolOrSkip(t, "bash", "bash")
	arch := "linux-" + runtime.GOARCH
	commands := append(readmeBlock(t, "**From a release tarball.**"), readmeBlock(t, "**systemd.**")...)
	name := fmt.Sprintf("%s-%s.%s", exporterName, fileVersion(t), arch)
	if !slices.ContainsFunc(commands, func(c string) bool {
		return strings.Contains(c, strings.Replace(name, arch, "linux-amd64", 1)+".tar.gz")
	}) {
		t.Errorf("the README's tarball commands do not name %s.tar.gz (the VERSION file's)", strings.Replace(name, arch, "linux-amd64", 1))
	}

	// The download: one tarball and the checksums of all.
	download, root := t.TempDir(), t.TempDir()
	copyFile(t, filepath.Join(r.tarballDir, name+".tar.gz"), filepath.Join(download, name+".tar.gz"), 0o644)
	copyFile(t, filepath.Join(r.tarballDir, "sha256sums.txt"), filepath.Join(download, "sha256sums.txt"), 0o644)
	// A fresh machine has these directories.
	for _, d := range []string{"usr/local/bin", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := []string{
		"set -euo pipefail",
		`[ -d "$ROOT" ] && [ "$ROOT" != / ] || exit 99`,
		`systemctl() { echo "systemctl $*" >>"$ROOT/systemctl.log"; }`,
		`export PATH="$ROOT/usr/local/bin:$PATH"`,
	}
	for _, c := range commands {
		c = underRoot.ReplaceAllString(strings.ReplaceAll(c, "linux-amd64", arch), `${1}"$$ROOT"/$2/`)
		// Never let a command reach the machine's own /etc or /usr.
		if underRoot.MatchString(c) || strings.Contains(c, `""/`) {
			t.Fatalf("command %q still names a path outside the scratch root", c)
		}
		script = append(script, c)
	}
	cmd := exec.Command(bash, "-c", strings.Join(script, "\n"))
	cmd.Dir = download
	cmd.Env = append(os.Environ(), "ROOT="+root, "CI=", collector.CredentialsDirectoryEnv+"=")
	const key = "pasted-key-not-real"
	cmd.Stdin = strings.NewReader(key + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's install commands failed: %v\n%s\n%s", err, strings.Join(script, "\n"), out)
	}
	if !strings.Contains(string(out), "Config file is ok") {
		t.Errorf("the README's --config.check did not pass:\n%s", out)
	}
	log, _ := os.ReadFile(filepath.Join(root, "systemctl.log"))
	if want := "systemctl enable --now tencent_live_exporter.socket"; !strings.Contains(string(log), want) {
		t.Errorf("systemctl calls:\n%s\nwant %q", log, want)
	}

	// What the unit needs is where the commands put it.
	svc := filepath.Join(root, "etc/systemd/system", serviceUnit)
	if _, err := os.Stat(filepath.Join(root, "etc/systemd/system", socketUnit)); err != nil {
		t.Error(err)
	}
	data, err := os.ReadFile(svc)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		setting, value, _ := strings.Cut(line, "=")
		var file string
		switch setting {
		case "ExecStart":
			file = strings.Fields(value)[0]
			for _, a := range strings.Fields(value) {
				if f, ok := strings.CutPrefix(a, "--config.file="); ok {
					if _, err := os.Stat(filepath.Join(root, f)); err != nil {
						t.Errorf("%s: %v", line, err)
					}
				}
			}
		case "LoadCredential":
			_, file, _ = strings.Cut(value, ":")
		default:
			continue
		}
		if _, err := os.Stat(filepath.Join(root, file)); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/tencent_live_exporter/prod-live.key")); err != nil || strings.TrimSpace(string(b)) != key {
		t.Errorf("prod-live.key: %q, %v; want the pasted key", b, err)
	}
}

// TestMakeListsSkips: make's test runs print what a plain go test prints,
// keep a failure's exit status and output, and end `make test` with the
// tests that were skipped and why (one the testdata package skips as a
// missing promtool would), so that a skipped test does not pass for "ok".
func TestMakeListsSkips(t *testing.T) {
	toolOrSkip(t, "make", "make")
	build := t.TempDir()
	run := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command("make", append([]string{"-s", "--no-print-directory", "BUILD_DIR=" + build, "GOTESTFLAGS=-count=1"}, args...)...)
		cmd.Env = append(os.Environ(), "CI=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	const fixtures = "./internal/testsummary/testdata/"
	out, err := run("go-test", "test-report", "PKGS="+fixtures+"skips")
	if err != nil {
		t.Fatalf("make go-test test-report: %v\n%s", err, out)
	}
	want := "2 tests were skipped:\n" +
		"  " + module + "/internal/testsummary/testdata/skips TestNeedsPromtool: promtool not found in PATH (install the Debian package prometheus); skipping because CI is unset\n" +
		"  " + module + "/internal/testsummary/testdata/skips TestTable/needs_chromium: chromium not found in PATH (install the Debian package chromium); skipping because CI is unset\n"
	if !strings.Contains(out, "ok  \t"+module+"/internal/testsummary/testdata/skips") || !strings.Contains(out, want) || strings.Contains(out, "passing tests print nothing") {
		t.Errorf("make go-test test-report printed:\n%s\nwant the package's ok, no passing test's log, then:\n%s", out, want)
	}

	out, err = run("go-test", "PKGS="+fixtures+"fails")
	if err == nil || !strings.Contains(out, "the failure shows") || !strings.Contains(out, "FAIL\t"+module+"/internal/testsummary/testdata/fails") {
		t.Errorf("make go-test on a failing package: %v; want an error and the failure:\n%s", err, out)
	}

	// make test ends with the report, and each of its go test runs feeds it.
	dry, err := exec.Command("make", "-n", "--no-print-directory", "test").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n test: %v\n%s", err, dry)
	}
	lines := strings.Split(strings.TrimSpace(string(dry)), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "testsummary -report ") {
		t.Errorf("make test ends with %q; want the skipped tests' report", last)
	}
	for _, l := range lines {
		if strings.Contains(l, "go test ") && !strings.Contains(l, "-fuzz") && !strings.Contains(l, "| ") {
			t.Errorf("make test runs %q outside testsummary: its skips would not be reported", l)
		}
	}
}

// module is the exporter's module path.
const module = "github.com/tencent-live-exporter/tencent_live_exporter"
