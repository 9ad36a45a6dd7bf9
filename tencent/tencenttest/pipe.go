package tencenttest

import (
	"context"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// PipeListener is a net.Listener whose connections are in-memory net.Pipe
// pairs, made by its DialContext: give Accept to an http.Server and
// DialContext to the client's http.Transport, and they talk without a
// socket. Blocking on a pipe is blocking on a channel, so a server and a
// client that both run inside one testing/synctest bubble leave it idle
// while they wait, and its fake clock drives every latency, timeout and
// rate limit; on a loopback socket the bubble would never be idle. The
// address dialled is ignored: every dial reaches this listener.
type PipeListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

// NewPipeListener returns a listener ready to accept. Inside a synctest
// bubble, make it inside the bubble that uses it.
func NewPipeListener() *PipeListener {
	return &PipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept waits for the next DialContext, or Close.
func (l *PipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops Accept; later dials are refused. Connections already made
// stay open.
func (l *PipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

// Addr is the listener's address: network "pipe", address PipeHost.
func (l *PipeListener) Addr() net.Addr { return pipeAddr{} }

// DialContext connects to the listener, as http.Transport.DialContext: it
// waits for Accept and returns the client's end of a new pipe. Once the
// listener is closed a dial fails as a port nothing listens on does,
// with ECONNREFUSED.
func (l *PipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		closePipe(client, server)
		return nil, &net.OpError{Op: "dial", Net: "pipe", Addr: pipeAddr{}, Err: syscall.ECONNREFUSED}
	case <-ctx.Done():
		closePipe(client, server)
		return nil, ctx.Err()
	}
}

// closePipe closes both ends of a pipe nobody used; closing a pipe cannot
// fail.
func closePipe(ends ...net.Conn) {
	for _, c := range ends {
		_ = c.Close()
	}
}

// Transport returns an HTTP transport whose every connection is a pipe to
// l, for an http.Client. Close its idle connections when done (closing the
// server ends them too), so that no goroutine of it outlives a synctest
// bubble.
func (l *PipeListener) Transport() *http.Transport {
	return &http.Transport{DialContext: l.DialContext}
}

// PipeHost is the host and port of a pipe server's URL, and a
// PipeListener's address. A pipe client ignores it; a client that is not a
// pipe client by mistake fails at once and never leaves the machine:
// nothing listens on loopback's discard port, and an IP needs no lookup.
const PipeHost = "127.0.0.1:9"

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return PipeHost }
