# One task runner for people and CI. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
QA := $(VENV)/bin/qa
STAMP := $(VENV)/.installed-stamp

.PHONY: install run index test lint typecheck pytest browser-deps llm-models clean eval bench

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build from this machine's disk; an unpinned torch pulls several GB of CUDA.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(QA) index

run: install
	$(QA) index
	$(QA) serve

lint: install
	$(VENV)/bin/ruff check qa index eval tests
	$(VENV)/bin/ruff format --check qa index eval tests

typecheck: install
	$(VENV)/bin/mypy

# Debian's Chromium for the browser tests (Playwright drives it; no `playwright install`).
browser-deps:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

pytest: install browser-deps
	$(PY) -m pytest -q

test: lint typecheck pytest

# Score the default answerer on eval/gold.jsonl (needs an index: `make index`).
eval: install
	$(QA) eval --answerer extractive --out eval/baseline/extractive

# Benchmarks against floors measured in the same run (about 10 minutes; see BENCHMARKS.md).
bench: install
	$(QA) bench --out bench-out

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
