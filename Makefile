# The two commands of the README: `make run` and `make test`. Each sets up what it needs the
# first time (virtual environments, the NLU model, the database) and reuses it afterwards.
VENV := .venv
RASA_VENV := .venv-rasa
LIAISON := $(VENV)/bin/liaison
PIP_QUIET ?= -q

.PHONY: run test test-clocks setup vendor browser model db lint bench bench-million clean

# `make run WORKERS=2`: several web processes (see the README, "Several web processes").
run: setup
	$(LIAISON) run $(if $(WORKERS),--workers $(WORKERS))

test: setup browser
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The same tests under libfaketime at a year end, a public holiday and a Saturday night, Beijing time
# (Debian's faketime package; scripts/test-clocks.sh says how, CLOCK_MOMENTS picks other moments).
test-clocks: setup browser
	PYTHON=$(VENV)/bin/python scripts/test-clocks.sh $(PYTEST_ARGS)

setup: $(VENV)/.installed $(RASA_VENV)/.installed vendor model db

# The console's htmx (and the like) from the npm registry, at the versions console/static/vendor.txt pins.
vendor: console/static/vendor/.installed
console/static/vendor/.installed: console/static/vendor.txt
	scripts/vendor.sh

# The console's browser tests drive Debian's Chromium (installed here when missing).
browser:
	@scripts/need-chromium.sh

$(VENV)/.installed: pyproject.toml
	@py=$$(scripts/find-python.sh bot) && echo "bot environment: $$py -> $(VENV)" && \
	  $$py -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) --upgrade pip
	$(VENV)/bin/pip install $(PIP_QUIET) -e '.[test]'
	@touch $@

$(RASA_VENV)/.installed: requirements-rasa.txt
	@py=$$(scripts/find-python.sh rasa) && echo "Rasa environment: $$py -> $(RASA_VENV) (about 2 minutes, 2.7 GB)" && \
	  $$py -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install $(PIP_QUIET) --upgrade pip 'setuptools<70' wheel
	$(RASA_VENV)/bin/pip install $(PIP_QUIET) -r requirements-rasa.txt
	@touch $@

# Trains only when the NLU data or pipeline changed (the model's name carries their hash).
model: $(VENV)/.installed $(RASA_VENV)/.installed
	$(LIAISON) nlu train

db: $(VENV)/.installed
	$(LIAISON) db upgrade

# ruff (rules and format) everywhere; mypy strict on the rules of the loop and the application layer.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy casework services

# `make bench` runs every benchmark; `make bench-million` the million cases alone (bench/README.md). CASES sets
# how many cases bench/seed writes into MILLION_DB (dropped and created): CASES=20000 for a quick run.
CASES ?= 1000000
MILLION_DB ?= postgresql+psycopg://postgres@127.0.0.1:5432/liaison_million

bench: setup bench-million
	$(VENV)/bin/python -m bench.roundtrip --workers 1,2
	$(VENV)/bin/python -m bench.wechat
	$(VENV)/bin/python -m bench.figures
	PYTHONPATH=. $(VENV)/bin/python -m bench.masking
	$(VENV)/bin/python -m bench.faults --setup both --quick
	$(VENV)/bin/python -m bench.pushrate --pushes 1200 --chats 200
	$(VENV)/bin/python -m bench.memory --minutes 2 --every 15

bench-million: $(VENV)/.installed
	PYTHONPATH=. $(VENV)/bin/python -m bench.seed --cases $(CASES) --database-url $(MILLION_DB)
	PYTHONPATH=. $(VENV)/bin/python -m bench.million --database-url $(MILLION_DB)
	PYTHONPATH=. $(VENV)/bin/python -m bench.deadlines --database-url $(MILLION_DB)

clean:
	rm -rf $(VENV) $(RASA_VENV) models var
