# Two commands do everything: `make demo` and `make test`. Both install first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned, so pip takes the CPU wheel instead of resolving a CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[postgres,mysql,spark,dp,dev]"
	touch $(STAMP)

# PYTEST_ARGS narrows a run (make test PYTEST_ARGS="tests/io -x"); CI runs it bare. A test skipped for a
# missing system part (PostgreSQL, Chromium, Java, MariaDB, ../shared) ends the run with its install command;
# under SYNTHOHIVE_REQUIRE_SYSTEM=1 (set by .ci/run) it fails instead (tests/helpers/system.py).
# Two worker processes (pytest-xdist; a module's tests stay on one worker, so its fixtures are built once):
# the suite takes ~10 min on 2 cores instead of ~18 in one process. PYTEST_WORKERS=0 runs in this process.
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

demo: install
	$(BIN)/python -m synthohive_dbt demo

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
