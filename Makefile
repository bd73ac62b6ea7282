# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test lint lint-imports bench redis clean-venv

$(VENV)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing ctir's Python packages into $(VENV) (the first time takes a few minutes)"
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -r requirements.txt \
		| grep --line-buffered -E '^(Collecting|Installing|Successfully)' || true
	@$(BIN)/python -c "import django, torch, transformers" && touch $@

# Local use: DEBUG on, SQLite unless DATABASE_URL says otherwise, demo data if empty.
run: export DEBUG ?= 1
run: $(VENV)/.installed redis
	$(BIN)/python manage.py migrate --noinput
	@# The demo if the database is empty, and suggestions from the first report: a fast
	@# (TF-IDF) model in seconds for each project without one; the full BERT job, started
	@# from the Models page, replaces it when validation says so.
	$(BIN)/python manage.py demo_ready
	@echo ""
	@echo "ctir is starting on http://127.0.0.1:$(PORT)/  (web + Celery worker; Ctrl-C stops both)"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) $(BIN)/honcho start

redis:
	@if $(BIN)/python -c "import redis,sys; redis.Redis.from_url('$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}').ping()" 2>/dev/null; then \
		echo "Redis is up."; \
	elif command -v redis-server >/dev/null; then \
		echo "Starting a local redis-server on 127.0.0.1:6379"; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
		sleep 1; \
	else \
		echo "No Redis answers and redis-server is not installed."; \
		echo "Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)"; \
		echo "or point CELERY_BROKER_URL at a running Redis."; exit 1; \
	fi

# The slow tests (MRMC simulations, the API fuzzing, whole-app browser walks) wait for
# `make test PYTEST_ARGS=`, which CI runs.
PYTEST_ARGS ?= -m "not slow"
test: export SECRET_KEY ?= ctir-test-only-key
# A Redis database of its own, so tests never hand jobs to a `make run` worker.
test: export CELERY_BROKER_URL ?= redis://127.0.0.1:6379/15
test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: lint-imports
	$(BIN)/ruff check .

# The import-linter contracts in pyproject.toml: app order and layers inside an app.
lint-imports: $(VENV)/.installed
	$(BIN)/lint-imports

# Benchmarks (minutes; PostgreSQL and Redis needed): figures go to docs/benchmarks.md.
bench: export SECRET_KEY ?= ctir-bench-only-key
bench: $(VENV)/.installed
	$(BIN)/python bench/import_100k.py
	$(BIN)/python bench/submit_next.py
	rm -rf var/bench-model
	$(BIN)/python bench/train_demo.py --out var/bench-model
	$(BIN)/python bench/prelabel.py var/bench-model
