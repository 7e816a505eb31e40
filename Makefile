# riskmap — `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: install demo test lint bench bench-country clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/riskmap demo --out out --overwrite

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest --nbmake tests notebooks

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	mkdir -p benchmarks/results
	$(PY) benchmarks/bench_opportunity.py --scale 1.0 --sizes 100 25 > benchmarks/results/opportunity.md
	$(PY) benchmarks/bench_hotspots.py > benchmarks/results/hotspots.md
	$(PY) benchmarks/bench_kde.py > benchmarks/results/kde.md
	$(PY) benchmarks/bench_kde.py --oversample 1 --exact-cells 300 > benchmarks/results/kde_oversample1.md
	$(PY) benchmarks/bench_scoring.py --scale 1.0 > benchmarks/results/scoring.md
	$(PY) benchmarks/bench_run.py region --scale 1.0 --sizes 100 25
	$(PY) benchmarks/bench_run.py profile --scale 1.0 --cell-size 100
	$(PY) benchmarks/bench_run.py report > benchmarks/results/run.md
	$(PY) benchmarks/assemble.py --write BENCHMARKS.md

# the synthetic country (342 municipalities, 10 M premises; ~4 GB of data, tens of minutes)
bench-country: $(STAMP)
	mkdir -p benchmarks/results
	$(PY) benchmarks/country.py make benchmarks/results/country --premises 10_000_000 \
		--seed 0 --overwrite
	$(PY) benchmarks/bench_run.py country benchmarks/results/country/project.toml \
		--engine dask --workers 2
	$(PY) benchmarks/bench_run.py report > benchmarks/results/run.md
	$(PY) benchmarks/assemble.py --write BENCHMARKS.md

clean:
	rm -rf out .pytest_cache
