# ipsecmon. `make demo` and `make test` install what they need on Debian/Ubuntu.
GO        ?= go
BIN       := bin/ipsecmon
DEMO      ?= testdata/pcaps/lab/ikev2-tunnel/capture.pcap
FUZZTIME  ?= 2m
BENCHFLAGS ?= -benchtime 10x -count 5
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages that building and testing need: libpcap for live capture (cgo),
# tshark for the tests that compare ipsecmon with Wireshark's reading.
BUILD_DEPS := libpcap-dev gcc
TEST_DEPS  := $(BUILD_DEPS) tshark

.PHONY: all build demo test lint bench fuzz lab clean deps-build deps-test

all: build

deps-build:
	@scripts/deps.sh $(BUILD_DEPS)

deps-test:
	@scripts/deps.sh $(TEST_DEPS)

build: deps-build
	$(GO) build -o $(BIN) ./cmd/ipsecmon

demo: build
	$(BIN) stats -r $(DEMO)
	@echo
	$(BIN) sas -r $(DEMO) --columns +spi_in,+spi_out,+mode,+packets_in,+packets_out,+bytes_in,+bytes_out

test: deps-test
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) test ./...

lint: deps-build
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: deps-build
	$(GO) test -run '^$$' -bench . $(BENCHFLAGS) ./pipeline | $(GO) run ./internal/benchratio

fuzz: deps-build
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

lab:
	bash testdata/lab/run.sh

clean:
	rm -rf bin
