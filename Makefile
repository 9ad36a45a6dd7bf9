# tencent_live_exporter: common tasks. `make test` is what CI runs.
GO       ?= go
FUZZTIME ?= 20000x
BIN      := tencent_live_exporter

.PHONY: all build test unit fuzz lint bench e2e load scrapecost clean

all: lint test build

build:
	$(GO) build -o $(BIN) .

# Everything CI checks: vet, the race-enabled test suite (which includes
# the end-to-end test against a real Prometheus and the fuzz seed corpora),
# then each fuzzer for a few seconds.
test: unit fuzz

unit:
	gofmt -l . | tee /dev/stderr | (! read -r _)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeAnswer$$' -fuzztime $(FUZZTIME) ./tencent/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeUserSig$$' -fuzztime $(FUZZTIME) ./tencent/tencenttest/
	$(GO) test -run '^$$' -fuzz '^FuzzServeHTTP$$' -fuzztime $(FUZZTIME) ./tencent/tencenttest/

lint:
	$(GO) vet ./...
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0 run

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

e2e:
	$(GO) test -count=1 -run 'E2E|Binary' -v . ./examples/

clean:
	rm -f $(BIN)

# Issue #5 figures: the in-process load harness (add LOADFLAGS=-load.full
# for the full-size ceiling) and the scrape-cost comparison with the floor.
load:
	$(GO) test -count=1 -run '^TestLoadReport$$' -v -timeout 30m ./collector/ -load $(LOADFLAGS)

scrapecost:
	$(GO) build -o .build/tencent_live_exporter .
	$(GO) build -o .build/floor ./collector/internal/floor/cmd/floor
	$(GO) run ./collector/internal/scrapecost -exporter .build/tencent_live_exporter -floor .build/floor
