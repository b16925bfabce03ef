# The two commands a newcomer needs: `make demo` and `make test`.
SWIFT ?= swift
CONFORMANCE ?= ../shared/conformance/run.py
## consent-signals.md cases (TCF, GPP, US Privacy, Google Consent Mode, consentManagement).
SIGNAL_CASES ?= $(dir $(CONFORMANCE))signals.json
## Issue 9: the public JSON parser suite (embedded in events) and the differential test against
## the independent model (reference.py).
JSONTESTSUITE ?= $(dir $(CONFORMANCE))jsontestsuite.py
DIFFERENTIAL ?= $(dir $(CONFORMANCE))differential.py

.PHONY: demo test test-full build release bootstrap

bootstrap:
	@scripts/bootstrap.sh

## Runs the worker end to end on an embedded mock Kafka cluster with the example policy.
demo: bootstrap
	$(SWIFT) build -c release --product consent-gate
	.build/release/consent-gate demo

## Builds and runs every test: unit, integration (in-process mock cluster), conformance, and the
## deployment checks (manifests, alert rules, dashboard, compose; the policy loaded by our loader).
test: bootstrap
	$(SWIFT) build --build-tests
	CONSENT_GATE_METRICS_SCRAPE=$(CURDIR)/.build/metrics-scrape.txt $(SWIFT) test --skip-build
	@if [ -f $(CONFORMANCE) ]; then python3 $(CONFORMANCE) -- .build/debug/consent-gate check && \
		python3 $(CONFORMANCE) --cases $(SIGNAL_CASES) -- .build/debug/consent-gate check && \
		python3 $(JSONTESTSUITE) -- .build/debug/consent-gate check && \
		python3 $(DIFFERENTIAL) --signals --n 20000 --seed 1 -- .build/debug/consent-gate check; \
	else echo "conformance: $(CONFORMANCE) not found, skipped"; fi
	deploy/check.sh --binary .build/debug/consent-gate --metrics .build/metrics-scrape.txt

## The issue-4 end-to-end tests at their full counts (200,000 events through five kill -9s).
test-full: bootstrap
	$(SWIFT) build --build-tests
	CONSENT_GATE_FULL_TESTS=1 $(SWIFT) test --skip-build --filter WorkerEndToEndTests

build: bootstrap
	$(SWIFT) build

release: bootstrap
	$(SWIFT) build -c release --product consent-gate

## Engine benchmarks (issue 3 item 7), a separate package in Benchmarks/ (ordo-one benchmark):
## decide() events/s per core and mallocs per 1000 decisions on gen_events.py output, and the
## memory of 10M suppressed userIds. --scale prints raw values per 1000-decision iteration.
GEN_EVENTS ?= ../shared/bench/gen_events.py
BENCH_EVENTS ?= $(CURDIR)/Benchmarks/.build/events-100k.jsonl
.PHONY: bench-engine
bench-engine:
	@mkdir -p Benchmarks/.build
	@if [ -f $(GEN_EVENTS) ]; then python3 $(GEN_EVENTS) 100000 --seed 1 > $(BENCH_EVENTS); \
	else echo "bench-engine: $(GEN_EVENTS) not found, events generated in Swift"; rm -f $(BENCH_EVENTS); fi
	if [ -f $(BENCH_EVENTS) ]; then export CONSENT_GATE_BENCH_EVENTS=$(BENCH_EVENTS); fi; \
	$(SWIFT) package --package-path Benchmarks --scratch-path Benchmarks/.build benchmark --no-progress --scale $(BENCH_ARGS)

## Issue 5's memory figure: the worker loads 10M suppressed userIds from the suppression topic
## (mock cluster); prints load time and peak RSS of the release worker. ~5 minutes.
.PHONY: bench-suppressions
bench-suppressions: bootstrap
	$(SWIFT) build -c release --product consent-gate
	$(SWIFT) build --build-tests
	CONSENT_GATE_MEMORY_TEST=1 CONSENT_GATE_BINARY=$(CURDIR)/.build/release/consent-gate \
		$(SWIFT) test --skip-build --filter SuppressionMemoryTests

## Issue 4 worker benchmark: the release worker side by side with the C pass-through of
## ../shared/bench (same mock broker setup, events and destinations; rounds alternate the
## order; medians and worker/passthru ratios). Needs gcc and `pip install confluent-kafka`.
## BENCH_WORKER_ARGS='N_EVENTS ROUNDS' (default 400000 3); results in bench/out/.
.PHONY: bench-worker
bench-worker: bootstrap
	bench/run.sh $(BENCH_WORKER_ARGS)

## Issue 9 fuzzing: libFuzzer targets for the scanner and decider, the subscription parsers, the
## configuration loader and the admin API (Fuzz/, built into .build-fuzz with
## -sanitize=fuzzer,address), seeded from ../shared/conformance at run time; each runs
## FUZZ_SECONDS (CI: 60) after replaying Fuzz/regressions/. Prints executions per second.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: bootstrap
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh
