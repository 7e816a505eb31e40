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
	$(PY) benchmarks/bench_opportunity.py --scale 1.0 --sizes 100 25 --write BENCHMARKS.md

clean:
	rm -rf out .pytest_cache
