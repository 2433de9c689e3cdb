# One-command setup: `make run` (terminal chat on the embedded default) and `make test`.
# Both create .venv and install everything on first use; later runs reuse it (stamp file).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# llama-cpp-python compiles from source once (~5 min on 2 cores; pip caches the wheel).
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install lint doctor bench clean train-injection chromium

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=python3.11)")'
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); } || { echo "cannot create .venv: install python3.11-venv (Debian: apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/assistant chat --ingest-if-empty docs

test: install chromium
	$(BIN)/ruff check bot graph knowledge guards observe evals tests
	$(BIN)/pytest -q

# The dashboard's browser tests drive Debian's chromium (Playwright downloads nothing).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		command -v apt-get >/dev/null 2>&1 || { echo "install chromium for the browser tests"; exit 0; }; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing Debian's chromium for the browser tests"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(BIN)/ruff check bot graph knowledge guards observe evals tests
	$(BIN)/mypy

doctor: install
	$(BIN)/assistant doctor

clean:
	rm -rf $(VENV) .assistant

# Retrain the prompt-injection model in guards/data (deterministic; --check compares instead).
SHARED ?= ../shared/datasets
train-injection: install
	$(BIN)/assistant train injection --data $(SHARED)/injection-dev.jsonl \
		--docs $(SHARED)/python-docs --benign graph/intents.yaml \
		--benign tests/data/intents_heldout.jsonl --benign tests/data/intents_fresh.jsonl \
		--benign tests/data/python_docs_dev.jsonl $(ARGS)
