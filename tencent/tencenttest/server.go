package tencenttest

import "net/http/httptest"

// Server is a Fake listening on 127.0.0.1 with a random port. Its Fake's
// methods (SetRoom, FailNext, Stats, ...) are promoted.
type Server struct {
	*Fake
	URL string // "http://127.0.0.1:port", the base URL to give a client

	srv *httptest.Server
}

// NewServer starts a Server answering with New(opts). Close it when done.
func NewServer(opts Options) *Server {
	return startServer(New(opts))
}

func startServer(f *Fake) *Server {
	srv := httptest.NewServer(f)
	return &Server{Fake: f, URL: srv.URL, srv: srv}
}

// Close ends the calls still waiting out a latency (without an answer),
// stops the server and waits for its handlers to return.
func (s *Server) Close() {
	s.close()
	s.srv.Close()
}
