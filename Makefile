# The two commands a newcomer needs: `make demo` and `make test`.
# Both use the dev profile (candle's hot crates are optimised in Cargo.toml), so the demo
# reuses the test build.

CARGO ?= cargo
DATA_DIR ?= data
BIND ?= 127.0.0.1:8080
MODEL ?= qwen2.5-coder-1.5b-instruct-q4_k_m
ALLMENDE = target/debug/allmende --data-dir $(DATA_DIR) --model $(MODEL)

.PHONY: demo test test-deps build model ingest serve check

# The official OpenAI Python client, used by web/tests/suite/openai_client.rs; schemathesis,
# which web/tests/suite/openapi.rs runs against a live server with /openapi.json; and the ADBC
# Flight SQL driver with pyarrow, which web/tests/suite/flight_sql.rs drives.
OPENAI_CLIENT = openai==3.54.0
SCHEMATHESIS = schemathesis==4.32.5
FLIGHT_SQL_CLIENT = adbc-driver-flightsql==1.13.0 pyarrow==26.0.1
# moto's standalone S3-compatible server, which connectors/tests/object_store_s3.rs reads from.
S3_SERVER = moto[server]==5.2.1
# A PostgreSQL driver on the extended-query protocol (web/tests/suite/sql_clients.rs).
PG_DRIVER = psycopg[binary]==3.3.2
PIP_INSTALL = python3 -m pip install --quiet --disable-pip-version-check

## Build, fetch the model if missing, ingest Musterstadt (and the shared samples), serve on $(BIND).
demo: build model ingest serve

build:
	$(CARGO) build --locked -p allmende-web

# The language model, and the e5 sentence encoder behind hybrid retrieval and /v1/embeddings.
ENCODER ?= multilingual-e5-small-q4

model: build
	@if [ "$(MODEL)" = "none" ]; then echo "no model: extractive answers"; \
	else $(ALLMENDE) models verify $(MODEL) 2>/dev/null || $(ALLMENDE) models pull $(MODEL); fi
	@if [ "$(ENCODER)" = "none" ]; then echo "no encoder: BM25 retrieval only"; \
	else $(ALLMENDE) models verify $(ENCODER) 2>/dev/null || $(ALLMENDE) models pull $(ENCODER); fi

ingest: build
	$(ALLMENDE) ingest

serve: build
	$(ALLMENDE) serve --bind $(BIND)

## All tests of the workspace (what CI runs, after fmt and clippy). Tests with the real models
## run when `data/models` has them (`make model`, and MODEL=qwen2.5-coder-0.5b-instruct-q4_k_m).
## Then the query crate once more with its `ballista` feature: TPC-H Q1 on a standalone cluster.
test: test-deps
	$(CARGO) test --workspace --locked
	$(CARGO) test --locked -p allmende-query --features ballista --test ballista

test-deps:
	@python3 -c "import openai" 2>/dev/null || $(PIP_INSTALL) $(OPENAI_CLIENT) \
	  || $(PIP_INSTALL) --break-system-packages $(OPENAI_CLIENT)
	@python3 -c "import schemathesis" 2>/dev/null || $(PIP_INSTALL) $(SCHEMATHESIS) \
	  || $(PIP_INSTALL) --break-system-packages $(SCHEMATHESIS)
	@python3 -c "import adbc_driver_flightsql, pyarrow" 2>/dev/null || $(PIP_INSTALL) $(FLIGHT_SQL_CLIENT) \
	  || $(PIP_INSTALL) --break-system-packages $(FLIGHT_SQL_CLIENT)
	@python3 -c "import moto.server, flask" 2>/dev/null || $(PIP_INSTALL) "$(S3_SERVER)" \
	  || $(PIP_INSTALL) --break-system-packages "$(S3_SERVER)"
	@python3 -c "import psycopg" 2>/dev/null || $(PIP_INSTALL) "$(PG_DRIVER)" \
	  || $(PIP_INSTALL) --break-system-packages "$(PG_DRIVER)"

## Formatting and lints, as in CI.
check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
