package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tencent-live-exporter/tencent_live_exporter/tencent/tencenttest"
)

// TestBinaryWriteDeadline: a client that asks for /metrics and never
// reads holds its request slot only until the write deadline (the refresh
// budget plus --scrape.write-timeout), not for the rest of the run.
//
// The answer is made far larger than the socket buffers between the two
// (long label values on a few hundred rooms), so the slow client's answer
// blocks in write; with --web.max-requests=1 every other scrape gets 503
// while it does.
func TestBinaryWriteDeadline(t *testing.T) {
	const (
		rooms        = 250
		writeTimeout = 3 * time.Second
		minBody      = 8 << 20 // well above what the kernel buffers on loopback (4 MiB send, 4 KiB receive here)
	)
	f := newFakeApp(t, 1400001101)
	var ids []string
	pad := strings.Repeat("x", 10000)
	for i := range rooms {
		id := fmt.Sprintf("room-%03d", i)
		f.SetRoom(id, tencenttest.Room{MemberCount: i})
		ids = append(ids, fmt.Sprintf("{id: %s, labels: {pad: %s-%s}}", id, id, pad))
	}
	_, configPath := configDir(t, f)
	writeFile(t, configPath, "apps:\n"+appYAML("live", f, keyFileRel, "max_qps: 200\nrefresh_interval: 10m", ids...))
	e := startExporter(t, "--config.file="+configPath, "--web.max-requests=1", "--scrape.write-timeout="+writeTimeout.String())

	// Every room answered once: from now on scrapes answer from cache.
	waitFor(t, e.Process, waitTimeout, "every room to answer", func() bool {
		_, m := e.scrape(t)
		return len(m.series("tencent_live_room_members")) == rooms
	})
	body, _ := e.scrape(t)
	if len(body) < minBody {
		t.Fatalf("/metrics is %d bytes; the test needs at least %d to fill the socket buffers", len(body), minBody)
	}

	// The slow client: a small receive buffer, and no read past the status.
	addr := strings.TrimPrefix(e.url, "http://")
	dialer := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	// slowRequest sends a scrape on a new connection and reads its status
	// line only: the status comes with the first 4 KiB of the answer, so
	// a 200 means the request holds the slot and writes its answer.
	slowRequest := func() (status string, sent time.Time) {
		conn, err := dialer.DialContext(t.Context(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		sent = time.Now()
		if _, err := fmt.Fprintf(conn, "GET /metrics HTTP/1.1\r\nHost: %s\r\n%s: 1\r\n\r\n", addr, scrapeTimeoutHeader); err != nil {
			t.Fatal(err)
		}
		if err := conn.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
			t.Fatal(err)
		}
		line := make([]byte, len("HTTP/1.1 200"))
		if _, err := io.ReadFull(conn, line); err != nil {
			t.Fatalf("slow client: read the status line: %v", err)
		}
		return string(line), sent
	}
	var sent time.Time
	waitFor(t, e.Process, waitTimeout, "the slow client to get the request slot", func() bool {
		var status string
		status, sent = slowRequest()
		return status == "HTTP/1.1 200" // else a scrape above still had the slot
	})

	// Once its deadline (0.5 s of budget + writeTimeout) has passed, the
	// slot is free again and scrapes succeed. The bound is generous: only
	// a slot held for good fails the test.
	waitFor(t, e.Process, writeTimeout+30*time.Second, "a scrape to succeed after the slow client's write deadline", func() bool {
		resp, _, err := fetch(httpClient, http.MethodGet, e.url+"/metrics", http.Header{scrapeTimeoutHeader: {"5"}}, nil)
		if err != nil {
			t.Fatalf("GET /metrics: %v", err)
		}
		return resp.StatusCode == http.StatusOK
	})
	if took := time.Since(sent); took < writeTimeout {
		t.Errorf("the slot was free again %s after the slow request; want no earlier than its deadline (--scrape.write-timeout=%s and more)", took.Round(time.Millisecond), writeTimeout)
	}
	_, m := e.scrape(t)
	if got := len(m.series("tencent_live_room_members")); got != rooms {
		t.Errorf("scrape after the slow client: %d rooms; want %d", got, rooms)
	}
	// One line for the cut answer, not one per metric family.
	if n := strings.Count(e.Out.String(), "error encoding and sending metric family"); n > 1 {
		t.Errorf("%d encoding errors logged for one slow client; want at most 1:\n%s", n, e.Out.String())
	}
}
