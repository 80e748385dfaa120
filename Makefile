# scdns: build, run and test. DESIGN.md is the contract; its section 7 describes the targets.
#
#   make serve              serves zones/ and registry.yaml on 127.0.0.1:5353 (extra flags: ARGS="...")
#   make test               test tools, lint, then the whole test suite and `make e2e` (what .ci/run does)
#   make e2e                the supercluster on one machine (e2e/, docs/supercluster.md): needs root, ~3.5 min
#   make bench              scdns (registry and cache) beside Knot DNS, NSD, Unbound and a floor responder
#   make bench-etcd         the etcd registry: put-to-answer latency, loading 100,000 services
#   make fuzz               libFuzzer over the codec, the pipeline, the registry and config decoders (Fuzz/)

SWIFT ?= swift
SWIFT_FORMAT ?= $(SWIFT) format
FORMAT_PATHS := Sources Tests bench Fuzz
RELEASE_BIN := .build/release/scdns
ARGS ?=

BENCH_SCRATCH ?= .build-bench

.PHONY: all deps test-deps bench-deps build serve lint format test e2e check bench bench-etcd fuzz clean

all: build

# Build dependencies: libldns-dev (pkg-config module `ldns`, for the CLDNS target), pkg-config, and dig
# (bind9-dnsutils), which README tells a new user to query `make serve` with.
deps:
	@bash scripts/install-deps.sh build

# Build dependencies plus test tools and real peers: dig (bind9-dnsutils), kdig (knot-dnsutils), ip (iproute2, make e2e),
# chromium (headless, the status page test),
# ldns-read-zone (ldnsutils, differential zone tests), knot, nsd and unbound (run by hand by tests and
# bench/, never as system services), etcd and etcdctl (etcd-server, etcd-client: the etcd registry tests), and
# kubernetes-validate from PyPI in .build-tools/venv (python3-venv; the manifests of deploy/kubernetes/).
test-deps:
	@bash scripts/install-deps.sh test

# dnsperf, knot, nsd, unbound, dig and valgrind for `make bench` (daemons never started as services).
bench-deps:
	@bash scripts/install-deps.sh bench

build: deps
	$(SWIFT) build -c release --product scdns

serve: build
	$(RELEASE_BIN) serve --config scdns.yaml $(ARGS)

lint:
	$(SWIFT_FORMAT) lint --strict --recursive $(FORMAT_PATHS)

format:
	$(SWIFT_FORMAT) --in-place --recursive $(FORMAT_PATHS)

# Debug build. `--build-tests` builds the executable too: tests start .build/debug/scdns.
# Tests run serially, in one deterministic order, and end with "N passed, N failed"; then the supercluster.
test: test-deps lint
	$(SWIFT) build --build-tests
	@bash scripts/run-tests.sh
	$(E2E)

# Three clusters in network namespaces (etcd, publishers, scdns, Unbound, pods) behind a user-space router:
# asserts failover, partition, flapping and etcd-member-loss behaviours, prints the times (docs/supercluster.md).
# Root only; fails, never skips, without it or a tool. Uses the debug build, as the tests do.
E2E := SCDNS_BINARY=.build/debug/scdns python3 e2e/supercluster.py e2e
e2e: test-deps
	$(SWIFT) build --product scdns
	$(E2E)

check: build
	$(RELEASE_BIN) check $(ARGS)

# The server comparison (DESIGN.md section 8, BENCHMARKS.md): a release build in its own scratch path, then
# bench/run.sh, about 12 minutes on the 2-core VM. Settings: see bench/run.sh (BENCH_DURATION=5, BENCH_REPEAT=3, ...).
bench: bench-deps
	$(SWIFT) build -c release --product scdns --scratch-path $(BENCH_SCRATCH)
	SCRATCH=$(BENCH_SCRATCH) bash bench/run.sh

# The etcd registry's figures (BENCHMARKS.md "etcd registry"): put-to-answer latency over 1,000 updates and
# loading 100,000 services x 3 clusters, against a real etcd started by bench/etcd.sh; a few minutes.
bench-etcd: test-deps
	$(SWIFT) build -c release --product scdns --scratch-path $(BENCH_SCRATCH)
	$(SWIFT) build -c release --product EtcdBench --scratch-path $(BENCH_SCRATCH)
	SCRATCH=$(BENCH_SCRATCH) bash bench/etcd.sh

# libFuzzer (Fuzz/README.md): each check of Sources/FuzzTargets built with -sanitize=fuzzer,address in its own
# scratch path, then run FUZZ_RUNS executions (or FUZZ_SECONDS) from Fuzz/corpus/TARGET, new inputs kept there.
# Not part of `make test`, which replays the corpus once through the same checks (FuzzCorpusTests).
FUZZ_SCRATCH ?= .build-fuzz
FUZZ_TARGETS ?= wire pipeline registry config
FUZZ_RUNS ?= 10000000
FUZZ_SECONDS ?= 0
fuzz: deps
	SCDNS_FUZZ=1 bash Fuzz/run.sh "$(FUZZ_SCRATCH)" "$(FUZZ_RUNS)" "$(FUZZ_SECONDS)" $(FUZZ_TARGETS)

clean:
	rm -rf .build
