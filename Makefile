# The two commands of the README, plus the figures.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# setuptools announces every editable install with a boxed warning (about folders named
# like the package, which pyproject's package-dir mapping already handles); pip's
# --quiet lets it through, so it is filtered by its text and nothing else is hidden.
QUIET_SETUPTOOLS := ignore:Editable installation

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS='$(QUIET_SETUPTOOLS)' $(BIN)/python -m pip install --quiet -e '.[embedded,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/creditbrain demo $(ARGS)

# pytest spreads the tests over the cores (pytest-xdist; each worker has its own broker
# and store, a test file stays on one worker so its module fixtures are built once; files
# go out in tests/conftest.py's order, the longest first);
# mypy runs beside it, as most tests wait on brokers and child processes, and its
# report follows pytest's. TEST_WORKERS=0 runs the tests in this process alone.
TEST_WORKERS ?= auto

test: $(STAMP)
	tools/ensure-chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	tools/typecheck.sh > $(VENV)/typecheck.log 2>&1 & typecheck=$$!; \
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(ARGS); tests=$$?; \
	wait $$typecheck; types=$$?; cat $(VENV)/typecheck.log; \
	test $$tests -eq 0 && test $$types -eq 0

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .creditbrain .pytest_cache .ruff_cache .mypy_cache
