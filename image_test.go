package main

// The container image, built from the Dockerfile with podman and run the
// way users run it. The containers share the host's network namespace
// (--network=host), so everything they talk to, and everything that talks
// to them, stays on this machine's loopback.

import (
	"archive/tar"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// podmanRunFlags are needed on the CI machine: its cgroups suit runc, not
// crun, and its limits must be passed explicitly.
var podmanRunFlags = []string{"--network=host", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=1024:1024"}

// podman runs the podman CLI with the runc runtime.
type podman struct{ bin string }

func newPodman(t *testing.T) podman {
	t.Helper()
	p := podman{bin: toolOrSkip(t, "podman", "podman")}
	toolOrSkip(t, "runc", "runc")
	if os.Geteuid() != 0 {
		t.Skip("the image test runs rootful podman; run it as root (CI does)")
	}
	return p
}

func (p podman) command(args ...string) *exec.Cmd {
	return exec.Command(p.bin, append([]string{"--runtime", "runc"}, args...)...)
}

// run runs podman and returns its output; it fails the test on an error.
func (p podman) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.command(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// container is a detached container, removed when the test ends.
type container struct {
	p    podman
	name string
	url  string // http://127.0.0.1:port, where it listens
}

// start runs image detached with extra podman options, then the
// exporter's args plus a loopback listen address, and waits until it is
// ready.
func (p podman) start(t *testing.T, image string, opts []string, args ...string) *container {
	t.Helper()
	addr := childproc.FreeAddr(t)
	c := &container{p: p, name: "tle-test-" + childproc.SecretKey(t, "")[:12], url: "http://" + addr}
	runArgs := append([]string{"run", "-d", "--name", c.name}, podmanRunFlags...)
	runArgs = append(append(runArgs, opts...), image)
	runArgs = append(runArgs, append(args, "--web.listen-address="+addr, "--log.level=debug")...)
	p.run(t, runArgs...)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := p.command("logs", c.name).CombinedOutput()
			t.Logf("container %s log (tail):\n%s", c.name, childproc.Tail(string(out), 6000))
		}
		_ = p.command("rm", "-f", "-t", "0", c.name).Run()
	})
	waitFor(t, nil, startTimeout, c.name+" /-/ready", func() bool {
		resp, _, err := fetch(httpClient, http.MethodGet, c.url+"/-/ready", nil, nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			return true
		}
		if state := c.inspect(t, "{{.State.Status}}"); state != "running" && state != "created" {
			t.Fatalf("container %s is %s before it was ready:\n%s", c.name, state, c.logs(t))
		}
		return false
	})
	return c
}

func (c *container) inspect(t *testing.T, format string) string {
	t.Helper()
	return c.p.run(t, "inspect", "--format", format, c.name)
}

func (c *container) logs(t *testing.T) string {
	t.Helper()
	return c.p.run(t, "logs", c.name)
}

// scrape gets /metrics from the host.
func (c *container) scrape(t *testing.T) scrapeResult {
	t.Helper()
	resp, body := httpDo(t, http.MethodGet, c.url+"/metrics", http.Header{scrapeTimeoutHeader: {"5"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics from %s: status %d\n%s", c.name, resp.StatusCode, body)
	}
	return parseMetrics(t, body)
}

// imageConfig is the part of `podman image inspect` the test checks.
type imageConfig struct {
	Architecture string
	Os           string
	Config       struct {
		User         string
		ExposedPorts map[string]struct{}
		Entrypoint   []string
		Cmd          []string
	}
}

// TestImage builds the image from the Dockerfile, FROM scratch, with the
// binary `make release` built, and runs it.
func TestImage(t *testing.T) {
	p := newPodman(t)
	bin := makeRelease(t).hostBinary(t)

	// The build context holds only what the Dockerfile copies.
	buildCtx := t.TempDir()
	binInCtx := filepath.Join(buildCtx, ".build", "linux-"+runtime.GOARCH, exporterName)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, binInCtx, string(data))
	if err := os.Chmod(binInCtx, 0o755); err != nil {
		t.Fatal(err)
	}
	dockerfile, err := filepath.Abs("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	image := "localhost/tencent_live_exporter-test:" + childproc.SecretKey(t, "")[:12]
	p.run(t, "build", "--pull=never", "--layers=false", "--build-arg", "ARCH="+runtime.GOARCH, "-f", dockerfile, "-t", image, buildCtx)
	t.Cleanup(func() { _ = p.command("rmi", "-f", image).Run() })

	t.Run("config", func(t *testing.T) {
		var configs []imageConfig
		if err := json.Unmarshal([]byte(p.run(t, "image", "inspect", image)), &configs); err != nil || len(configs) != 1 {
			t.Fatalf("podman image inspect: %v (%d images)", err, len(configs))
		}
		c := configs[0]
		if c.Config.User != "65534:65534" {
			t.Errorf("image User = %q; want 65534:65534 (nobody)", c.Config.User)
		}
		if _, ok := c.Config.ExposedPorts["9864/tcp"]; !ok || len(c.Config.ExposedPorts) != 1 {
			t.Errorf("image ExposedPorts = %v; want only 9864/tcp", c.Config.ExposedPorts)
		}
		if want := []string{"/bin/" + exporterName}; !slices.Equal(c.Config.Entrypoint, want) {
			t.Errorf("image Entrypoint = %q; want %q (exec form: no shell)", c.Config.Entrypoint, want)
		}
		if want := []string{"--config.file=/etc/tencent_live_exporter/config.yml"}; !slices.Equal(c.Config.Cmd, want) {
			t.Errorf("image Cmd = %q; want %q", c.Config.Cmd, want)
		}
		if c.Os != "linux" || c.Architecture != runtime.GOARCH {
			t.Errorf("image platform = %s/%s; want linux/%s", c.Os, c.Architecture, runtime.GOARCH)
		}
	})

	t.Run("files", func(t *testing.T) {
		// Everything in the image: the binary and no shell.
		name := "tle-test-" + childproc.SecretKey(t, "")[:12]
		p.run(t, "create", "--name", name, image)
		t.Cleanup(func() { _ = p.command("rm", "-f", name).Run() })
		cmd := p.command("export", name)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var files []string
		tr := tar.NewReader(stdout)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("podman export: %v", err)
			}
			if h.Typeflag != tar.TypeDir {
				files = append(files, strings.TrimPrefix(h.Name, "/"))
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("podman export: %v", err)
		}
		t.Logf("files in the image: %v", files)
		if !slices.Contains(files, "bin/"+exporterName) {
			t.Errorf("the image has no bin/%s: %v", exporterName, files)
		}
		for _, f := range files {
			if base := filepath.Base(f); base == "sh" || base == "bash" || base == "busybox" || strings.HasPrefix(f, "lib") || strings.HasPrefix(f, "usr/") {
				t.Errorf("the image holds %s; a FROM scratch image holds the binary alone", f)
			}
		}
	})

	t.Run("missing config", func(t *testing.T) {
		// The default command reads /etc/tencent_live_exporter/config.yml:
		// without a mounted one it exits at once and says what to do.
		args := append(append([]string{"run", "--rm"}, podmanRunFlags...), image)
		out, err := p.command(args...).CombinedOutput()
		if err == nil {
			t.Fatalf("podman run without a config exited 0:\n%s", out)
		}
		for _, want := range []string{"/etc/tencent_live_exporter/config.yml", "--config.file", "--demo"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("run without a config: output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("key unreadable by the image's user", func(t *testing.T) {
		// The key mounted as root's alone, mode 0400: the exporter, as
		// 65534, is refused it and says what to change.
		dir := mountableConfig(t, "apps:\n  - name: live\n    sdkappid: 1400000902\n    region: singapore\n    identifier: administrator\n    secret_key_file: app.key\n    rooms: [{id: room-1}]\n", "tle-unreadable-key")
		if err := os.Chown(filepath.Join(dir, "app.key"), 0, 0); err != nil {
			t.Fatal(err)
		}
		args := append(append([]string{"run", "--rm", "-v", dir + ":/etc/tencent_live_exporter:ro"}, podmanRunFlags...), image)
		out, err := p.command(args...).CombinedOutput()
		if err == nil {
			t.Fatalf("podman run with an unreadable key exited 0:\n%s", out)
		}
		for _, want := range []string{"secret_key_file: open /etc/tencent_live_exporter/app.key: permission denied", "uid 65534", "mode 0440", "defaultMode: 0440"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("run with an unreadable key: output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("demo", func(t *testing.T) {
		c := p.start(t, image, nil, "--demo")
		m := c.scrape(t)
		for _, room := range []string{"live-1001", "live-1004"} {
			if v, ok := m.get(t, "tencent_live_room_members", "app", "demo", "room", room); !ok || v <= 0 {
				t.Errorf("demo in the image: tencent_live_room_members{room=%s} = %g (present %v); want a positive count", room, v, ok)
			}
		}
		if v, ok := m.get(t, "tencent_live_exporter_build_info", "version", fileVersion(t)); !ok || v != 1 {
			t.Errorf("demo in the image: no tencent_live_exporter_build_info{version=%q}", fileVersion(t))
		}

		// The process runs as nobody, as podman and the kernel see it.
		top := strings.Fields(lineWith(p.run(t, "top", c.name, "user", "huser", "args"), exporterName))
		if len(top) < 2 || top[0] != "65534" || (top[1] != "65534" && top[1] != "nobody") {
			t.Errorf("podman top: user, host user = %q; want 65534 and 65534 (nobody)", top)
		}
		pid := c.inspect(t, "{{.State.Pid}}")
		status, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"Uid:", "Gid:"} {
			if ids := strings.Fields(lineWith(string(status), key)); len(ids) != 5 || slices.ContainsFunc(ids[1:], func(id string) bool { return id != "65534" }) {
				t.Errorf("/proc/%s/status %q; want 65534 for real, effective, saved and fs ids", pid, ids)
			}
		}

		start := time.Now()
		p.run(t, "stop", "-t", "10", c.name)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("podman stop took %s; want under 5s (the exporter ends on SIGTERM)", d.Round(time.Millisecond))
		}
		if code := c.inspect(t, "{{.State.ExitCode}}"); code != "0" {
			t.Errorf("exit code after podman stop = %s; want 0", code)
		}
		if logs := c.logs(t); !strings.Contains(logs, "Shutting down") {
			t.Errorf("no \"Shutting down\" in the container log:\n%s", logs)
		}
	})

	// A TLS endpoint whose certificate no public CA signed: trusted once
	// its CA is mounted as the CA bundle, refused without it, so the
	// exporter trusts exactly its roots (the fallback bundle or a mounted
	// file) and skips no verification.
	const sdkAppID = 1400000901
	key := childproc.SecretKey(t, "tle-secret-")
	fake := tencenttest.New(tencenttest.Options{SDKAppID: sdkAppID, Identifier: testIdentifier, SecretKey: key, RateLimit: 200})
	fake.SetRoom("room-1", tencenttest.Room{MemberCount: 321})
	certFile, keyFile, _ := selfSignedCert(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(certFile, 0o644); err != nil { // the CA bundle is public
		t.Fatal(err)
	}
	tlsServer := httptest.NewUnstartedServer(fake)
	tlsServer.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	configDir := mountableConfig(t, fmt.Sprintf(`apps:
  - name: live
    sdkappid: %d
    endpoint: %s
    identifier: %s
    secret_key_file: app.key
    rooms:
      - id: room-1
`, sdkAppID, tlsServer.URL, testIdentifier), key)
	mountConfig := []string{"-v", configDir + ":/etc/tencent_live_exporter:ro"}

	t.Run("tls with a mounted CA", func(t *testing.T) {
		opts := append([]string{"-v", certFile + ":/etc/ssl/certs/ca-certificates.crt:ro"}, mountConfig...)
		c := p.start(t, image, opts, "--config.file=/etc/tencent_live_exporter/config.yml")
		var m scrapeResult
		waitFor(t, nil, waitTimeout, "room-1 over https", func() bool {
			m = c.scrape(t)
			v, ok := m.get(t, "tencent_live_room_members", "room", "room-1")
			return ok && v == 321
		})
		if v, _ := m.get(t, "tencent_live_app_up", "app", "live"); v != 1 {
			t.Errorf("tencent_live_app_up{app=live} = %g; want 1", v)
		}
		assertNoSecret(t, []string{key}, map[string]string{"container log": c.logs(t)})
	})

	t.Run("tls without the CA", func(t *testing.T) {
		c := p.start(t, image, mountConfig, "--config.file=/etc/tencent_live_exporter/config.yml")
		const refused = "x509: certificate signed by unknown authority"
		waitFor(t, nil, waitTimeout, "the log to say "+refused, func() bool {
			c.scrape(t) // a scrape is what makes the exporter call
			return strings.Contains(c.logs(t), refused)
		})
		m := c.scrape(t)
		if v, ok := m.get(t, "tencent_live_app_up", "app", "live"); !ok || v != 0 {
			t.Errorf("tencent_live_app_up{app=live} = %g (present %v); want 0", v, ok)
		}
		if _, ok := m.get(t, "tencent_live_room_members", "room", "room-1"); ok {
			t.Error("room-1 has a member count though the endpoint's CA is not trusted")
		}
	})
}

// mountableConfig writes config.yml and app.key into a new directory that
// the container's user (65534) can read: the key is its own, mode 0400,
// as a deployment would give it.
func mountableConfig(t *testing.T, config, key string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.yml"), config)
	writeFile(t, filepath.Join(dir, "app.key"), key+"\n")
	for path, mode := range map[string]os.FileMode{dir: 0o755, filepath.Join(dir, "config.yml"): 0o644, filepath.Join(dir, "app.key"): 0o400} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "app.key"), 65534, 65534); err != nil {
		t.Fatal(fmt.Errorf("give the key to the container's user: %w", err))
	}
	return dir
}
