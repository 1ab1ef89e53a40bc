# The two commands a newcomer needs: `make demo` and `make test`.
# Both use the dev profile (candle's hot crates are optimised in Cargo.toml), so the demo
# reuses the test build.

CARGO ?= cargo
DATA_DIR ?= data
BIND ?= 127.0.0.1:8080
MODEL ?= qwen2.5-coder-1.5b-instruct-q4_k_m
ALLMENDE = target/debug/allmende --data-dir $(DATA_DIR) --model $(MODEL)

.PHONY: demo test build model ingest serve check

## Build, fetch the model if missing, ingest Musterstadt (and the shared samples), serve on $(BIND).
demo: build model ingest serve

build:
	$(CARGO) build --locked -p allmende-web

model: build
	@if [ "$(MODEL)" = "none" ]; then echo "no model: extractive answers"; \
	else $(ALLMENDE) models verify $(MODEL) 2>/dev/null || $(ALLMENDE) models pull $(MODEL); fi

ingest: build
	$(ALLMENDE) ingest

serve: build
	$(ALLMENDE) serve --bind $(BIND)

## All tests of the workspace (what CI runs, after fmt and clippy).
test:
	$(CARGO) test --workspace --locked

## Formatting and lints, as in CI.
check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
