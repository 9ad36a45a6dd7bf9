package tencenttest

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func TestPipeListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewPipeListener()
		accepted := make(chan net.Conn)
		go func() {
			c, err := l.Accept()
			if err != nil {
				t.Error(err)
			}
			accepted <- c
		}()
		client, err := l.DialContext(t.Context(), "tcp", "anything:80")
		if err != nil {
			t.Fatal(err)
		}
		server := <-accepted
		go func() {
			_, _ = client.Write([]byte("ping"))
			_ = client.Close()
		}()
		if got, err := io.ReadAll(server); string(got) != "ping" || err != nil {
			t.Errorf("server read %q, %v; want ping", got, err)
		}
		_ = server.Close()
		if l.Addr().Network() != "pipe" || l.Addr().String() != PipeHost {
			t.Errorf("Addr() = %s %s; want pipe %s", l.Addr().Network(), l.Addr(), PipeHost)
		}

		// Nobody accepts: a dial waits for its context.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := l.DialContext(ctx, "tcp", ""); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("dial nobody accepts = %v; want the context's deadline", err)
		}

		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		_ = l.Close() // twice is fine
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close = %v; want net.ErrClosed", err)
		}
		if _, err := l.DialContext(t.Context(), "tcp", ""); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial after Close = %v; want ECONNREFUSED, as a closed port", err)
		}
	})
}
