# Minsheng: `make run` starts everything on the embedded defaults; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10: the first candidate that really runs as 3.10 (a pyenv shim for a
# version that is not selected exists on PATH but fails, so each one is tried).
ifeq ($(origin PYTHON310), undefined)
PYTHON310 := $(shell for p in python3.10 $$(ls -d $$HOME/.pyenv/versions/3.10*/bin/python 2>/dev/null | sort -rV) \
	/usr/local/bin/python3.10 /usr/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
endif
VENV := .venv
BIN := $(VENV)/bin
MODEL := bot/models/minsheng.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(shell find bot/data bot/nlu bot/classifier -type f \( -name '*.yml' -o -name '*.py' \) 2>/dev/null)
VENDOR := bot/web/static/vendor/socket.io.min.js
CHARTS := bot/web/static/vendor/chart.umd.min.js

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore
# endpoints.yml names it; empty unless set (the processes then read var/actions-secret).
export MINSHENG_ACTIONS_SECRET ?=

.PHONY: help setup model run run-replicas haproxy test lint validate test-stories pytest shell browser benchmark benchmark-console benchmark-console-load benchmark-delivery benchmark-scale benchmark-wechat benchmark-chat clean

help:
	@echo "make run   - set up, train if needed, start Rasa (5005), actions (5055) and the web app (8000)"
	@echo "make test  - set up, train if needed, lint, validate data, run conversation tests and pytest"
	@echo "make lint  - ruff (lint and format check) and mypy"

setup: $(VENV)/.installed $(VENDOR) $(CHARTS)

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 was not found (python3.10 on PATH or pyenv 3.10.x)"; exit 1; }
	$(PYTHON310) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==24.0" "setuptools==70.3.0" "wheel==0.45.1"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p $(dir $@)
	cp node_modules/socket.io-client/dist/socket.io.min.js $@

# Chart.js draws the console's charts (installed by the npm ci above).
$(CHARTS): $(VENDOR) package-lock.json
	cp node_modules/chart.js/dist/chart.umd.min.js $@

model: $(MODEL)

$(MODEL): $(VENV)/.installed $(TRAINING_INPUTS)
	$(BIN)/rasa train --data bot/data --config config.yml --domain domain.yml \
		--out bot/models --fixed-model-name minsheng
	@touch $@

run: setup model
	$(BIN)/minsheng run

# ruff (lint and format) and mypy, configured in pyproject.toml.
lint: setup
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/ruff format --check bot tests benchmarks
	$(BIN)/mypy

validate: setup
	$(BIN)/python -m bot.tools.validate_data

# --e2e makes Rasa check the intent and entities of every user line too; a test-story file must be
# named test_*.yml or Rasa skips it silently, hence the count check. Rasa runs with the product's
# patches (bot/rasa_patches.py), as the product's Rasa server does.
test-stories: setup model
	@mkdir -p results
	set -o pipefail; $(BIN)/python -m bot.tools.rasa_with_patches test core --stories tests/test_stories --model $(MODEL) --out results/core \
		--e2e --fail-on-prediction-errors --no-plot 2>&1 | tee results/test-stories.log
	@grep -Eq "Evaluating [1-9][0-9]* stories" results/test-stories.log || { echo "no test story was evaluated"; exit 1; }

pytest: setup model browser haproxy
	$(BIN)/python -m pytest -q

test: lint validate test-stories pytest

clean:
	rm -rf $(VENV) node_modules results bot/models/*.tar.gz $(VENDOR) $(CHARTS)

shell: setup model
	MINSHENG_ACTIONS_SECRET="$${MINSHENG_ACTIONS_SECRET:-$$(cat $${MINSHENG_VAR_DIR:-var}/actions-secret 2>/dev/null)}" \
		$(BIN)/rasa shell --model $(MODEL) --endpoints endpoints.yml --port 5006

# Browser tests drive Debian's chromium; CJK fonts so that screenshots show the Chinese text.
browser:
	@{ command -v chromium && fc-list :lang=zh | grep -q . ; } >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# Debian's HAProxy, in front of several Rasa processes (MINSHENG_RASA_REPLICAS, bot/balancer.py).
haproxy:
	@command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }

# `make run` with REPLICAS Rasa processes and action servers behind HAProxy; they share the store and
# the conversations in PostgreSQL (database PGDATABASE, created if missing) and their locks in Redis.
REPLICAS ?= 2
PGDATABASE ?= minsheng
run-replicas: setup model haproxy
	@psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$(PGDATABASE)'" | grep -q 1 || \
		psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE "$(PGDATABASE)"'
	MINSHENG_RASA_REPLICAS=$(REPLICAS) \
	MINSHENG_DATABASE_URL="$${MINSHENG_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/$(PGDATABASE)}" \
	MINSHENG_TRACKER_URL="$${MINSHENG_TRACKER_URL:-postgresql://postgres@127.0.0.1:5432/$(PGDATABASE)}" \
	MINSHENG_LOCK_STORE_URL="$${MINSHENG_LOCK_STORE_URL:-redis://127.0.0.1:6379/0}" \
		$(BIN)/minsheng run

benchmark: setup model
	$(BIN)/python -m benchmarks.classification --train-time $(if $(PUBLIC),--public $(PUBLIC))
	$(BIN)/python -m benchmarks.duplicates
	$(BIN)/python -m benchmarks.knowledge

benchmark-console: setup
	$(BIN)/python -m benchmarks.console

# 50 staff on the 100,000-ticket store while residents chat with the same stack.
benchmark-console-load: setup model
	$(BIN)/python -m benchmarks.console_load $(ARGS)

benchmark-wechat: setup model
	$(BIN)/python -m benchmarks.wechat

benchmark-scale: setup model haproxy
	$(BIN)/python -m benchmarks.scale

benchmark-delivery: setup model
	$(BIN)/python -m benchmarks.delivery

# One Rasa process of the product against a stock `rasa init` bot, same load, same run
# (ARGS="--seconds 30 --levels 1,20 --messages 10000" to change it).
benchmark-chat: setup model
	$(BIN)/python -m benchmarks.chat $(ARGS)
