# payrun — see README.md. `make help` lists the targets.
GO        ?= go
BIN       := bin/payrun
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.Version=$(VERSION)
TEST_FLAGS ?= -count=1 -timeout 20m

.PHONY: help build demo test test-short test-db-stop lint bench fuzz deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

deps: ## install PostgreSQL, xmllint and chromium when missing (apt-get)
	@.ci/deps.sh

build: ## build bin/payrun
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/payrun

demo: build ## the main job end to end on a fresh embedded database (var/demo)
	@.ci/deps.sh postgres
	./$(BIN) demo

# The test cluster (a scratch embedded PostgreSQL, see payrun/pgserver/pgtest)
# lives in var/test; it is started by the first test that needs it, shared by
# all test processes and stopped when the tests end, pass or fail.
TEST_HOME := $(CURDIR)/var/test

test: deps lint ## every test against the real embedded PostgreSQL, plus short fuzzing
	@export PAYRUN_TEST_HOME="$(TEST_HOME)"; rc=0; \
	  $(GO) test $(TEST_FLAGS) ./... && $(MAKE) --no-print-directory fuzz FUZZTIME=10s || rc=$$?; \
	  $(MAKE) --no-print-directory test-db-stop; exit $$rc

test-db-stop: # stop the test cluster of make test (if running)
	@$(GO) run ./cmd/payrun --home "$(TEST_HOME)" db stop 2>/dev/null || .ci/pg-stop.sh "$(TEST_HOME)"

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

bench: build ## Go benchmarks of the hot stages and the million-case end-to-end bench
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...
	./$(BIN) bench --cases 1000000

FUZZTIME ?= 5m
fuzz: ## run every fuzz target for FUZZTIME (default 5m each)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean: ## remove build output and the demo database
	rm -rf bin var/demo out
