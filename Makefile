# SolarPrime AI SDR — every entry point of the project.
# `make shell` and `make test` set up whatever is missing on their own.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Local configuration (copy .env.example to .env); plain environment wins.
-include .env
export

VENV       ?= .venv
PY         := $(VENV)/bin/python
RASA       := $(PY) -m scripts.rasa  # the Rasa CLI without the libraries' deprecation walls
MODEL      := models/current.tar.gz
VENV_STAMP := $(VENV)/.installed
SYS_STAMP  := .cache/system-deps.ok

# Defaults of the contract's variables (see .env.example).
EVOLUTION_URL      ?= http://localhost:8080
EVOLUTION_INSTANCE ?= solarprime
REDIS_HOST         ?= localhost
REDIS_PORT         ?= 6379
REDIS_DB           ?= 0
REDIS_PASSWORD     ?=
REDIS_KEY_PREFIX   ?= aisdr
ACTION_SERVER_URL  ?= http://localhost:5055/webhook
ACTION_PORT        ?= 5055
RASA_PORT          ?= 5005
FOLLOWUP_DELAYS    ?= 30m,24h,72h
BUSINESS_HOURS     ?= 09:00-20:00
TZ_NAME            ?= America/Sao_Paulo
LOG_LEVEL          ?= INFO

# What a model is trained from: a change to any of these retrains it.
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) \
                   $(wildcard components/*.py)

.PHONY: help setup venv system-deps train shell test test-unit lint run bench review lock clean deploy

help:
	@echo "make shell   talk to the assistant in the terminal (sets everything up)"
	@echo "make test    run every test (sets everything up)"
	@echo "make lint    ruff and mypy alone (make test runs them too)"
	@echo "make run     production stack: Rasa server + HTTP API + action server, Redis stores"
	@echo "make train   retrain the model if data, domain or config changed"
	@echo "make bench   benchmarks; tables on screen, JSON in bench/results/"
	@echo "make deploy  Docker Compose deploy: backup, test, build, switch, check, roll back on failure"
	@echo "make setup   the set-up step alone"

setup: venv system-deps $(MODEL)

venv: $(VENV_STAMP)

$(VENV_STAMP): requirements.txt constraints.txt
	@echo "==> Python environment ($(VENV))"
	@test -x $(PY) || "$$(bash scripts/find-python.sh)" -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.0"
	@$(PY) -m pip install --disable-pip-version-check --progress-bar on \
	    -r requirements.txt -c constraints.txt
	@touch $@

system-deps: $(SYS_STAMP)

$(SYS_STAMP): scripts/system-deps.sh
	@bash scripts/system-deps.sh
	@mkdir -p $(dir $@) && touch $@

train: venv $(MODEL)

$(MODEL): $(VENV_STAMP) $(TRAINING_INPUTS)
	@echo "==> Training the model (data, domain or config changed)"
	@$(RASA) train --fixed-model-name current --out models
	@touch $@

shell: setup
	@LOG_FORMAT=text bash scripts/shell.sh

test: setup
	@bash scripts/test.sh

test-unit: venv
	@$(PY) -m pytest tests/unit -q -p no:cacheprovider

lint: venv
	@bash scripts/check.sh

run: setup
	@LOG_FORMAT="$${LOG_FORMAT:-json}" bash scripts/run-stack.sh

# DEPLOY_ARGS: --dry-run, --scale, --pull, --skip-tests, --tag TAG (see scripts/deploy.sh).
deploy:
	@bash scripts/deploy.sh $(DEPLOY_ARGS)

bench: setup
	@$(PY) -m bench

review: venv
	@$(PY) -m review

# Re-resolve the lock after editing requirements.txt.
lock:
	@rm -rf .cache/lock-venv && "$$(bash scripts/find-python.sh)" -m venv .cache/lock-venv
	@.cache/lock-venv/bin/pip install --quiet "pip==24.0" && .cache/lock-venv/bin/pip install --quiet -r requirements.txt
	@{ head -2 constraints.txt; .cache/lock-venv/bin/pip freeze; } > constraints.txt.new && mv constraints.txt.new constraints.txt
	@echo "constraints.txt updated"

clean:
	rm -rf models results .cache .pytest_cache
