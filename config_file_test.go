package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
)

func TestBinaryConfigCheck(t *testing.T) {
	f := newFakeApp(t, 1400000301)
	dir, _ := configDir(t, f)
	for _, c := range []struct {
		name   string
		config string
		want   string // in the output; empty: must succeed
	}{
		{"good", appYAML("live", f, keyFileRel, "max_qps: 20", "room-1", "{id: room-2, labels: {streamer: bob}}"), "Config file is ok"},
		{"max_qps out of range", appYAML("live", f, keyFileRel, "max_qps: 500", "room-1"), "max_qps must be in (0, 200], got 500"},
		{"unknown key", appYAML("live", f, keyFileRel, "refresh_intervall: 1m", "room-1"), `unknown key "refresh_intervall" in app`},
		{"unknown region", strings.Replace(appYAML("live", f, keyFileRel, "", "room-1"), "endpoint: "+f.URL, "region: mars", 1), `unknown region "mars"`},
		{"both secrets", appYAML("live", f, keyFileRel+"\n    secret_key: "+f.key, "", "room-1"), "at most one of secret_key and secret_key_file may be set"},
		{"missing key file", appYAML("live", f, "secret_key_file: secrets/missing.key", "", "room-1"), "secret_key_file"},
		{"duplicate room", appYAML("live", f, keyFileRel, "", "room-1", "room-1"), `duplicate room id "room-1"`},
		{"reserved label", appYAML("live", f, keyFileRel, "", "{id: room-1, labels: {app: x}}"), `label name "app" is reserved`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".yml")
			writeFile(t, path, "apps:\n"+c.config)
			p := childproc.Start(t, t.TempDir(), exporterBinary(t), "--config.check", "--config.file="+path)
			select {
			case <-p.Done():
			case <-time.After(startTimeout):
				t.Fatalf("--config.check still running after %s", startTimeout)
			}
			out := p.Out.String()
			if good := c.name == "good"; good != (p.Err() == nil) {
				t.Errorf("--config.check: exit %v; want success %v\n%s", p.Err(), good, out)
			}
			// logfmt escapes the quotes of the error message.
			if !strings.Contains(out, c.want) && !strings.Contains(out, strings.ReplaceAll(c.want, `"`, `\"`)) {
				t.Errorf("--config.check output does not contain %q:\n%s", c.want, out)
			}
			assertNoSecret(t, []string{f.key}, map[string]string{"--config.check output": out})
		})
	}
}

// TestBinaryMissingConfig: a first run without a configuration file says
// how to give one, or to try --demo; a missing secret_key_file does not
// get that hint, since the configuration file itself was found.
func TestBinaryMissingConfig(t *testing.T) {
	hints := []string{"--config.file=PATH", "examples/config.yml", "--demo"}
	for _, args := range [][]string{nil, {"--config.check"}, {"--config.file=nowhere/config.yml"}} {
		out, err := runToExit(t, args...)
		if err == nil {
			t.Errorf("%q without a config file: exit 0; want an error", args)
		}
		for _, want := range hints {
			if !strings.Contains(out, want) {
				t.Errorf("%q without a config file: output lacks %q:\n%s", args, want, out)
			}
		}
	}
	f := newFakeApp(t, 1400000601)
	_, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, "secret_key_file: secrets/missing.key", "", "room-1"))
	out, err := runToExit(t, "--config.file="+configPath)
	if err == nil || !strings.Contains(out, "secret_key_file") || strings.Contains(out, "--demo") {
		t.Errorf("missing secret_key_file: exit %v; want an error naming secret_key_file without the first-run hint:\n%s", err, out)
	}
}

// TestGuideConfigChecks follows steps 2 and 3 of the README's ten-minute
// guide: examples/config.yml copied as it is, the app's values set as the
// console shows them, the key stored next to it. The check of step 4 must
// then pass: nothing else in the example may need a file of its own. The
// example's second app, once uncommented as its comment says, with its
// own key file, must check too.
func TestGuideConfigChecks(t *testing.T) {
	t.Setenv(collector.CredentialsDirectoryEnv, "")
	example := readRepoFile(t, "examples/config.yml")
	set := strings.NewReplacer(
		"sdkappid: 1400000000 ", `sdkappid: "1400012345" `,
		"region: singapore", "region: Singapore",
		"- id: live-1001", "- id: my-room-1",
	)
	guide := set.Replace(example)
	// The key of step 2, next to the configuration (the first app's only).
	firstKey := regexp.MustCompile(`secret_key_file: \S+`)
	loc := firstKey.FindStringIndex(guide)
	if loc == nil {
		t.Fatal("examples/config.yml: no secret_key_file")
	}
	guide = guide[:loc[0]] + "secret_key_file: prod-live.key" + guide[loc[1]:]
	if guide == example {
		t.Fatal("the guide's values replaced nothing in examples/config.yml")
	}
	dir := t.TempDir()
	configPath := filepath.Join(dir, "config.yml")
	writeFile(t, configPath, guide)
	writeFile(t, filepath.Join(dir, "prod-live.key"), "key-of-step-2-not-real\n")
	cfg, err := collector.Load(configPath)
	if err != nil {
		t.Fatalf("examples/config.yml with the guide's values: %v; want it to check clean", err)
	}
	if len(cfg.Apps) != 1 || cfg.Apps[0].SDKAppID != 1400012345 || cfg.Apps[0].Region != "singapore" {
		t.Errorf("examples/config.yml with the guide's values: %d apps, first %+v; want the one app of the guide", len(cfg.Apps), cfg.Apps[0])
	}

	// The commented app: "# " removed from each line after its marker.
	lines := strings.Split(guide, "\n")
	start := slices.Index(lines, "  # - name: prod-shows")
	if start < 0 {
		t.Fatal(`examples/config.yml: no commented second app ("  # - name: prod-shows")`)
	}
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], "  # "); i++ {
		lines[i] = "  " + strings.TrimPrefix(lines[i], "  # ")
	}
	writeFile(t, configPath, strings.Join(lines, "\n"))
	writeFile(t, filepath.Join(dir, "prod-shows.key"), "key-of-the-second-app-not-real\n")
	cfg, err = collector.Load(configPath)
	if err != nil {
		t.Fatalf("examples/config.yml with its second app uncommented: %v", err)
	}
	if len(cfg.Apps) != 2 || cfg.Apps[1].Discovery == nil || cfg.Apps[1].RoomInfo == nil || cfg.Apps[1].RoomStats == nil {
		t.Errorf("examples/config.yml with its second app uncommented: %d apps; want the second with discovery, room_info and room_stats", len(cfg.Apps))
	}
}

// TestConfigErrorPermission: a file the exporter may not read gets a
// message that says as whom it runs and how to let it read the file.
func TestConfigErrorPermission(t *testing.T) {
	dir := t.TempDir()
	configPath := filepath.Join(dir, "config.yml")
	writeFile(t, configPath, "apps: []\n")
	denied := fmt.Errorf(`config %s: line 6: app "live": secret_key_file: %w`, configPath,
		&fs.PathError{Op: "open", Path: "/etc/tencent_live_exporter/app.key", Err: fs.ErrPermission})
	for _, c := range []struct {
		uid, gid int
		systemd  bool
		want     string
	}{
		{65534, 65534, false, "the exporter runs as uid 65534 (nobody, the container image's user); make the file readable by it (e.g. owner or group 65534, mode 0440), or on Kubernetes mount the Secret with defaultMode: 0440 and the pod's fsGroup: 65534"},
		{1000, 1001, false, "the exporter runs as uid 1000, gid 1001; make the file readable by it (e.g. owner or group 1001, mode 0440)"},
		{61234, 61234, true, "the exporter runs as uid 61234, gid 61234; make the file readable by it (e.g. owner or group 61234, mode 0440), or with systemd's DynamicUser= hand the key over with LoadCredential= (see examples/systemd/)"},
	} {
		if got := permissionHint(c.uid, c.gid, c.systemd); got != c.want {
			t.Errorf("permissionHint(%d, %d, %v) = %q; want %q", c.uid, c.gid, c.systemd, got, c.want)
		}
	}
	err := configError(configPath, denied)
	if want := denied.Error() + ": " + permissionHint(os.Getuid(), os.Getgid(), os.Getenv("INVOCATION_ID") != ""); fmt.Sprint(err) != want || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("configError(%q, %v) = %v; want %q, still a permission error", configPath, denied, err, want)
	}
	other := errors.New("line 2: something else")
	if err := configError(configPath, other); err != other {
		t.Errorf("configError(%q, %v) = %v; want it unchanged", configPath, other, err)
	}
}
