# Vigil build and test entry points. `make test` is the one command that runs
# every test; `.ci/run` prepares a fresh Debian machine and calls it.

GO        ?= go
PKGS      ?= ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/vigil-sec/vigil/internal/app.Version=$(VERSION)
GOBIN     ?= $(shell $(GO) env GOPATH)/bin

STATICCHECK_VERSION ?= v0.8.2
GOSEC_VERSION       ?= v2.30.0

.PHONY: all build install test test-short lint tools fmt fuzz bench screenshots clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/vigil ./cmd/vigil

install:
	$(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/vigil

# Every test: unit, store conformance on SQLite and PostgreSQL, bus
# conformance in-process and on NATS JetStream, CLI scripts, the browser test
# in headless Chromium, and each fuzz target's seed corpus.
test:
	$(GO) test -count=1 -timeout 15m $(PKGS)

# The same without the slow browser and real-service tests.
test-short:
	$(GO) test -short -count=1 $(PKGS)

# Linters, installed from the Go module proxy at pinned versions.
tools:
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x $(GOBIN)/gosec || $(GO) install github.com/securego/gosec/v2/cmd/gosec@$(GOSEC_VERSION)

# govulncheck needs the Go vulnerability database, which these machines
# cannot reach; run it where it is reachable.
lint: tools
	$(GO) vet $(PKGS)
	test -z "$$(gofmt -l cmd internal)" || (gofmt -l cmd internal; exit 1)
	$(GOBIN)/staticcheck $(PKGS)
	$(GOBIN)/gosec -quiet -exclude-generated -exclude-dir=testdata $(PKGS)

fmt:
	gofmt -w cmd internal

# Run each fuzz target for FUZZTIME (default 20s).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Regenerate the UI screenshots in docs/ with headless Chromium.
screenshots:
	VIGIL_SCREENSHOTS=$(CURDIR)/docs $(GO) test -count=1 -run "TestBrowser" ./internal/e2e/

clean:
	rm -rf bin
