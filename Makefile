# tencent_live_exporter: common tasks. `make test` is what CI runs.
GO       ?= go
FUZZTIME ?= 20000x
BIN      := tencent_live_exporter
MODULE   := github.com/tencent-live-exporter/tencent_live_exporter

# Where builds go, as promu lays them out: `make build` writes
# $(PREFIX)/$(BIN); `make crossbuild` writes $(BUILD_DIR)/<os>-<arch>/$(BIN),
# which the Dockerfile copies; `make release` packs those into
# $(TARBALL_DIR) with a checksum file.
PREFIX      ?= .
BUILD_DIR   ?= .build
TARBALL_DIR ?= .tarballs
PLATFORMS   ?= linux/amd64 linux/arm64

# The version stamp, as promu stamps it from .promu.yml (keep the two in
# step; TestMakeMatchesPromu checks): the version from VERSION, the commit
# and branch from git, who built it and when (UTC).
VERSION    := $(shell cat VERSION 2>/dev/null)
REVISION   := $(or $(shell git rev-parse HEAD 2>/dev/null),unknown)
BRANCH     := $(or $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null),unknown)
BUILD_USER := $(shell whoami)@$(shell uname -n)
BUILD_DATE := $(shell date -u +%Y%m%d-%H:%M:%S)
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS := \
	-X $(VERSION_PKG).Version=$(VERSION) \
	-X $(VERSION_PKG).Revision=$(REVISION) \
	-X $(VERSION_PKG).Branch=$(BRANCH) \
	-X $(VERSION_PKG).BuildUser=$(BUILD_USER) \
	-X $(VERSION_PKG).BuildDate=$(BUILD_DATE) \
	-extldflags '-static'
# Static, pure-Go binaries (no cgo, Go's own DNS resolver): they run on
# any Linux and in a FROM scratch image.
BUILD_FLAGS := -tags netgo -trimpath
GOBUILD     := CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -ldflags "$(LDFLAGS)"

# Tests run through internal/testsummary: the output of a plain `go test`
# (package results, failed tests in full), and a record of the skipped
# tests that `make test` prints at its end, so that a test skipped for lack
# of a program (promtool, podman, chromium...) does not pass for an "ok".
# bash's pipefail keeps go test's exit status through the pipe.
SHELL       := bash
.SHELLFLAGS := -o pipefail -c
TESTSUMMARY := $(abspath $(BUILD_DIR))/testsummary
SKIPPED     := $(abspath $(BUILD_DIR))/skipped-tests.txt
# The packages `make unit` tests, the root package last (see unit).
TEST_PKGS      = $(shell $(GO) list ./... | grep -vx '$(MODULE)')
ROOT_TEST_PKGS = .
GOTESTFLAGS   ?= -race -count=1

# The container image: `make image` builds it for this machine's
# architecture with podman (or docker: DOCKER=docker).
DOCKER      ?= podman
IMAGE       ?= tencent_live_exporter
ARCH        ?= $(shell $(GO) env GOARCH)

.PHONY: all build crossbuild release image test unit go-test test-report fmt-check fuzz deploy-test dashboard-test dashboard lint bench e2e load scrapecost clean webhookload fleetload $(TESTSUMMARY)

all: lint test build

build:
	$(GOBUILD) -o $(PREFIX)/$(BIN) .

crossbuild:
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo ">> building $(BUILD_DIR)/$$os-$$arch/$(BIN)"; \
		GOOS=$$os GOARCH=$$arch $(GOBUILD) -o $(BUILD_DIR)/$$os-$$arch/$(BIN) .; \
	done

# Tarballs named and laid out as promu's: $(BIN)-<version>.<os>-<arch>/
# with the binary, LICENSE, README.md and the examples a user starts from.
TARBALL_FILES := LICENSE README.md examples/config.yml examples/systemd/tencent_live_exporter.service examples/systemd/tencent_live_exporter.socket
release: crossbuild
	@set -e; rm -rf $(TARBALL_DIR) $(BUILD_DIR)/tarballs; mkdir -p $(TARBALL_DIR); \
	for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; name=$(BIN)-$(VERSION).$$os-$$arch; dir=$(BUILD_DIR)/tarballs/$$name; \
		mkdir -p $$dir; cp $(BUILD_DIR)/$$os-$$arch/$(BIN) $(TARBALL_FILES) $$dir/; \
		tar --sort=name --owner=0 --group=0 --numeric-owner -czf $(TARBALL_DIR)/$$name.tar.gz -C $(BUILD_DIR)/tarballs $$name; \
		echo ">> $(TARBALL_DIR)/$$name.tar.gz"; \
	done; \
	cd $(TARBALL_DIR) && sha256sum *.tar.gz > sha256sums.txt && cat sha256sums.txt

image:
	$(MAKE) crossbuild PLATFORMS=linux/$(ARCH)
	$(DOCKER) build --build-arg ARCH=$(ARCH) -t $(IMAGE):$(VERSION) .

# Everything CI checks: formatting, vet, the race-enabled test suite
# (unit, binary, image, landing page, systemd and end-to-end tests),
# the Kubernetes manifests' and Helm chart's module, the dashboard
# generator's module, then each fuzzer for a few seconds; then the list of
# the tests that were skipped, and why.
test: unit deploy-test dashboard-test fuzz
	@$(TESTSUMMARY) -report $(SKIPPED)

# The skipped tests recorded since the last report.
test-report: $(TESTSUMMARY)
	@$(TESTSUMMARY) -report $(SKIPPED)

$(TESTSUMMARY):
	@$(GO) build -o $@ ./internal/testsummary

# go test on the packages $(1) with GOTESTFLAGS, through testsummary;
# `make go-test PKGS=...` runs it alone.
run-go-test = $(GO) test -json $(GOTESTFLAGS) $(1) | $(TESTSUMMARY) -skipped $(SKIPPED)
go-test: $(TESTSUMMARY)
	$(call run-go-test,$(PKGS))

# gofmt's list goes to a variable, not through `tee /dev/stderr`: tee
# reopens stderr and, when it is a file, truncates what was logged so far.
fmt-check:
	@files="$$(gofmt -l .)"; if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi

# The root package's tests build release binaries and an image, and run
# Chromium: they go after the other packages, so that their compiling does
# not starve the timing tests of collector/ and examples/.
unit: fmt-check $(TESTSUMMARY)
	@rm -f $(SKIPPED)
	$(GO) vet ./...
	$(call run-go-test,$(TEST_PKGS))
	$(call run-go-test,$(ROOT_TEST_PKGS))

# deploy/ is its own Go module, so that the Kubernetes API types and Helm
# it checks the manifests and the chart with stay out of the exporter's
# dependencies.
deploy-test: $(TESTSUMMARY)
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 -json ./... | $(TESTSUMMARY) -skipped $(SKIPPED)

# examples/dashboard/ generates examples/grafana-dashboard.json with
# Grafana's foundation SDK, in a module of its own for the same reason.
# Its tests fail while the committed JSON is not the generator's output:
# `make dashboard` rewrites it.
dashboard-test: $(TESTSUMMARY)
	cd examples/dashboard && $(GO) vet ./... && $(GO) test -count=1 -json ./... | $(TESTSUMMARY) -skipped $(SKIPPED)

dashboard:
	cd examples/dashboard && $(GO) generate ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeAnswer$$' -fuzztime $(FUZZTIME) ./tencent/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSeatList$$' -fuzztime $(FUZZTIME) ./tencent/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCallback$$' -fuzztime $(FUZZTIME) ./tencent/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeUserSig$$' -fuzztime $(FUZZTIME) ./tencent/tencenttest/
	$(GO) test -run '^$$' -fuzz '^FuzzServeHTTP$$' -fuzztime $(FUZZTIME) ./tencent/tencenttest/

lint:
	$(GO) vet ./...
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0 run

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

e2e:
	$(GO) test -count=1 -run 'E2E|Binary|Image|Make|Systemd' -v . ./examples/

clean:
	rm -rf $(BIN) $(BUILD_DIR) $(TARBALL_DIR)

# The figures in docs/performance.md: the in-process load harness (add
# LOADFLAGS=-load.full for the full-size ceiling), the tests whose timing
# and throughput checks run only with -load (the race-enabled suite checks
# only what holds whatever the machine's speed), and the scrape-cost
# comparison with the floor.
LOADTESTS := TestLoadReport|TestCeilingScaled|TestDiscoveryCeilingScaled|TestAllCommandsCeilingScaled|TestAllCommandsWithSeatsCeilingScaled|TestGateFallsBackAfterRateLimit
load:
	$(GO) test -count=1 -run '^($(LOADTESTS))$$' -v -timeout 3h ./collector/ -load $(LOADFLAGS)

scrapecost:
	$(GO) build -o .build/tencent_live_exporter .
	$(GO) build -o .build/floor ./collector/internal/floor/cmd/floor
	$(GO) run ./collector/internal/scrapecost -exporter .build/tencent_live_exporter -floor .build/floor

# The webhook receiver under a flood of signed member events: events/s,
# latency, memory and scrape cost (figures in docs/performance.md).
webhookload:
	$(GO) build -o .build/tencent_live_exporter .
	$(GO) run ./receiver/internal/webhookload -exporter .build/tencent_live_exporter

# One process serving 200 apps of 40 rooms, then one app of 8 000 rooms:
# memory, CPU per second of polling, calls/s and scrape time.
fleetload:
	$(GO) build -o .build/tencent_live_exporter .
	$(GO) run ./collector/internal/fleetload -exporter .build/tencent_live_exporter
