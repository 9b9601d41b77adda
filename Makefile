# ansinh — the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export ANSINH_HOST ?= $(HOST)
export ANSINH_PORT ?= $(PORT)

BABEL_KEYWORDS := -k N_ -k lazy_gettext -k DomainError -k ValidationFailed:2 -k NotFound -k Conflict \
	-k PermissionDenied -k AuthError -k NotAuthenticated

.PHONY: run test test-future install install-test bench lock messages clean

$(VENV)/.installed: pyproject.toml requirements/main.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/main.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/test.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Start the system: install, migrate, load the demo into an empty database, serve on HOST:PORT.
run: install
	$(VENV)/bin/ansinh db upgrade
	$(VENV)/bin/ansinh demo load --if-empty
	$(VENV)/bin/ansinh serve

## Run the whole test suite (SQLite, plus PostgreSQL when it answers; required under CI=true), on every core.
## Bytecode is written (the machine may set PYTHONDONTWRITEBYTECODE): the suite starts some hundred Python processes
## (test workers, servers, CLI commands), and each would otherwise compile every module of ansinh again.
test: install-test
	env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/pytest -n auto --dist worksteal

## The whole suite with the application's clock ten years ahead: no test may depend on the day it runs.
test-future: install-test
	env -u PYTHONDONTWRITEBYTECODE ANSINH_CLOCK_OFFSET_DAYS=3650 $(VENV)/bin/pytest -n auto --dist worksteal

## Benchmarks (bench/), with their peers installed in their own environments; figures go to BENCHMARKS.md.
bench: install-test bench/.venv-openfisca/.installed
	command -v wrk >/dev/null || apt-get install -y wrk  # the HTTP load generator of the cards benchmark
	$(PY) -m bench

bench/.venv-openfisca/.installed:
	$(PYTHON) -m venv bench/.venv-openfisca
	bench/.venv-openfisca/bin/pip install --quiet --disable-pip-version-check openfisca-core==46.0.1 polars==2.1.0
	touch $@

## Re-resolve the pinned dependencies after editing pyproject.toml.
lock: install
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml -o requirements/main.txt --python-version 3.11 -q
	$(VENV)/bin/uv pip compile pyproject.toml --extra test -o requirements/test.txt --python-version 3.11 -q

## Extract translatable text and merge it into the catalogues (then translate the new entries).
messages: install
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output $(BABEL_KEYWORDS) -o src/ansinh/locale/messages.pot . 
	for lang in vi en; do \
	  if [ -f src/ansinh/locale/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -i src/ansinh/locale/messages.pot -d src/ansinh/locale -l $$lang; \
	  else $(VENV)/bin/pybabel init -i src/ansinh/locale/messages.pot -d src/ansinh/locale -l $$lang; fi; \
	done

clean:
	rm -rf $(VENV) .pytest_cache
