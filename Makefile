# Build, demo and checks of the email-compromise collector distribution.
#
#   make build   build _build/otelcol-emailcompromise with ocb (only when sources changed)
#   make run     build if needed, then run the demo pipeline in the foreground (Ctrl-C stops it)
#   make test    all Go tests of the root module, including the end-to-end test of the binary
#   make fuzz    every fuzz target of the repository for FUZZTIME each
#   make lint    gofmt, go vet, staticcheck and doccheck; fails on any finding
#   make sigma-test  run Sigma rules' own tests (SigmaHQ's info.yml format): SIGMA_RULES, SIGMA_TESTS, SIGMA_CONFIG
#   make clean   remove the build output, the local tools and the demo state

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

GO ?= go
OCB_VERSION := v0.165.0
# ocb is installed per version, so bumping OCB_VERSION installs the new one.
OCB_DIR := $(CURDIR)/bin/ocb-$(OCB_VERSION)
OCB := $(OCB_DIR)/builder

DIST_NAME := otelcol-emailcompromise
BUILD_DIR := _build
BINARY := $(BUILD_DIR)/$(DIST_NAME)

DEMO_CONFIG := testdata/demo/config.yaml
TEST_TIMEOUT ?= 10m
FUZZTIME ?= 20s

# The binary is rebuilt when the manifest, the module files or any non-test Go
# file of the product changes. Test files are left out on purpose: they are not
# in the binary, and a 3-5 minute rebuild for a test edit would be waste.
# _build (ocb output), bin, .cache and the separate tools module are pruned;
# so, for the binary, are the trees whose code does not ship: bench/, tests/,
# internal/testing/ (load generator, test databases, vendor API fakes, the
# end-to-end tests), every cmd/ and testdata/. make lint checks that the
# distribution's components import nothing from them.
PRUNE := \( -path ./$(BUILD_DIR) -o -path ./bin -o -path ./.cache -o -path ./.git -o -path ./internal/tools \) -prune
NOT_IN_BINARY := \( -path ./bench -o -path ./tests -o -path ./internal/testing -o -name cmd -o -name testdata \) -prune
COMPONENTS := ./receiver/auditlogreceiver ./processor/emailcompromiseprocessor ./connector/emailcompromisefindingsconnector
PRODUCT_GO_FILES := $(shell find . $(PRUNE) -o $(NOT_IN_BINARY) -o -name '*.go' ! -name '*_test.go' -print)
ALL_GO_FILES = $(shell find . $(PRUNE) -o -name '*.go' -print)

# The linters are pinned in their own module, internal/tools/lint (apart
# from mdatagen's internal/tools, whose dependencies staticcheck's would
# move), and built into bin/ from its go.mod: a version bump there rebuilds
# them. staticcheck.conf at the root says which checks run. doccheck is the
# project's own: every exported identifier of the packages in DOC_DIRS has a
# doc comment.
LINT_MOD := internal/tools/lint
LINT_GO_FILES = $(wildcard $(LINT_MOD)/*.go $(LINT_MOD)/*/*.go)
STATICCHECK := bin/staticcheck
DOCCHECK := bin/doccheck
DOC_DIRS := processor/emailcompromiseprocessor/internal/detection receiver/auditlogreceiver/internal/filesource \
	receiver/auditlogreceiver/internal/vendorapi receiver/auditlogreceiver/internal/logrecord

.PHONY: build run test fuzz lint sigma-test clean

build: $(BINARY)

$(OCB):
	@echo ">> installing ocb $(OCB_VERSION) into $(OCB_DIR)"
	GOBIN=$(OCB_DIR) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

$(BINARY): builder-config.yaml go.mod go.sum $(PRODUCT_GO_FILES) | $(OCB)
	@echo ">> building $(BINARY) with ocb $(OCB_VERSION)"
	$(OCB) --config builder-config.yaml
	@# go build may leave an unchanged binary's mtime alone; make must see it as new.
	touch $@

# A fresh state directory per run: file_storage keeps the receiver's read
# positions and the processor's per-user state, so reusing it would make a second
# `make run` start at the end of the demo files and show nothing. The directory
# is removed when the collector stops; set DEMO_STATE_DIR yourself to keep one.
run: $(BINARY)
	@mkdir -p .cache
	@state=$$(mktemp -d "$(CURDIR)/.cache/demo-state.XXXXXX"); \
	trap 'rm -rf "$$state"' EXIT; \
	$(GO) run ./cmd/demo-geoip -table testdata/demo/geoip.yaml -out "$$state/geoip"; \
	echo ">> demo state in $$state (removed on exit); Ctrl-C stops the collector"; \
	DEMO_STATE_DIR="$$state" DEMO_GEOIP_DIR="$$state/geoip" ./$(BINARY) --config $(DEMO_CONFIG)

# The end-to-end test in internal/testing/e2e runs the built binary. When a binary
# exists it is brought up to date first (a no-op unless sources changed), so
# the test never checks stale code; without one the e2e test skips (and fails
# under CI=true, where .ci/run builds first).
test:
	@if [ -e $(BINARY) ]; then $(MAKE) --no-print-directory build; \
	else echo ">> $(BINARY) absent: the e2e test will skip (run 'make build' to include it)"; fi
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

# Fuzz targets are discovered, so new ones are picked up without editing this
# file: `go test -list` prints each package's matching names before its "ok" line.
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded" when
# -fuzztime ends while a worker is mid-call (go.dev/issue/75804, fixed in Go
# 1.27); that run found nothing and wrote no failing input, so it is retried
# (up to FUZZ_ATTEMPTS runs). A real failure writes testdata/fuzz/<target>/ and
# fails at once.
FUZZ_ATTEMPTS ?= 3
fuzz:
	@targets=$$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ { names[n++] = $$1; next } /^ok / { for (i = 0; i < n; i++) print $$2, names[i]; n = 0 }'); \
	if [ -z "$$targets" ]; then echo ">> no fuzz targets"; exit 0; fi; \
	log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	while read -r pkg name; do \
		for attempt in $$(seq 1 $(FUZZ_ATTEMPTS)); do \
			echo ">> fuzzing $$name in $$pkg for $(FUZZTIME) (run $$attempt)"; \
			if $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" 2>&1 | tee "$$log"; then break; fi; \
			if grep -q '^    context deadline exceeded$$' "$$log" && ! grep -q 'Failing input written to' "$$log" \
				&& [ "$$attempt" -lt $(FUZZ_ATTEMPTS) ]; then \
				echo ">> $$name: fuzz coordinator deadline race (go.dev/issue/75804), no failing input; running again"; \
				continue; \
			fi; \
			exit 1; \
		done; \
	done <<< "$$targets"

$(STATICCHECK): $(LINT_MOD)/go.mod $(LINT_MOD)/go.sum
	@echo ">> building staticcheck $$(awk '/^[^\/]*honnef.co\/go\/tools / { print $$NF }' $(LINT_MOD)/go.mod) into bin"
	cd $(LINT_MOD) && $(GO) build -o $(CURDIR)/$@ honnef.co/go/tools/cmd/staticcheck

$(DOCCHECK): $(LINT_MOD)/go.mod $(wildcard $(LINT_MOD)/doccheck/*.go)
	cd $(LINT_MOD) && $(GO) build -o $(CURDIR)/$@ ./doccheck

lint: $(STATICCHECK) $(DOCCHECK)
	@echo ">> gofmt -l"
	@out=$$(gofmt -l $(ALL_GO_FILES) $(LINT_GO_FILES)); \
	if [ -n "$$out" ]; then echo "These files need gofmt -w:"; echo "$$out"; exit 1; fi
	@echo ">> go vet ./..."
	$(GO) vet ./...
	@echo ">> staticcheck ./..."
	$(STATICCHECK) ./...
	@echo ">> doccheck $(DOC_DIRS)"
	$(DOCCHECK) $(DOC_DIRS)
	@echo ">> the components import nothing from the trees that do not ship"
	@out=$$($(GO) list -deps $(COMPONENTS) | grep -E '^github.com/otelsec/emailcompromise/(bench|tests|internal/testing)(/|$$)|^github.com/otelsec/emailcompromise/.*/cmd(/|$$)' || true); \
	if [ -n "$$out" ]; then echo "In the binary, but in a tree that does not ship:"; echo "$$out"; exit 1; fi
	@echo ">> go vet and staticcheck of $(LINT_MOD) (doccheck's own code)"
	cd $(LINT_MOD) && $(GO) vet ./... && $(CURDIR)/$(STATICCHECK) ./...

# A rule's own tests: the info.yml files its regression_tests_path names and
# those below SIGMA_TESTS, each a sample of vendor records and the matches it
# must give. Point SIGMA_RULES at your rule folder to check it before
# deploying; SIGMA_CONFIG may name a YAML file with the processor's sigma
# block (placeholders, field_mapping). The defaults are what CI runs: the
# shipped rules and the corpus's SigmaHQ cloud rules against
# testdata/sigma-regression-synthetic.
SIGMA_RULES ?= testdata/sigma ../shared/corpus/sigma/rules ../shared/corpus/sigma/rules-threat-hunting
SIGMA_TESTS ?= testdata/sigma-regression-synthetic
SIGMA_CONFIG ?=
sigma-test:
	$(GO) run ./processor/emailcompromiseprocessor/cmd/sigma-test $(addprefix -rules ,$(SIGMA_RULES)) \
		$(addprefix -tests ,$(SIGMA_TESTS)) $(addprefix -config ,$(SIGMA_CONFIG))

clean:
	rm -rf $(BUILD_DIR) bin .cache

# ---------------------------------------------------------------------------
# Performance and reliability (issue 7).
#
#   make bench   benchmarks beside their baselines; writes BENCHMARKS.md (5-10 minutes)
#   make soak    the long reliability tests: minute-long outages, a million-user
#                flood, several kill -9 (about 3 minutes; make test runs short versions)

BENCH_DIR := .cache/bench
BENCH_COUNT ?= 5
# The benchmarks and their baselines run in one process per repeat, so that
# each repeat compares the two under the same load (-count would run all the
# repeats of one sub-benchmark, then all of the other). The test binary is
# built once and run in its package directory, where the corpus is found.
BENCH_BIN := $(CURDIR)/$(BENCH_DIR)/bench.test
BENCH_MICRO := $(BENCH_BIN) -test.run '^$$' -test.bench 'BenchmarkProcessor|BenchmarkStatelessConditions|BenchmarkFileIngest' -test.benchmem -test.benchtime 2x
BENCH_DECODE := $(BENCH_BIN) -test.run '^$$' -test.bench 'BenchmarkDecode' -test.benchmem -test.benchtime 500ms
BENCH_PKG := $(GO) test -run '^$$' -bench 'BenchmarkProcessor' -benchmem -benchtime 100x -count 3 ./processor/emailcompromiseprocessor/
BENCH_STATE := $(BENCH_BIN) -test.run '^$$' -test.bench 'BenchmarkStateMemory' -test.benchtime 1x -test.timeout 30m
BENCH_SNAPSHOT := $(GO) test -run '^$$' -bench 'BenchmarkSnapshotPause' -benchtime 1x -timeout 30m ./processor/emailcompromiseprocessor/
BENCH_E2E := E2E_THROUGHPUT=1 THROUGHPUT_USERS=2000 BENCH_RESULTS=$(CURDIR)/$(BENCH_DIR)/results.jsonl $(GO) test -count=1 -run 'TestDistributionThroughput' -timeout 20m -v ./internal/testing/e2e/

.PHONY: bench soak

bench:
	@if [ -e $(BINARY) ]; then $(MAKE) --no-print-directory build; \
	else echo ">> $(BINARY) absent: the end-to-end throughput is not measured (run 'make build' first)"; fi
	@rm -rf $(BENCH_DIR) && mkdir -p $(BENCH_DIR)
	@{ echo "date: $$(date -u +%Y-%m-%dT%H:%M:%SZ)"; \
	   echo "nproc: $$(nproc)"; \
	   echo "CPU: $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"; \
	   echo "Go: $$($(GO) version)"; \
	   echo "load average (1, 5, 15 min) at the start: $$(cut -d' ' -f1-3 /proc/loadavg)"; } > $(BENCH_DIR)/machine.txt
	@printf '%s\n' "cd bench && go test -c -o $(BENCH_BIN) . && for i in 1..$(BENCH_COUNT):" "  $(BENCH_MICRO)" "  $(BENCH_DECODE)" \
	  "$(BENCH_PKG)" "cd bench && $(BENCH_STATE)" "$(BENCH_SNAPSHOT)" "$(BENCH_E2E)" > $(BENCH_DIR)/commands.txt
	$(GO) test -c -o $(BENCH_BIN) ./bench/
	@echo ">> processor, OTTL and decode benchmarks, $(BENCH_COUNT) repeats"
	@for i in $$(seq $(BENCH_COUNT)); do \
		(cd bench && $(BENCH_MICRO)) | tee -a $(BENCH_DIR)/micro.txt | grep -E '^(Benchmark|FAIL)'; \
		(cd bench && $(BENCH_DECODE)) | tee -a $(BENCH_DIR)/micro.txt | grep -E '^(Benchmark|FAIL)'; \
	done
	@echo ">> the processor package's own benchmark"
	$(BENCH_PKG) | tee $(BENCH_DIR)/processor_pkg.txt | grep -E '^(Benchmark|ok|FAIL)'
	@echo ">> state memory per user"
	(cd bench && $(BENCH_STATE)) | tee $(BENCH_DIR)/state.txt | grep -E '^(Benchmark|FAIL)'
	@echo ">> what a snapshot of 200,000 users costs the records processed meanwhile"
	$(BENCH_SNAPSHOT) | tee $(BENCH_DIR)/snapshot.txt | grep -E '^(Benchmark|ok|FAIL)'
	@echo ">> the built distribution end to end"
	$(BENCH_E2E) | tee $(BENCH_DIR)/e2e.txt | grep -E 'records/s|SKIP|^(ok|FAIL)'
	@echo "load average (1, 5, 15 min) at the end: $$(cut -d' ' -f1-3 /proc/loadavg)" >> $(BENCH_DIR)/machine.txt
	$(GO) run ./bench/benchreport -dir $(BENCH_DIR) -out BENCHMARKS.md
	@echo ">> wrote BENCHMARKS.md"

# The reliability tests of internal/testing/e2e run in make test with short outages
# and a 200k-user flood; SOAK=1 makes them long. As in make test, the binary
# is brought up to date first when it exists, and the tests skip without it
# (and fail under CI=true).
soak:
	@if [ -e $(BINARY) ]; then $(MAKE) --no-print-directory build; \
	else echo ">> $(BINARY) absent: the soak tests will skip (run 'make build' first)"; fi
	@mkdir -p .cache
	SOAK=1 RELIABILITY_RESULTS=$(CURDIR)/.cache/soak-results.jsonl $(GO) test -count=1 -timeout 40m -run 'TestReliability' -v ./internal/testing/e2e/
