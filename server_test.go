package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/internal/childproc"
	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// selfSignedCert writes a CA-capable certificate for 127.0.0.1 and its key
// into dir and returns a pool that trusts it.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tencent_live_exporter test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestBinaryTLSBasicAuth(t *testing.T) {
	f := newFakeApp(t, 1400000401)
	f.SetRoom("room-1", tencenttest.Room{MemberCount: 321})
	dir, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "", "room-1"))

	const user = "prometheus"
	password := childproc.SecretKey(t, "tle-secret-")
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := selfSignedCert(t, dir)
	webConfig := filepath.Join(dir, "web-config.yml")
	writeFile(t, webConfig, fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n",
		certFile, keyFile, user, hash))

	addr := childproc.FreeAddr(t)
	p := childproc.Start(t, t.TempDir(), exporterBinary(t),
		"--web.listen-address="+addr, "--web.config.file="+webConfig, "--config.file="+configPath, "--log.level=debug")
	tlsClient := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	httpsURL := "https://" + addr
	get := func(client *http.Client, url, user, password string) (int, string, error) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set(scrapeTimeoutHeader, "5")
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	waitFor(t, p, startTimeout, "/-/ready over https", func() bool {
		status, _, err := get(tlsClient, httpsURL+"/-/ready", user, password)
		return err == nil && status == http.StatusOK
	})

	status, body, err := get(tlsClient, httpsURL+"/metrics", user, password)
	if err != nil || status != http.StatusOK {
		t.Fatalf("https with the right user: status %d, err %v", status, err)
	}
	if v, _ := parseMetrics(t, body).get(t, "tencent_live_room_members", "room", "room-1"); v != 321 {
		t.Errorf("tencent_live_room_members{room=room-1} = %g over https; want 321", v)
	}
	for _, c := range []struct{ name, user, password string }{
		{"wrong password", user, "not-" + password},
		{"wrong user", "grafana", password},
		{"no credentials", "", ""},
	} {
		if status, _, err := get(tlsClient, httpsURL+"/metrics", c.user, c.password); err != nil || status != http.StatusUnauthorized {
			t.Errorf("https, %s: status %d, err %v; want 401", c.name, status, err)
		}
	}
	if status, _, err := get(httpClient, "http://"+addr+"/metrics", user, password); err == nil && status == http.StatusOK {
		t.Errorf("plain http answered 200; want it refused")
	}
	var unknownAuthority x509.UnknownAuthorityError
	if _, _, err := get(&http.Client{Timeout: 15 * time.Second}, httpsURL+"/metrics", user, password); !errors.As(err, &unknownAuthority) {
		t.Errorf("https with a client that does not trust the certificate: err %v; want an unknown authority error", err)
	}
	assertNoSecret(t, []string{f.key, password}, map[string]string{"log": p.Out.String()})
}

func TestBinaryShutdown(t *testing.T) {
	f := newFakeApp(t, 1400000501)
	f.SetRoom("room-1", tencenttest.Room{MemberCount: 5})
	_, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "", "room-1"))
	e := startExporter(t, "--config.file="+configPath)
	e.scrape(t)

	e.Signal(t, syscall.SIGTERM)
	select {
	case <-e.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("exporter still running 15s after SIGTERM")
	}
	if e.Err() != nil {
		t.Errorf("exporter exit after SIGTERM: %v; want status 0", e.Err())
	}
	if !strings.Contains(e.Out.String(), "Shutting down") {
		t.Errorf("no \"Shutting down\" in the log:\n%s", e.Out.String())
	}
}

// TestBinaryShutdownDuringSlowScrape: SIGTERM while a scrape waits on a
// slow upstream ends the wait at once; the exporter exits promptly.
func TestBinaryShutdownDuringSlowScrape(t *testing.T) {
	f := newFakeApp(t, 1400000801)
	f.SetRoom("slow", tencenttest.Room{MemberCount: 4, Latency: time.Minute})
	_, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "request_timeout: 2m", "slow"))
	e := startExporter(t, "--config.file="+configPath)

	scraped := make(chan error, 1)
	go func() {
		_, _, err := fetch(httpClient, http.MethodGet, e.url+"/metrics", http.Header{scrapeTimeoutHeader: {"60"}}, nil)
		scraped <- err
	}()
	waitFor(t, e.Process, 10*time.Second, "the slow room's request to reach the fake", func() bool {
		return f.Stats().CallsByRoom["slow"] == 1
	})
	start := time.Now()
	e.Signal(t, syscall.SIGTERM)
	select {
	case <-e.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("exporter still running 15s after SIGTERM")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("exit took %s after SIGTERM with a scrape waiting; want well under the 5 s shutdown timeout", took)
	}
	if e.Err() != nil {
		t.Errorf("exporter exit after SIGTERM: %v; want status 0", e.Err())
	}
	if strings.Contains(e.Out.String(), "Error shutting down") {
		t.Errorf("shutdown hit its timeout:\n%s", e.Out.String())
	}
	<-scraped // answered from cache or cut by the exit; either way it returned
}

// TestBinaryIdleTimeout: the server closes a keep-alive connection that
// stays idle for --web.idle-timeout.
func TestBinaryIdleTimeout(t *testing.T) {
	const idle = time.Second
	e := startExporter(t, "--demo", "--web.idle-timeout="+idle.String())
	addr := strings.TrimPrefix(e.url, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	if _, err := fmt.Fprintf(conn, "GET /-/healthy HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET /-/healthy: status %d, close %v; want 200 on a connection kept alive", resp.StatusCode, resp.Close)
	}

	idleSince := time.Now()
	const wait = 10 * time.Second
	if err := conn.SetReadDeadline(idleSince.Add(wait)); err != nil {
		t.Fatal(err)
	}
	_, err = br.ReadByte()
	took := time.Since(idleSince)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("idle connection still open after %s; want it closed after --web.idle-timeout=%s", wait, idle)
	case !errors.Is(err, io.EOF):
		t.Fatalf("idle connection: read %v; want EOF", err)
	case took < idle/2 || took > idle+5*time.Second:
		t.Errorf("idle connection closed after %s; want about %s", took.Round(time.Millisecond), idle)
	}
}

// TestMux: newMux serves the metrics path and every fixed path, the ones
// checkTelemetryPath keeps --web.telemetry-path off.
func TestMux(t *testing.T) {
	mux := newMux(site{
		metricsPath: "/probe/metrics",
		metrics:     http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "the metrics") }),
		reloader:    newTestReloader(func() (*collector.Config, error) { return &collector.Config{}, nil }),
		config:      func() *collector.Config { return &collector.Config{} },
		status:      func() []collector.AppStatus { return nil },
		version:     "(version=1.2.3)",
		logger:      slog.New(slog.DiscardHandler),
	})
	for _, c := range []struct {
		method, path string
		status       int
		want         string
	}{
		{http.MethodGet, "/probe/metrics", http.StatusOK, "the metrics"},
		{http.MethodGet, landingPath, http.StatusOK, `<a href="/probe/metrics">Metrics</a>`},
		{http.MethodGet, configPath, http.StatusOK, "apps: []"},
		{http.MethodGet, healthyPath, http.StatusOK, "Healthy"},
		{http.MethodGet, readyPath, http.StatusOK, "Ready"},
		{http.MethodPost, reloadPath, http.StatusOK, "Config reloaded"},
		{http.MethodGet, "/metrics", http.StatusNotFound, ""},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), c.method, c.path, nil))
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: status %d, body %q; want %d containing %q", c.method, c.path, rec.Code, rec.Body, c.status, c.want)
		}
	}
	for path := range fixedPaths {
		if _, pattern := mux.Handler(httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)); pattern != path {
			t.Errorf("GET %s goes to pattern %q; want %q (fixedPaths and newMux disagree)", path, pattern, path)
		}
	}
}
