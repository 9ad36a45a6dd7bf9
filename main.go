// Command tencent_live_exporter exposes the member counts of Tencent Cloud
// live rooms (TUILiveKit / TRTC) to Prometheus.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	// CA roots inside the binary, used when the system has none (a
	// FROM scratch image): HTTPS endpoints work without a CA bundle.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/tencent-live-exporter/tencent_live_exporter/collector"
	"github.com/tencent-live-exporter/tencent_live_exporter/receiver"
)

const exporterName = "tencent_live_exporter"

// defaultListenAddress is the exporter's port, in the 9100-9999 range
// where Prometheus exporters live.
const defaultListenAddress = ":9864"

// docsURL is the user documentation, linked from the landing page.
const docsURL = "https://github.com/tencent-live-exporter/tencent_live_exporter#readme"

func main() { os.Exit(run()) }

func run() int {
	var (
		configFileSet bool
		configFile    = kingpin.Flag("config.file", "Path to the configuration file.").Default("tencent_live_exporter.yml").IsSetByUser(&configFileSet).String()
		configCheck   = kingpin.Flag("config.check", "Load and validate the configuration file, then exit.").Bool()
		metricsPath   = kingpin.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		maxRequests   = kingpin.Flag("web.max-requests", "Maximum number of parallel scrape requests; 0 means no limit.").Default("40").Int()
		timeoutOffset = kingpin.Flag("scrape.timeout-offset", "Time subtracted from Prometheus' scrape timeout header to leave room for the answer.").Default("500ms").Duration()
		defaultTO     = kingpin.Flag("scrape.default-timeout", "Refresh budget of a scrape that sends no X-Prometheus-Scrape-Timeout-Seconds header.").Default("9s").Duration()
		writeTO       = kingpin.Flag("scrape.write-timeout", "Time a scrape's answer may take to reach the client after its refresh budget; a client that reads slower is cut off, so it cannot hold a request slot.").Default("30s").Duration()
		maxTO         = kingpin.Flag("scrape.max-timeout", "Longest scrape timeout honoured; larger X-Prometheus-Scrape-Timeout-Seconds values are clamped to it, so a crafted header cannot hold a request slot longer.").Default("2m").Duration()
		idleTimeout   = kingpin.Flag("web.idle-timeout", "How long an idle keep-alive connection stays open.").Default("2m").Hidden().Duration()
		shardCount    = kingpin.Flag("shard.count", "Split the apps among this many exporters: each app belongs to one (by a hash of its SDKAppID, or its shard: pin), which polls it at its full limits.").Default("1").Int()
		shardIndex    = kingpin.Flag("shard.index", "Which shard this exporter serves, from 0 to shard.count-1.").Default("0").Int()
		demo          = kingpin.Flag("demo", "Run against a built-in fake of the Tencent API on loopback, with moving member counts; no account needed.").Bool()
		toolkitFlags  = kingpinflag.AddFlags(kingpin.CommandLine, defaultListenAddress)
		callbackAddr  = kingpin.Flag("callback.listen-address", "Address on which to receive Tencent's Live webhook callbacks (e.g. :9865); empty: no receiver. Meant to face the internet: it serves --callback.path only.").Default("").String()
		callbackPath  = kingpin.Flag("callback.path", "Path of the callback URL given to Tencent.").Default("/callback").String()
		shardURL      = kingpin.Flag("shard.callback-url", "Callback URL of shard {shard}, e.g. http://tencent-live-exporter-shard-{shard}.tencent-live-exporter-shard:9865/callback: the receiver forwards the events of an app another shard owns to it. Empty: such events are counted as not_owned.").Default("").String()
		callbackWeb   = kingpin.Flag("callback.web.config.file", "Path to an exporter-toolkit web configuration file (TLS, basic auth) for the callback receiver.").Default("").String()
	)
	stampVersion(debug.ReadBuildInfo())
	promslogConfig := &promslog.Config{}
	promslogflag.AddFlags(kingpin.CommandLine, promslogConfig)
	kingpin.Version(version.Print(exporterName))
	kingpin.HelpFlag.Short('h')
	kingpin.Parse()
	logger := promslog.New(promslogConfig)

	if *configCheck {
		// Always the file, even with --demo: the check is for the file a
		// real run would read.
		cfg, err := collector.Load(*configFile)
		if err != nil {
			logger.Error("Error loading config", "err", configError(*configFile, err))
			return 1
		}
		logger.Info("Config file is ok", "file", *configFile, "apps", len(cfg.Apps))
		return 0
	}
	if err := checkFlags(flagValues{
		demo: *demo, configFileSet: configFileSet, metricsPath: *metricsPath,
		maxTimeout: *maxTO, writeTimeout: *writeTO,
		callbackAddr: *callbackAddr, callbackPath: *callbackPath, shardURL: *shardURL,
	}); err != nil {
		logger.Error("Invalid flags", "err", err)
		return 1
	}

	loadConfig := func() (*collector.Config, error) {
		cfg, err := collector.Load(*configFile)
		return cfg, configError(*configFile, err)
	}
	if *demo {
		d, err := startDemo(logger)
		if err != nil {
			logger.Error("Cannot start demo", "err", err)
			return 1
		}
		defer d.Close()
		loadConfig = d.Config
		if *callbackAddr == "" {
			*callbackAddr = d.callbackAddr // the demo shows the receiver too
		}
		// Callbacks start flowing at the demo's next step, by when the
		// receiver listens.
		d.StartCallbacks(*callbackPath)
	}

	cfg, err := loadConfig()
	if err != nil {
		logger.Error("Error loading config", "err", err)
		return 1
	}

	logger.Info("Starting "+exporterName, "version", version.Info())
	logger.Info("Build context", "build_context", version.BuildContext())

	exporter, err := collector.New(cfg, collector.Options{
		Logger:     logger,
		UserAgent:  userAgent(),
		ShardCount: *shardCount,
		ShardIndex: *shardIndex,
	})
	if err != nil {
		logger.Error("Cannot start exporter", "err", err)
		return 1
	}
	defer exporter.Close()

	reg := prometheus.NewRegistry()
	reloads := newReloadStatus()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(exporterName),
		reloads,
		// The exporter's own metrics come with each scrape's View (see
		// scrapeGatherer), not from this registry.
	)
	reloads.succeeded(time.Now())

	reloader := newReloader(loadConfig, exporter.ApplyConfig, reloads, logger)
	mux := newMux(site{
		metricsPath: *metricsPath,
		metrics: promhttp.InstrumentMetricHandler(reg, &metricsHandler{
			exporter:       exporter,
			gatherer:       reg,
			timeoutOffset:  *timeoutOffset,
			defaultTimeout: *defaultTO,
			maxTimeout:     *maxTO,
			writeTimeout:   *writeTO,
			inFlight:       newSemaphore(*maxRequests),
			opts: promhttp.HandlerOpts{
				ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
				ErrorHandling: promhttp.ContinueOnError,
			},
		}),
		reloader: reloader,
		config:   exporter.Config,
		status:   exporter.Status,
		reload:   reloads.state,
		version:  version.Info(),
		demo:     *demo,
		logger:   logger,
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	listeners := []listener{{name: "web", server: newServer(ctx, mux, *idleTimeout), flags: toolkitFlags}}
	if *callbackAddr != "" {
		var ownerURL func(int) string
		if *shardURL != "" {
			ownerURL = func(shard int) string { return strings.ReplaceAll(*shardURL, "{shard}", strconv.Itoa(shard)) }
		}
		rc := receiver.New(exporter, logger, ownerURL)
		reg.MustRegister(rc)
		systemd := false
		listeners = append(listeners, listener{
			name:   "callback",
			server: newCallbackServer(ctx, *callbackPath, rc),
			flags:  &web.FlagConfig{WebListenAddresses: &[]string{*callbackAddr}, WebSystemdSocket: &systemd, WebConfigFile: callbackWeb},
		})
		logger.Info("Receiving webhook callbacks", "address", *callbackAddr, "path", *callbackPath)
	}
	return serve(ctx, stop, listeners, reloader, logger)
}
