# Wegweiser: `make run` (start with demo data) and `make test` (every check). See README.md.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Development defaults for `make run`; a real deployment sets its own environment.
ALLOWED_HOSTS ?= $(HOST),localhost,127.0.0.1
RUN_ENV := DEBUG=1 SECRET_KEY_FILE=var/secret_key ALLOWED_HOSTS=$(ALLOWED_HOSTS) \
	STATIC_MANIFEST=0 SECURE_SSL_REDIRECT=0
LINT_ENV := SECRET_KEY=lint-only-secret-key-0123456789-abcdefghijklmnop ALLOWED_HOSTS=localhost \
	ATTACHMENT_KEY=bGludC1vbmx5LWF0dGFjaG1lbnQta2V5LTMyLWJ5dGU=

.PHONY: run test install install-dev lint typecheck pytest messages compilemessages bench clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

var/secret_key:
	@mkdir -p var
	@umask 077 && $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

run: $(VENV)/.installed var/secret_key
	$(RUN_ENV) $(PY) -m wegweiser migrate --noinput
	$(RUN_ENV) $(PY) -m wegweiser collectstatic --noinput --verbosity 0
	$(RUN_ENV) $(PY) -m wegweiser demo
	@echo "Wegweiser: http://$(HOST):$(PORT)/"
	$(RUN_ENV) HOST=$(HOST) PORT=$(PORT) $(PY) -m wegweiser serve

# Debian's chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests bench

typecheck: $(VENV)/.installed-dev
	$(LINT_ENV) $(VENV)/bin/mypy src

pytest: $(VENV)/.installed-dev chromium
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

messages: $(VENV)/.installed-dev
	cd src/wegweiser && $(LINT_ENV) ../../$(PY) -m django makemessages --settings=wegweiser.settings -l de -l sv -l en --no-obsolete --add-location file
	cd src/wegweiser && $(LINT_ENV) ../../$(PY) -m django makemessages --settings=wegweiser.settings -d djangojs -l de -l sv -l en --no-obsolete --add-location file

compilemessages: $(VENV)/.installed-dev
	cd src/wegweiser && $(LINT_ENV) ../../$(PY) -m django compilemessages --settings=wegweiser.settings

bench: $(VENV)/.installed-dev
	@for b in bench/*.py; do [ "$$b" = bench/benchsetup.py ] && continue; echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
