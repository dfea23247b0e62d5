# Two commands on a fresh machine (Python 3.11, package registries only):
#   make demo   — set up, then build everything on the embedded Demo City (offline)
#   make test   — set up, then run the whole test suite
# Both install uv if missing and sync the locked environment into .venv first.

export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

.PHONY: setup browser demo test lint ui bench clean-outputs

setup:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --quiet

# Headless Chromium for the report-rendering tests (Debian's package; the tests say why
# they skip when it cannot be installed, e.g. without root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not installed and no root: browser tests will be skipped"; fi; }

demo: setup
	$(UV) run --frozen profiles demo

test: setup browser
	$(UV) run --frozen ruff check .
	$(UV) run --frozen pytest

lint: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

bench: setup
	$(UV) run --frozen python -m bench.run

ui: setup
	DAGSTER_HOME=$(CURDIR) $(UV) run --frozen dg dev --host 127.0.0.1 --port 3000

clean-outputs:
	rm -rf data/warehouse data/outputs data/demo .dagster_home
