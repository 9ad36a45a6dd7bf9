package main

// The systemd units of examples/systemd/: checked by systemd's own
// verifier and security analyser, then run the way systemd runs them
// (socket handed over by systemd-socket-activate, key from the
// credentials directory) as far as a machine without systemd as PID 1
// allows.

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

const (
	systemdDir     = "examples/systemd"
	serviceUnit    = "tencent_live_exporter.service"
	socketUnit     = "tencent_live_exporter.socket"
	unitBinary     = "/usr/local/bin/tencent_live_exporter"
	unitConfigFile = "/etc/tencent_live_exporter/config.yml"
	// unitConfigExample is what the README installs as unitConfigFile.
	unitConfigExample = "examples/config.yml"
)

// unitFile is a unit's settings: section -> key -> values in order.
type unitFile map[string]map[string][]string

func readUnit(t *testing.T, name string) unitFile {
	t.Helper()
	f, err := os.Open(filepath.Join(systemdDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: cannot read line %q", name, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// get returns the last value of key, as systemd takes it.
func (u unitFile) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// TestSystemdUnits: systemd-analyze verify accepts both units without a
// warning, its security analysis rates the service's exposure at most
// 2.0 ("OK"), and the settings the README promises are there.
func TestSystemdUnits(t *testing.T) {
	analyze := toolOrSkip(t, "systemd-analyze", "systemd")
	// A root directory with the system's own units (for the targets ours
	// refer to), ours, and the programs they start.
	root := t.TempDir()
	copyTree(t, "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/system"))
	for _, name := range []string{serviceUnit, socketUnit} {
		copyFile(t, filepath.Join(systemdDir, name), filepath.Join(root, "etc/systemd/system", name), 0o644)
	}
	copyFile(t, exporterBinary(t), filepath.Join(root, unitBinary), 0o755)
	copyFile(t, "/bin/kill", filepath.Join(root, "bin/kill"), 0o755)

	out, err := exec.Command(analyze, "verify", "--root="+root, serviceUnit, socketUnit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v; want success and no warning:\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=yes", "--root="+root, "--threshold=20", serviceUnit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: %v; want an exposure of at most 2.0:\n%s", err, out)
	}
	t.Logf("systemd-analyze security: %s", lineWith(string(out), "Overall exposure"))

	svc, sock := readUnit(t, serviceUnit), readUnit(t, socketUnit)
	for key, want := range map[string]string{
		"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
		"PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
	} {
		if _, set := svc["Service"][key]; !set || svc.get("Service", key) != want {
			t.Errorf("%s: %s=%q; want %q", serviceUnit, key, svc.get("Service", key), want)
		}
	}
	if svc.get("Unit", "Requires") != socketUnit {
		t.Errorf("%s: Requires=%q; want %s", serviceUnit, svc.get("Unit", "Requires"), socketUnit)
	}
	if got := sock.get("Socket", "ListenStream"); ":"+got != defaultListenAddress {
		t.Errorf("%s: ListenStream=%s; want the default port %s", socketUnit, got, defaultListenAddress)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files and symbolic links under from.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		// CopyFS refuses symbolic links; copy the tree by hand then.
		err = filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(from, path)
			dst := filepath.Join(to, rel)
			switch {
			case info.IsDir():
				return os.MkdirAll(dst, 0o755)
			case info.Mode()&os.ModeSymlink != 0:
				target, err := os.Readlink(path)
				if err != nil {
					return err
				}
				return os.Symlink(target, dst)
			case info.Mode().IsRegular():
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				return os.WriteFile(dst, data, 0o644)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("copy %s: %v", from, err)
		}
	}
}

// TestSystemdSocketActivation runs the unit's ExecStart as systemd would:
// systemd-socket-activate holds the listening socket and hands it over
// (--web.systemd-socket), the configuration is examples/config.yml, the
// one the README installs, and the key comes from the credential
// LoadCredential= names, in a stand-in for
// /run/credentials/tencent_live_exporter.service/ passed as
// $CREDENTIALS_DIRECTORY (the key file next to the configuration, which
// LoadCredential= copies, is root's alone: the service cannot read it).
// Then the unit's ExecReload signal reloads, and SIGTERM stops it.
func TestSystemdSocketActivation(t *testing.T) {
	activate := toolOrSkip(t, "systemd-socket-activate", "systemd")
	svc := readUnit(t, serviceUnit)

	config, err := os.ReadFile(unitConfigExample)
	if err != nil {
		t.Fatal(err)
	}
	credDir := t.TempDir()
	f := newFakeApp(t, 1400000000) // examples/config.yml's sdkappid
	f.SetRoom("live-1001", tencenttest.Room{MemberCount: 31})
	f.SetRoom("live-1002", tencenttest.Room{MemberCount: 32})
	f.SetRoom("live-1003", tencenttest.Room{MemberCount: 33})
	creds := svc["Service"]["LoadCredential"]
	if len(creds) == 0 {
		t.Fatalf("%s has no LoadCredential=", serviceUnit)
	}
	for _, c := range creds {
		name, source, ok := strings.Cut(c, ":")
		if !ok || source != path.Dir(unitConfigFile)+"/"+name {
			t.Errorf("LoadCredential=%s; want NAME:%s/NAME, the file a relative secret_key_file names without systemd", c, path.Dir(unitConfigFile))
		}
		if !strings.Contains(string(config), "secret_key_file: "+name+"\n") {
			t.Errorf("%s does not read credential %s (secret_key_file: %s)", unitConfigExample, name, name)
		}
		writeFile(t, filepath.Join(credDir, name), f.key+"\n")
	}
	cfg := strings.Replace(string(config), "region: singapore", "endpoint: "+f.URL, 1)
	configPath := filepath.Join(t.TempDir(), "config.yml")
	writeFile(t, configPath, cfg)

	execStart := strings.Fields(svc.get("Service", "ExecStart"))
	if len(execStart) == 0 || execStart[0] != unitBinary {
		t.Fatalf("ExecStart=%q; want %s first", execStart, unitBinary)
	}
	// No --web.listen-address: the exporter can only be reached on addr
	// through the socket systemd-socket-activate hands it.
	var args []string
	for _, a := range execStart[1:] {
		switch {
		case a == "--config.file="+unitConfigFile:
			args = append(args, "--config.file="+configPath)
		case strings.HasPrefix(a, "$"): // the EnvironmentFile's extra flags
		default:
			args = append(args, a)
		}
	}
	if !slices.Contains(args, "--web.systemd-socket") || !slices.Contains(args, "--config.file="+configPath) {
		t.Fatalf("ExecStart=%q; want --web.systemd-socket and --config.file=%s", execStart, unitConfigFile)
	}
	if reload := svc.get("Service", "ExecReload"); reload != "/bin/kill -HUP $MAINPID" {
		t.Errorf("ExecReload=%q; want SIGHUP", reload)
	}

	addr := childproc.FreeAddr(t)
	p := childproc.Start(t, t.TempDir(), activate, append([]string{"--listen=" + addr, "--setenv=CREDENTIALS_DIRECTORY=" + credDir, exporterBinary(t)}, args...)...)
	url := "http://" + addr
	waitFor(t, p, startTimeout, "/-/ready on the handed-over socket", func() bool {
		resp, _, err := fetch(httpClient, http.MethodGet, url+"/-/ready", nil, nil)
		return err == nil && resp.StatusCode == http.StatusOK
	})
	_, body := httpDo(t, http.MethodGet, url+"/metrics", http.Header{scrapeTimeoutHeader: {"5"}})
	m := parseMetrics(t, body)
	for room, want := range map[string]float64{"live-1001": 31, "live-1002": 32, "live-1003": 33} {
		if v, _ := m.get(t, "tencent_live_room_members", "app", "prod-live", "room", room); v != want {
			t.Errorf("tencent_live_room_members{room=%s} = %g; want %g", room, v, want)
		}
	}
	p.Signal(t, syscall.SIGHUP)
	waitFor(t, p, waitTimeout, "a reload on SIGHUP", func() bool { return strings.Contains(p.Out.String(), "Reloaded config") })
	start := time.Now()
	p.Signal(t, syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
	if p.Err() != nil || time.Since(start) > 5*time.Second {
		t.Errorf("after SIGTERM: exit %v after %s; want 0 within 5s", p.Err(), time.Since(start).Round(time.Millisecond))
	}
	assertNoSecret(t, []string{f.key}, map[string]string{"log": p.Out.String(), "metrics": body})
}
