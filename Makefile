PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock
JS := tests/conformance/js

.PHONY: run test lint fmt bench soak lock clean

run: $(VENV)/.installed-run ## Serve the whole product on http://127.0.0.1:8000 (embedded default)
	@command -v ffmpeg >/dev/null || { echo "Installing Debian's ffmpeg (the CDN's gif2video runs it)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; } \
		|| echo "ffmpeg could not be installed: gif2video URLs will answer 503 until it is."
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py serve

# The suite runs in two processes (pytest-xdist), each with its own test database, Celery queue and
# block of ports (bench.harness.free_port): 6.6 instead of 11 minutes here. PYTEST_WORKERS=1 runs
# plain pytest in one process.
PYTEST_WORKERS ?= 2

test: lint $(JS)/node_modules/.installed ## Lint, then run the whole suite against PostgreSQL, Redis and Chromium
	bash tests/services.sh
	$(BIN)/python -m pytest $(if $(filter-out 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS)) $(PYTEST_ARGS)

lint: $(VENV)/.installed-test ## ruff (lint and format check) and the import contracts in pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: $(VENV)/.installed-test ## Apply ruff's format and its safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Each script runs at a default size that keeps the whole set under ten minutes on 2 cores;
# run one directly with a larger size argument (see its --help) for the bigger figures.
BENCHES := files_page name_search upload_multipart tus small_uploads cdn_serve expiry webhook_fanout rest_iterate transforms scans conversions

bench: $(VENV)/.installed-bench ## Measure against baselines in the same run (figures, not assertions)
	bash tests/services.sh
	bash bench/services.sh
	@for name in $(BENCHES); do $(BIN)/python bench/$$name.py || exit 1; done

soak: $(VENV)/.installed-test ## Ten minutes of mixed traffic against gunicorn and two workers
	bash tests/services.sh
	$(BIN)/python tests/soak.py $(SOAK_ARGS)

# Mutation testing: mutmut over MODULES, each against the tests that exercise it (tests/mutate.py
# names them; `module=tests/a.py,tests/b.py` gives them by hand). Prints the score per module.
MODULES ?= core/urltokens.py projects/access.py core/fields.py accounts/adapter.py accounts/services.py \
	projects/services.py projects/webhooks/services.py billing/services.py files/services.py

.PHONY: mutate
mutate: $(VENV)/.installed-test ## Mutation score per module (MODULES=...), survivors listed for `mutmut show`
	bash tests/services.sh
	$(BIN)/python tests/mutate.py $(MODULES)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml requirements.lock | $(BIN)/python
	$(PIP) . 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import django, allauth, celery"
	@touch $@

$(VENV)/.installed-test: pyproject.toml requirements.lock | $(BIN)/python
	$(PIP) ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import django, allauth, celery, pytest_django, playwright, pyuploadcare"
	@touch $@ $(VENV)/.installed-run

# The official JavaScript clients the conformance tests drive, at the versions package-lock.json pins.
$(JS)/node_modules/.installed: $(JS)/package.json $(JS)/package-lock.json
	npm ci --prefix $(JS) --no-audit --no-fund
	@touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(PIP) ".[test,bench]" 2>&1 | grep -v "^WARNING: Location" || true
	@touch $@

lock: ## Re-pin the whole dependency tree after changing pyproject.toml
	$(BIN)/pip freeze --exclude-editable | grep -v "^filedock" > requirements.lock

clean:
	rm -rf $(VENV) var build *.egg-info $(JS)/node_modules bench/.venv-thumbor
