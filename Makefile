# Eventwall: `make run` to see it, `make test` to check it. Needs Python 3.11+ and npm.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := static/vendor
# Test processes (pytest-xdist), each with its own Valkey; `make test TEST_WORKERS=0` runs in one.
# Two per core: the tests spend half their time waiting on servers, browsers and sockets.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(2 * (os.cpu_count() or 1))')

.PHONY: run test check bench assets clean

# The embedded Redis, the worker and one web process per core (WEB_WORKERS) on one port.
run: $(VENV)/.installed assets
	$(BIN)/eventwall run

test: $(VENV)/.dev-installed assets
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

check: $(VENV)/.dev-installed
	$(BIN)/ruff check server wall usecases ingest tests bench
	$(BIN)/ruff format --check server wall usecases ingest tests bench
	$(BIN)/mypy

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Eventwall needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

# The short fan-out benchmark (a minute or two); it reports targets, it never fails on them.
# The full run: $(BIN)/python -m bench.fanout --clients 1000 --rate 10 --duration 30
# Then the scale benchmark at 1k and 10k posts (the full one: python -m bench.scale).
bench: $(VENV)/.bench-installed assets
	$(BIN)/python -m bench.fanout --short $(BENCH_ARGS)
	$(BIN)/python -m bench.scale --short --no-write

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# htmx, its websocket extension and the emoji font come pinned from the npm registry;
# nothing vendored in git.
EMOJI := node_modules/@fontsource/noto-emoji
assets: $(VENDOR)/htmx.min.js $(VENDOR)/ws.js $(VENDOR)/emoji.css

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(VENDOR)/htmx.min.js: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $@

$(VENDOR)/ws.js: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx-ext-ws/dist/ws.min.js $@ 2>/dev/null || cp node_modules/htmx-ext-ws/ws.js $@

# Noto Emoji, served from 'self' (the CSP's font-src) as "Eventwall Emoji", the last resort
# after a screen's own colour emoji font, so emoji show on a machine without one. Outlines,
# not colour layers: they draw in every browser. Only the woff2 subsets of the regular
# weight; the browser fetches the few a page needs.
$(VENDOR)/emoji.css: node_modules/.package-lock.json
	mkdir -p $(VENDOR)/fonts
	cp $(EMOJI)/files/*-400-normal.woff2 $(VENDOR)/fonts/
	sed -e "s#, url(./files/[^)]*\.woff) format('woff')##" -e 's#url(./files/#url(fonts/#' \
		-e "s#font-family: 'Noto Emoji'#font-family: 'Eventwall Emoji'#" $(EMOJI)/index.css > $@

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache
