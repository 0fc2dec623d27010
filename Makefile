# Yibao — make run (product on SQLite with demo data) / make test (whole suite)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test test-pg lint bench-generate clean

$(STAMP): pyproject.toml
	$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/yibao db upgrade
	$(BIN)/yibao demo seed --if-empty
	$(BIN)/yibao demo logins
	@echo "打开 / open http://127.0.0.1:8000  (Ctrl-C 停止 / to stop)"
	$(BIN)/yibao serve

test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-pg: setup
	YIBAO_TEST_DATABASE_URL=$${YIBAO_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	  $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not browser" tests/integration tests/e2e

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src/yibao
	$(BIN)/lint-imports

bench-generate: setup
	$(BIN)/yibao bench generate --cases 1000000

clean:
	rm -rf $(VENV) var .pytest_cache
