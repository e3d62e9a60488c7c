# The one task runner, used by developers and by CI (.ci/run calls `make test`).
# On a fresh machine with only Python: `make demo` or `make test`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := build/demo

.PHONY: help venv demo demo-check test test-fast lint format typecheck services bench bench-tools bench-decisions-http golden fuzz clean

help:
	@echo "make demo       set up and run an audit on the embedded synthetic sample"
	@echo "make test       set up, start the real servers the tests need, lint and run every test"
	@echo "make test-fast  the fast tests only (no servers, no large dumps)"
	@echo "make bench      the benchmarks (slow, on purpose): see docs/benchmarks.md"
	@echo "make bench-tools  the load generator the HTTP benchmarks use (wrk, from Debian)"
	@echo "make fuzz       the readers' fuzz test for FUZZ_MINUTES (10) minutes"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

venv: $(STAMP)

demo: $(STAMP)
	# The sample is made once; a re-run audits it again (privguard never overwrites it).
	test -d $(DEMO)/leak || $(BIN)/privguard synth $(DEMO)/leak --calls 20000 --seed 7
	$(BIN)/privguard audit $(DEMO)/leak/dump \
	    --directory $(DEMO)/leak/directory/bar_directory.csv \
	    --directory $(DEMO)/leak/directory/public_defenders.xlsx \
	    --registry $(DEMO)/leak/registry/do_not_record.csv \
	    --out $(DEMO)/audit
	$(BIN)/privguard replay $(DEMO)/audit --registry $(DEMO)/audit/restricted/registry.parquet \
	    --out $(DEMO)/replay

services:
	bash scripts/services.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(BENCH_STAMP) services lint demo-check
	$(BIN)/pytest

# `make demo` as a fresh machine runs it: its own venv with only what `make demo` installs
# (not the bench extras `make test` adds), so a missing dependency fails here. On 4 Dec the
# demo had been broken for a day (sqlglot imported by every audit) and no test saw it.
demo-check:
	$(MAKE) demo VENV=build/demo-venv DEMO=build/demo-check

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow and not services"

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py

# wrk (Debian's package) drives bench/decisions_http.py --generator wrk. Needs root and
# apt-get, as on CI; elsewhere install wrk with the system's package manager.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	    echo "bench-tools: wrk is missing; install it (Debian/Ubuntu: apt-get install wrk)" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	@echo "bench-tools: $$(wrk --version 2>&1 | head -1)"

# The HTTP decision benchmark of docs/benchmarks.md (60 s per rate: run on a quiet machine).
# WORKERS=2 for one writer fed by two workers; DH_ARGS="--private-pg" for PostgreSQL
# (a private server the fault run kills).
WORKERS ?= 1
DH_ARGS ?=
bench-decisions-http: $(BENCH_STAMP) bench-tools
	PYTHONPATH=$(CURDIR)/src $(BIN)/python bench/decisions_http.py --numbers 10000 \
	    --rates 500,1000,2000,4000 --seconds 60 --generator wrk --conns 64 \
	    --wrk-seconds 30 --fault-rate 300 --fault-seconds 60 --workers $(WORKERS) $(DH_ARGS) \
	    --work /tmp/dhbench --out /tmp/dhbench/result.json

FUZZ_MINUTES ?= 10

# The long run of tests/test_fuzz_readers.py: prints runs, tracebacks and mismatches (both 0).
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz_readers.py --minutes $(FUZZ_MINUTES)

# Outputs are meant to change: regenerate the golden digests and review the JSON's diff.
golden: $(STAMP)
	PRIVGUARD_UPDATE_GOLDEN=1 $(BIN)/pytest tests/test_golden.py -q

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
