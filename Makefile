# `make demo` and `make test` each build their own virtual environment from scratch on a
# machine with only Python 3.11, then run. Pins live in constraints.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
DEMO_VENV := .venv-demo
TEST_VENV := .venv
PIP_FLAGS := -q --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint format clean

$(DEMO_VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/pip install $(PIP_FLAGS) -e .
	touch $@

$(TEST_VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install $(PIP_FLAGS) -e ".[dev,review]"
	touch $@

demo: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/autocoder demo examples

lint: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check .
	$(TEST_VENV)/bin/ruff format --check .

format: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check --fix .
	$(TEST_VENV)/bin/ruff format .

test: lint
	$(TEST_VENV)/bin/python -m pytest -q

clean:
	rm -rf $(DEMO_VENV) $(TEST_VENV) .pytest_cache .ruff_cache
