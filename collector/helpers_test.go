package collector

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

const (
	testSDKAppID   = 1400000001
	testIdentifier = "admin"
	testKey        = "s3cr3t-key-DO-NOT-LEAK-0123456789"
)

// newFake starts the Tencent API fake for one app.
func newFake(t testing.TB, rateLimit int) *tencenttest.Server {
	t.Helper()
	srv := tencenttest.NewServer(tencenttest.Options{
		SDKAppID: testSDKAppID, Identifier: testIdentifier, SecretKey: testKey, RateLimit: rateLimit,
	})
	t.Cleanup(srv.Close)
	return srv
}

// newPipeFake starts the Tencent API fake for one app on in-memory pipes,
// for a test inside a testing/synctest bubble (call it there): the fake and
// the exporter then run on the bubble's fake clock, so latencies, refresh
// intervals, back-offs and budgets take no real time and every figure is
// exact.
//
// The exporter has no option for its HTTP client yet, so until it has one
// (Options.HTTPClient) this swaps http.DefaultTransport for the pipe
// transport while the test runs: each app runtime's client comes from
// tencent.NewHTTPClient, which clones http.DefaultTransport. Tests of this
// package do not run in parallel. Should a runtime ever build its client
// otherwise, its calls go to the fake's URL, "http://" +
// tencenttest.PipeHost, where nothing listens: the test fails at once,
// with nothing sent off the machine.
func newPipeFake(t testing.TB, rateLimit int) *tencenttest.Server {
	t.Helper()
	return newPipeServer(t, tencenttest.Options{
		SDKAppID: testSDKAppID, Identifier: testIdentifier, SecretKey: testKey, RateLimit: rateLimit,
	})
}

// newPipeServer is newPipeFake with any options.
func newPipeServer(t testing.TB, opts tencenttest.Options) *tencenttest.Server {
	t.Helper()
	srv := tencenttest.NewPipeServer(opts)
	t.Cleanup(srv.Close)
	defaultTransport := http.DefaultTransport
	http.DefaultTransport = srv.Client().Transport
	t.Cleanup(func() { http.DefaultTransport = defaultTransport })
	return srv
}

// appYAML is one app's configuration pointing at url; settings are extra
// "key: value" lines, rooms are YAML room entries or bare ids.
func appYAML(name, url, key, settings string, rooms ...string) string {
	return appYAMLWithID(testSDKAppID, name, url, key, settings, rooms...)
}

// appYAMLWithID is appYAML for another SDKAppID (which the fake rejects).
func appYAMLWithID(sdkAppID uint64, name, url, key, settings string, rooms ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    sdkappid: %d\n    endpoint: %s\n    identifier: %s\n    secret_key: %s\n",
		name, sdkAppID, url, testIdentifier, key)
	for line := range strings.SplitSeq(strings.TrimSpace(settings), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			fmt.Fprintf(&b, "    %s\n", line)
		}
	}
	b.WriteString("    rooms:\n")
	for _, r := range rooms {
		if strings.HasPrefix(r, "{") {
			fmt.Fprintf(&b, "      - %s\n", r)
		} else {
			fmt.Fprintf(&b, "      - id: %s\n", r)
		}
	}
	return b.String()
}

func mustDecode(t testing.TB, apps ...string) *Config {
	t.Helper()
	cfg, err := Decode(strings.NewReader("apps:\n" + strings.Join(apps, "")))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return cfg
}

func newExporter(t testing.TB, opts Options, apps ...string) *Exporter {
	t.Helper()
	e, err := New(mustDecode(t, apps...), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// scrape runs one scrape's refresh with the given budget and says how long it took.
func scrape(t testing.TB, e *Exporter, budget time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	e.Refresh(ctx)
	return time.Since(start)
}

// withRooms serves the same room under every id of ids and returns ids.
func withRooms(srv *tencenttest.Server, ids []string, room tencenttest.Room) []string {
	for _, id := range ids {
		srv.SetRoom(id, room)
	}
	return ids
}

// roomIDs returns n ids "<prefix>-0".."<prefix>-(n-1)".
func roomIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return ids
}

// eventually polls cond until it holds or the generous timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// contextWithTimeout is context.WithTimeout from the background context.
func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
