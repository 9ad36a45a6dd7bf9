package tencenttest

import (
	"context"
	"net/http"
	"net/http/httptest"
)

// Server is a Fake behind an HTTP server: on 127.0.0.1 with a random port
// (NewServer), or on in-memory pipes (NewPipeServer). Its Fake's methods
// (SetRoom, FailNext, Stats, ...) are promoted.
type Server struct {
	*Fake
	URL string // the base URL to give a client: "http://127.0.0.1:port", or "http://" + PipeHost for a pipe server

	srv       *httptest.Server // NewServer
	hs        *http.Server     // NewPipeServer
	transport *http.Transport  // NewPipeServer: dials its PipeListener
}

// NewServer starts a Server answering with New(opts) on 127.0.0.1. Close
// it when done.
func NewServer(opts Options) *Server {
	return startServer(New(opts))
}

func startServer(f *Fake) *Server {
	srv := httptest.NewServer(f)
	return &Server{Fake: f, URL: srv.URL, srv: srv}
}

// NewPipeServer starts a Server answering with New(opts) on a
// PipeListener: only the clients from its Client method reach it, without a
// socket, so a test can run the Fake and the client under test inside one
// testing/synctest bubble (start it inside the bubble). Close it when done.
func NewPipeServer(opts Options) *Server {
	f := New(opts)
	l := NewPipeListener()
	hs := &http.Server{Handler: f}
	go func() { _ = hs.Serve(l) }() // returns ErrServerClosed once Close shuts it down
	return &Server{Fake: f, URL: "http://" + PipeHost, hs: hs, transport: l.Transport()}
}

// Client returns a new HTTP client for the server (for a pipe server, the
// only way to reach it); the clients of one Server share one transport,
// whose idle connections Close ends.
func (s *Server) Client() *http.Client {
	if s.transport != nil {
		return &http.Client{Transport: s.transport}
	}
	return s.srv.Client()
}

// Close ends the calls still waiting out a latency (without an answer),
// stops the server and waits for its handlers to return.
func (s *Server) Close() {
	s.close()
	if s.hs != nil {
		// With the latency waits ended, every connection goes idle and
		// Shutdown closes it; a pipe client's transport then sees EOF.
		_ = s.hs.Shutdown(context.Background())
		s.transport.CloseIdleConnections()
		return
	}
	s.srv.Close()
}
