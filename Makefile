# The two commands a newcomer needs: `make demo` and `make test`. Both set everything up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Where `reelcart demo` keeps Prefect's state (REELCART_DATA_DIR/prefect), for `make ui`.
REELCART_DATA_DIR ?= .reelcart
PREFECT_HOME ?= $(abspath $(REELCART_DATA_DIR))/prefect

# Debian packages: espeak-ng (offline voiceover), Noto fonts (non-Latin titles), Chromium
# (report page test). Installed when missing and we are root with apt-get; otherwise the
# features that need them degrade, and the tests that need them say what is missing.
SYSTEM_PACKAGES := espeak-ng festival festvox-us-slt-hts fonts-noto-core chromium

.PHONY: demo test lint serve ui stack stack-down bench clean system-packages conformance \
	conformance-ucp

system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "Note: missing system packages ($$missing); install them with your package manager."; \
	fi

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python scripts/node_tools.py  # Node 24 packages the tests run (tests/js)
	@touch $(STAMP)

## demo: install, then run a whole campaign on the demo store (embedded Prefect, CPU engine)
demo: $(STAMP) system-packages
	$(BIN)/reelcart demo

## test: install, then run the whole suite (SQLite and the PostgreSQL on 127.0.0.1:5432)
test: $(STAMP) system-packages
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app reelcart connectors generation commerce experiments flows

## serve: MCP at http://127.0.0.1:8787/mcp (needs REELCART_API_TOKEN)
serve: $(STAMP)
	$(BIN)/reelcart serve

## ui: the Prefect UI over the demo's runs and artifacts, at http://127.0.0.1:4200
ui: $(STAMP)
	PREFECT_HOME=$(PREFECT_HOME) PREFECT_SERVER_ANALYTICS_ENABLED=false \
		$(BIN)/prefect server start --host 127.0.0.1

## stack: a Prefect server, the default and gpu pools, the deployments and two workers on
## 127.0.0.1 (state in REELCART_DATA_DIR; PostgreSQL via PREFECT_API_DATABASE_CONNECTION_URL)
stack: $(STAMP)
	$(BIN)/python scripts/stack.py up

stack-down:
	$(BIN)/python scripts/stack.py down

## conformance: the official MCP and UCP conformance suites, each against a fresh `reelcart serve`
conformance: $(STAMP) conformance-ucp
	$(BIN)/python scripts/mcp_conformance.py

## conformance-ucp: the official UCP suite (../shared/ucp) against a seeded flower shop
conformance-ucp: $(STAMP)
	$(BIN)/python scripts/ucp_conformance.py

bench: $(STAMP)
	$(BIN)/python bench/encode_motion.py

clean:
	rm -rf $(VENV) .reelcart
