# `make demo` and `make test` each build their own virtual environment from scratch on a
# machine with only Python 3.11, then run. Pins live in constraints.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
DEMO_VENV := .venv-demo
TEST_VENV := .venv
PIP_FLAGS := -q --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint format clean system-deps

$(DEMO_VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/pip install $(PIP_FLAGS) -e ".[review]"
	touch $@

# torch first and alone: an unpinned torch would pull a multi-GB CUDA build.
$(TEST_VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install $(PIP_FLAGS) torch==2.13.0
	$(TEST_VENV)/bin/pip install $(PIP_FLAGS) -e ".[dev,review,transformer]"
	touch $@

demo: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/autocoder demo examples

lint: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check .
	$(TEST_VENV)/bin/ruff format --check .

format: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check --fix .
	$(TEST_VENV)/bin/ruff format .

system-deps:
	bash scripts/install_system_deps.sh

test: lint system-deps
	$(TEST_VENV)/bin/python -m pytest -q

clean:
	rm -rf $(DEMO_VENV) $(TEST_VENV) .pytest_cache .ruff_cache
