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

.PHONY: setup demo test lint ui bench clean-outputs

setup:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --quiet

demo: setup
	$(UV) run --frozen profiles demo

test: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen pytest

lint: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

ui: setup
	DAGSTER_HOME=$(CURDIR) $(UV) run --frozen dg dev --host 127.0.0.1 --port 3000

clean-outputs:
	rm -rf data/warehouse data/outputs data/demo .dagster_home
