package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
)

// The paths the exporter serves besides --web.telemetry-path.
const (
	landingPath = "/"
	configPath  = "/config"
	healthyPath = "/-/healthy"
	readyPath   = "/-/ready"
	reloadPath  = "/-/reload"
)

// fixedPaths says what each fixed path serves, for the error when
// --web.telemetry-path asks for one of them. newMux registers every one.
var fixedPaths = map[string]string{
	landingPath: "the landing page",
	configPath:  "the configuration page",
	healthyPath: "the health check",
	readyPath:   "the readiness check",
	reloadPath:  "the reload endpoint",
}

// site is what the exporter serves; newMux puts each part at its path.
type site struct {
	metricsPath string
	metrics     http.Handler
	reloader    *reloader
	config      func() *collector.Config     // the running configuration
	status      func() []collector.AppStatus // each app's state, for the landing page
	version     string                       // shown on the landing page
	demo        bool                         // the landing page says so
	logger      *slog.Logger
}

// newMux routes the metrics path and the fixed paths. checkTelemetryPath
// has made sure they cannot collide.
func newMux(s site) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(s.metricsPath, s.metrics)
	mux.Handle(landingPath, &landingPage{
		version: s.version,
		demo:    s.demo,
		links: []landingLink{
			{Address: s.metricsPath, Text: "Metrics"},
			{Address: configPath, Text: "Configuration", Description: "the loaded configuration, secrets hidden"},
			{Address: healthyPath, Text: "Health"},
			{Address: readyPath, Text: "Readiness"},
			{Address: docsURL, Text: "Documentation", Description: "setup, alerts runbook and troubleshooting"},
		},
		status: s.status,
		now:    time.Now,
		logger: s.logger,
	})
	mux.HandleFunc(configPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, s.config().String())
	})
	mux.HandleFunc(healthyPath, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.HandleFunc(readyPath, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Ready") })
	mux.Handle(reloadPath, reloadHandler(s.reloader))
	return mux
}

// Server timeouts. A client that stops sending or reading is cut off, so
// it cannot hold a connection or a request slot.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second // reading the request only, not the handler's work
	// writeTimeout bounds every answer but /metrics, which sets its own
	// deadline from its refresh budget (metricsHandler): this one counts
	// from the request headers, and a scrape may have minutes.
	writeTimeout    = time.Minute
	shutdownTimeout = 5 * time.Second
)

// newServer is the HTTP server of handler. Requests end with ctx: a scrape
// waiting on a slow upstream answers from cache at once when shutdown
// starts.
func newServer(ctx context.Context, handler http.Handler, idleTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
}

// listener is one HTTP server and the listeners it serves, with their TLS
// and basic auth.
type listener struct {
	name   string // for logs
	server *http.Server
	flags  *web.FlagConfig
}

// serve runs the listeners until SIGINT or SIGTERM, or until one fails,
// reloading the configuration on SIGHUP, and returns the exit status.
// ctx's end starts the shutdown too.
func serve(ctx context.Context, stop context.CancelFunc, listeners []listener, rl *reloader, logger *slog.Logger) int {
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			_ = rl.reload(ctx) // logged by the reloader
		}
	}()

	serveErr := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() {
			err := web.ListenAndServe(l.server, l.flags, logger)
			if !errors.Is(err, http.ErrServerClosed) {
				err = fmt.Errorf("%s: %w", l.name, err)
			}
			serveErr <- err
		}()
	}
	status := 0
	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("Error running HTTP server", "err", err)
			status = 1
		}
	case <-ctx.Done():
		logger.Info("Shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, l := range listeners {
		if err := l.server.Shutdown(shutdownCtx); err != nil {
			logger.Error("Error shutting down HTTP server", "server", l.name, "err", err)
		}
	}
	return status
}

// Timeouts of the callback receiver: it faces the internet, and Tencent's
// requests are small and quick.
const (
	callbackReadTimeout  = 10 * time.Second
	callbackWriteTimeout = 10 * time.Second
	callbackIdleTimeout  = 2 * time.Minute
)

// newCallbackServer serves the receiver at path, and nothing else.
func newCallbackServer(ctx context.Context, path string, receiver http.Handler) *http.Server {
	mux := http.NewServeMux()
	mux.Handle(path, receiver)
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: callbackReadTimeout,
		ReadTimeout:       callbackReadTimeout,
		WriteTimeout:      callbackWriteTimeout,
		IdleTimeout:       callbackIdleTimeout,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
}
