PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every installed version is pinned here; `make lock` refreshes it.
CONSTRAINTS := constraints.txt

.PHONY: demo test test-fast run bench bench-quick lint lock clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[test]'
	# the bot's bytecode, as pip writes it for a regular install (the editable one does not)
	$(BIN)/python -m compileall -q bot
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/newsbot ingest seeds
	$(BIN)/newsbot status
	@echo; echo '== /news topic topic:AI'
	$(BIN)/newsbot preview topic AI
	@echo; echo '== /news related (the CoinDesk seed)'
	$(BIN)/newsbot preview related https://www.coindesk.com/ai-startup-pilots-digital-masks-that-counter-facial-recognition
	@echo; echo '== the digest a new subscription would get now ([digest] defaults, but with'
	@echo '   max_age_days = 0: the seeds were published in 2020, older than the default 7 days)'
	$(BIN)/newsbot preview digest --max-age-days 0

# 4 workers on 2 cores: most of the suite's time is end-to-end tests waiting, not computing;
# loadgroup hands out one test at a time, so the long ones (marked `minutes`) start together.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 4 --dist loadgroup

# Everything but the end-to-end (bot subprocess) and hypothesis tests: about 80 s (113 s serial).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 4 --dist loadgroup -m "not e2e and not fuzz"

run: $(STAMP)
	$(BIN)/newsbot run

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The newest versions pyproject.toml allows, resolved in a throwaway venv, pinned in constraints.txt.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[test]'
	{ echo '# Pinned versions for `make`; regenerate with `make lock` after editing pyproject.toml.'; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable --exclude newsbot; } > $(CONSTRAINTS)
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis .mypy_cache .import_linter_cache .lock-venv
