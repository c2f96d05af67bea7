# `make demo` and `make test` each build their own virtual environment from scratch on a
# machine with only Python 3.11, then run. Pins live in constraints.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
DEMO_VENV := .venv-demo
TEST_VENV := .venv
PIP_FLAGS := -q --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint format clean system-deps

$(DEMO_VENV)/.installed: pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/pip install $(PIP_FLAGS) -e .
	touch $@

# torch first and alone: an unpinned torch would pull a multi-GB CUDA build.
$(TEST_VENV)/.installed: pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install $(PIP_FLAGS) torch==2.13.0
	$(TEST_VENV)/bin/pip install $(PIP_FLAGS) -e ".[dev,transformer]"
	touch $@

# The main job on the shipped examples with the shipped codebook and model: pre-code into a
# project, show its status, then the presence/priority matrix (from suggestions, marked
# unconfirmed) in the terminal and as an HTML report.
DEMO_OUT := out
demo: $(DEMO_VENV)/.installed
	mkdir -p $(DEMO_OUT)
	$(DEMO_VENV)/bin/autocoder code examples --project $(DEMO_OUT)/demo.db
	$(DEMO_VENV)/bin/autocoder status --project $(DEMO_OUT)/demo.db
	$(DEMO_VENV)/bin/autocoder matrix --project $(DEMO_OUT)/demo.db --by respondent --include-suggestions
	$(DEMO_VENV)/bin/autocoder matrix --project $(DEMO_OUT)/demo.db --by respondent --include-suggestions --format html --out $(DEMO_OUT)/demo-matrix.html
	@echo "HTML report: $(DEMO_OUT)/demo-matrix.html; review in the browser: $(DEMO_VENV)/bin/autocoder review --project $(DEMO_OUT)/demo.db --coder YOURNAME"

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
