PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test run bench bench-quick lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/newsbot ingest seeds
	$(BIN)/newsbot status
	@echo; echo '== /news topic topic:AI'
	$(BIN)/newsbot preview topic AI
	@echo; echo '== /news related (the CoinDesk seed)'
	$(BIN)/newsbot preview related https://www.coindesk.com/ai-startup-pilots-digital-masks-that-counter-facial-recognition
	@echo; echo '== the digest a new subscription would get now ([digest] defaults)'
	$(BIN)/newsbot preview digest

test: $(STAMP)
	$(BIN)/python -m pytest -q

run: $(STAMP)
	$(BIN)/newsbot run

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
