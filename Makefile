# The two things a newcomer runs. Both make (once) a virtualenv in .venv with dualpath and
# its test dependencies installed, so nothing has to be set up by hand first.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out
JOBS ?= 2

.PHONY: parity test lint clean

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# the main job: every scenario on both paths, on the embedded default (SQLite files and
# in-process messaging), writing the run file and every report into $(OUT)/
parity: $(BIN)/.installed
	$(BIN)/dualpath run -j $(JOBS) --json $(OUT)/run.json --html $(OUT)/report.html \
		--junit $(OUT)/junit.xml --markdown $(OUT)/summary.md

# the tests: engine tests on both paths, migrations on SQLite/PostgreSQL/MariaDB (skipped
# with the reason where a server does not answer), harness, reports
test: $(BIN)/.installed
	$(BIN)/pytest -n $(JOBS) --engine-mode=both -rs --durations=15

lint: $(BIN)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(OUT) state .tox .coverage htmlcov
