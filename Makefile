# Every routine command. `make run` and `make test` set themselves up on a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make run` keeps its demo in a database of its own (demo.db in the data folder, emptied each
# run); `make run DEMO_DATABASE=default` uses the default database instead.
DEMO_DATABASE ?= demo

.PHONY: install run test lint worker beat flower bench bench-extract bench-dedup bench-search bench-warc bench-export bench-startup migration clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,postgres]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install newsflow with its dev extras

run: $(STAMP) ## ingest the bundled samples through Redis and a worker, then list them
	@DEMO_DATABASE='$(DEMO_DATABASE)' bash scripts/run-samples.sh

test: $(STAMP) ## the test suite (real Redis, PostgreSQL, HTTP servers and workers)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check pipeline workers tests bench
	$(BIN)/mypy

worker: $(STAMP) ## a worker serving all four queues
	$(BIN)/newsflow worker

beat: $(STAMP) ## the scheduler (run one only)
	$(BIN)/newsflow beat

flower: $(STAMP) ## Flower on http://127.0.0.1:5555
	$(BIN)/newsflow flower

bench: $(STAMP) ## orchestration cost: N pages through Redis + workers beside --local
	$(PY) -m bench.pipeline $(BENCH_ARGS)

bench-extract: $(STAMP) ## body F1 and time per page on article-body-dev, beside trafilatura
	$(BIN)/newsflow bench extract $(BENCH_ARGS)

bench-dedup: $(STAMP) ## duplicate lookup time per article at 10k and 100k stored articles
	$(PY) -m bench.dedup $(BENCH_ARGS)

bench-search: $(STAMP) ## search latency at 100,000 articles on SQLite and PostgreSQL, beside a scan
	$(PY) -m bench.search $(BENCH_ARGS)

bench-warc: $(STAMP) ## pages/s from a WARC into stored articles, beside reading it with warcio alone
	$(PY) -m bench.warc $(BENCH_ARGS)

bench-export: $(STAMP) ## export rows/s and peak memory (jsonl, parquet, warc), beside a plain read
	$(PY) -m bench.export $(BENCH_ARGS)

bench-startup: $(STAMP) ## how long `newsflow --help` takes to start, beside `python -c pass`
	$(PY) -m bench.startup $(BENCH_ARGS)

migration: $(STAMP) ## a new Alembic revision from the table changes: make migration m="what changed"
	$(PY) -c "import sys; from alembic import command; from pipeline.settings import get_settings; \
	from pipeline.store.db import alembic_config; \
	command.revision(alembic_config(get_settings().database), message=sys.argv[1], autogenerate=True)" "$(m)"

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
