# ipsecmon. `make demo` and `make test` install what they need on Debian/Ubuntu.
GO        ?= go
BIN       := bin/ipsecmon
DEMO      ?= testdata/pcaps/lab/ikev2-rekey
LABOUT    ?= /tmp/ipsecmon-lab-ci
FUZZTIME  ?= 2m
BENCHFLAGS ?= -benchtime 10x -count 5
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# --version: the commit built (a tag when there is one), -dirty with changes.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PREFIX    ?= /usr/local
DESTDIR   ?=
# Packages that building and testing need: libpcap for live capture (cgo),
# tshark and tcpdump for the tests that compare ipsecmon with their reading,
# groff and zsh for the test of what make install writes.
BUILD_DEPS := libpcap-dev gcc
TEST_DEPS  := $(BUILD_DEPS) tshark tcpdump groff-base zsh
# promtool (Debian's prometheus) checks the exposition and tests the
# shipped alert rules; live-check runs the Prometheus server itself.
TEST_DEPS  += prometheus

.PHONY: all build install deps demo test lint bench stress fuzz lab lab-check live-check clean deps-build deps-test

all: build

# Every Debian package building and testing need (make demo and make test
# install what they need themselves; go test ./... installs nothing).
deps: deps-test

deps-build:
	@scripts/deps.sh $(BUILD_DEPS)

deps-test:
	@scripts/deps.sh $(TEST_DEPS)

build: deps-build
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/ipsecmon

# The binary, a man page and bash and zsh completions, the last three
# generated from the help texts of the binary installed.
install: build
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ipsecmon
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	$(GO) run ./internal/helpdoc/gendoc -bin $(BIN) \
		-man $(DESTDIR)$(PREFIX)/share/man/man1/ipsecmon.1 \
		-bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ipsecmon \
		-zsh $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_ipsecmon

# The demo reads a capture the strongSwan lab recorded (IKEv2 with CHILD and
# IKE SA rekeys) with the IKE keys only (keys.txt without its esp lines,
# which charon logged too): ipsecmon derives the first CHILD SA's ESP keys
# itself; the rekeyed ones used PFS, and the SA view says why their keys
# cannot be derived (README: the demo).
DEMOKEYS := bin/demo-ike-keys.txt
demo: build
	@(umask 077; grep -v '^esp ' $(DEMO)/keys.txt > $(DEMOKEYS)) # key files are secrets
	$(BIN) stats -r $(DEMO)/capture.pcap -k $(DEMOKEYS) --me 198.51.100.2
	@echo
	$(BIN) sas -r $(DEMO)/capture.pcap -k $(DEMOKEYS) --me 198.51.100.2 --columns me,peer,esp_confidentiality,spi_in,spi_out,packets_in,packets_out,state,pfs_group,key_source,keys_missing

# -timeout: cmd/ipsecmon takes about 30 s on an idle machine and minutes on a
# loaded one, where go test's default of 10 minutes has run out.
test: deps-test
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) test -timeout 30m ./...

lint: deps-build
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Benchmarks on generated captures (none committed), summarised as ratios
# against baselines of the same run, with the core count, the scaling of
# keyed verification with workers (projected from the CPU time of the
# caller's goroutine and of the workers for 4 and 8) and the time other
# processes took; as root also live capture's read of a filled kernel ring,
# in batches against a packet per gopacket call (loopback datagrams).
# Hold the lock: flock /tmp/ipsecmon-lab.lock make bench.
# Why cores idle, whatever the load: add -trace t.out to one benchmark, then
# go run ./internal/tracestat t.out.
bench: deps-build
	$(GO) test -run '^$$' -bench . $(BENCHFLAGS) ./pipeline ./capture | $(GO) run ./internal/benchratio

# Hostile inputs (spoofed SA pairs, IKE floods, fragment floods, random
# SPIs, a huge replay window) at two sizes each: peak memory and CPU time
# of ipsecmon, measured by GNU time, against issue 12's bounds. Takes a few
# minutes; hold the lock: flock /tmp/ipsecmon-lab.lock make stress
stress: deps-build
	@scripts/deps.sh time
	$(GO) run ./cmd/ipsecmon-lab stress $(STRESSFLAGS)

fuzz: deps-build
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# Re-record the strongSwan lab (root) and check the recordings with tshark.
lab: deps-test
	testdata/lab/run.sh
	$(GO) run ./cmd/ipsecmon-lab verify testdata/pcaps/lab

# CI: record the lab afresh elsewhere, check it with tshark, check it has the
# committed recordings' facts, and run the tests that read recordings on it.
lab-check: deps-test
	rm -rf $(LABOUT)
	testdata/lab/run.sh -o $(LABOUT)
	$(GO) run ./cmd/ipsecmon-lab verify $(LABOUT)
	$(GO) run ./cmd/ipsecmon-lab compare testdata/pcaps/lab $(LABOUT)
	IPSECMON_LAB_DIR=$(LABOUT) $(GO) test -count=1 ./internal/lab/... ./cmd/... ./ikestate/...

# CI: live capture beside a running lab scenario (root): live and offline
# figures, metrics against /stats.json, SIGHUP key reloads, live:vici, and a
# 2,000,000-packet replay into a veth for drops and flat memory.
live-check: deps-test
	testdata/lab/live-check.sh

clean:
	rm -rf bin
