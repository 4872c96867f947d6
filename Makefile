# The README's two commands are `make run` and `make test`; both set up .venv first.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
UV := $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python

.PHONY: setup run test lint format ui serve bench clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(UV) -r requirements.lock
	# torch alone, without the CUDA wheels a resolver would pin: the CPU wheel, or CUDA's where present
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps torch==2.13.0
	$(UV) --no-deps --no-build-isolation -e .
	touch $@

run: setup
	$(BIN)/dlops run

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ui: setup
	$(BIN)/dlops ui

serve: setup
	$(BIN)/dlops serve $(or $(FAMILY),mlp)

bench: setup
	$(BIN)/python benchmarks/train_overhead.py
	$(BIN)/python benchmarks/gate_bootstrap.py
	$(BIN)/python benchmarks/skip_path.py
	$(BIN)/python benchmarks/streaming.py
	$(BIN)/python benchmarks/refused_file.py
	$(BIN)/python benchmarks/read_only.py

clean:
	rm -rf $(VENV) .dlops .pytest_cache .ruff_cache
