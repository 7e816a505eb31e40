# riskmap — `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: install demo test lint bench clean

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
	$(PY) benchmarks/assemble.py > BENCHMARKS.md

clean:
	rm -rf out .pytest_cache
