# The two commands a newcomer needs: `make demo` and `make test`.
SWIFT ?= swift
CONFORMANCE ?= ../shared/conformance/run.py

.PHONY: demo test build release bootstrap conformance

bootstrap:
	@scripts/bootstrap.sh

## Runs the worker end to end on an embedded mock Kafka cluster with the example policy.
demo: bootstrap
	$(SWIFT) build -c release --product consent-gate
	.build/release/consent-gate demo

## Builds and runs every test: unit, integration (in-process mock cluster) and conformance.
test: bootstrap
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	@if [ -f $(CONFORMANCE) ]; then python3 $(CONFORMANCE) -- .build/debug/consent-gate check; \
	else echo "conformance: $(CONFORMANCE) not found, skipped"; fi

build: bootstrap
	$(SWIFT) build

release: bootstrap
	$(SWIFT) build -c release --product consent-gate
