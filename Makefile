# zcnas developer commands. `make demo` and `make test` set everything up from scratch
# (a virtual environment in .venv, uv from PyPI, the Rust extension built by maturin).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(PYTHON) -m uv
STAMP := $(VENV)/.zcnas-installed
SOURCES := pyproject.toml Cargo.toml $(shell find rust -name '*.rs' -o -name 'Cargo.toml')

.PHONY: help install demo test docs lint format bench bench-rust rust-test clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv>=0.4,<1"
	$(UV) venv --quiet --python $(PYTHON) $(VENV)

$(STAMP): $(BIN)/python $(SOURCES)
	$(UV) pip install --quiet --python $(BIN)/python --reinstall-package zcnas -e ".[test,bench,docs]"
	touch $@

install: $(STAMP)  ## create .venv and build zcnas into it (editable)

demo: install  ## run the demo on the embedded data
	$(BIN)/zcnas demo

test: install  ## run the test suite
	$(BIN)/python -m pytest -q

docs: install  ## build the documentation site into site/ (mkdocs --strict: warnings are errors)
	$(BIN)/mkdocs build --strict

lint:  ## ruff, rustfmt, clippy
	$(BIN)/ruff check python tests benches tools
	$(BIN)/ruff format --check python tests benches tools
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

format:  ## format Python and Rust
	$(BIN)/ruff format python tests benches tools
	cargo fmt --all

rust-test:  ## Rust unit and property tests of the core
	cargo test -p zcnas-core

bench: install  ## pytest-benchmark comparisons against scipy
	$(BIN)/python -m pytest benches --benchmark-enable --benchmark-only -p no:cacheprovider

bench-rust:  ## criterion benchmarks of the core
	cargo bench -p zcnas-core

clean:
	rm -rf $(VENV) target site python/zcnas/*.so
