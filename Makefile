# AIM developer commands. On a fresh clone you need only Python 3.11+, Node (npm) and make:
#   make demo    run the local demo (creates .venv first)
#   make test    unit, integration and infrastructure tests (creates .venv, builds assets)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.package-lock.json
CODE_DIR := .build/code
LAYER_DIR := .build/layer
LAYER_STAMP := .build/layer.stamp
LAYER_REQUIREMENTS := .build/layer-requirements.txt
CONFIG ?= config/default.json
CDK := npx --no-install cdk
PYTEST_WORKERS ?= 2
# runs per scenario family in `make evaluate`
PER_FAMILY ?= 2

# jsii warns on every start that Node 20 is end-of-life; synth still works.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20
export CDK_DISABLE_VERSION_CHECK := true


.PHONY: checkov-venv
.PHONY: help venv build code layer synth deploy diff test test-infra lint demo evaluate evaluate-mixed evaluate-stark evaluate-independent ceiling bench replay-example clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# --- environments ---------------------------------------------------------------------
$(VENV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV_STAMP) ## create .venv and install the project with dev extras

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# --- Lambda assets (Docker-free) ------------------------------------------------------
build: code layer ## build the Lambda code asset and dependency layer under .build/

# The board pages' static assets (GOV.UK and MoJ Frontend, pinned in package.json) go into
# shared/aim/web/static, so they ship with the staff function's code.
.PHONY: assets browser serve screenshots bench-staff
assets: $(VENV_STAMP) $(NODE_STAMP) ## build the board pages' static assets into shared/aim/web/static
	$(BIN)/python -m aim_local.assets

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
browser: ## install Debian's chromium for the browser tests (needs root; apt-get)
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "The browser tests need Chromium: run 'sudo apt-get install -y chromium'"; fi; }

screenshots: $(VENV_STAMP) assets browser ## the board's screenshots in docs/images, made by the browser test
	AIM_SCREENSHOTS=docs/images $(BIN)/python -m pytest -q tests/e2e/test_board_browser.py

bench-staff: $(VENV_STAMP) ## staff API server time: board of 1,500 prisoners and prisoner page, p50/p95
	$(BIN)/python -m aim_lab.bench_staff

serve: $(VENV_STAMP) assets ## the board and staff API on http://127.0.0.1:8080 over the local demo
	$(BIN)/aim serve

# The asset is the runtime package and the handlers, nothing else (tests/infra/test_infra_asset.py).
code: assets ## copy functions/ and shared/aim into .build/code (always fresh)
	rm -rf $(CODE_DIR)
	mkdir -p $(CODE_DIR)
	cp -R functions $(CODE_DIR)/functions
	cp -R shared/aim $(CODE_DIR)/aim
	find $(CODE_DIR) -name __pycache__ -prune -exec rm -rf {} +

layer: $(LAYER_STAMP) ## install runtime dependencies for python3.13/x86_64 into .build/layer/python

# The requirements file is rewritten only when its content changes, so the layer is rebuilt
# only when the pinned runtime dependencies change, not on every pyproject.toml edit.
$(LAYER_REQUIREMENTS): pyproject.toml infra/layer_requirements.py | $(VENV_STAMP)
	mkdir -p $(dir $@)
	$(BIN)/python infra/layer_requirements.py > $@.new
	if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

$(LAYER_STAMP): $(LAYER_REQUIREMENTS)
	rm -rf $(LAYER_DIR)
	mkdir -p $(LAYER_DIR)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
		--only-binary=:all: --python-version 3.13 --implementation cp \
		--target $(LAYER_DIR)/python -r $(LAYER_REQUIREMENTS)
	find $(LAYER_DIR) -name __pycache__ -prune -exec rm -rf {} +
	touch $@

# --- CDK ------------------------------------------------------------------------------
synth: $(VENV_STAMP) $(NODE_STAMP) build ## cdk synth (CONFIG=path to choose the config file)
	$(CDK) synth --quiet -c config=$(CONFIG)

diff: $(VENV_STAMP) $(NODE_STAMP) build ## cdk diff against the deployed stack
	$(CDK) diff -c config=$(CONFIG)

deploy: $(VENV_STAMP) $(NODE_STAMP) build ## cdk deploy (CONFIG=path, DEPLOY_ARGS=extra cdk flags)
	$(CDK) deploy -c config=$(CONFIG) $(DEPLOY_ARGS)

# --- checks ---------------------------------------------------------------------------
CHECKOV_STAMP := .venv-checkov/.installed
$(CHECKOV_STAMP):
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet checkov==3.3.30
	touch $@

checkov-venv: $(CHECKOV_STAMP) ## checkov in its own venv (it pins an older boto3 than the project)

test: $(VENV_STAMP) build browser $(CHECKOV_STAMP) ## all tests except -m slow, 2 workers
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not slow" tests

test-infra: $(VENV_STAMP) build ## only the CDK assertion and cdk-nag tests
	$(BIN)/python -m pytest tests/infra

MAX_FUNCTION_LINES := 60

lint: $(VENV_STAMP) ## ruff check, ruff format --check, mypy (runtime, functions, infra), function-size gate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --explicit-package-bases infra tests/infra
	$(BIN)/flake8 --select=CFQ001 --max-function-length=$(MAX_FUNCTION_LINES) shared/aim functions

# --- the product, locally -------------------------------------------------------------
demo: $(VENV_STAMP) ## run the local demo
	$(BIN)/aim demo

evaluate: $(VENV_STAMP) ## one evaluation across every scenario family, one config, 2 processes (out/evaluate/families.json)
	$(BIN)/aim evaluate --families mixed,stark,independent,quiet,noisy --per-family $(PER_FAMILY) --jobs 2

evaluate-mixed: $(VENV_STAMP) ## detection on 3 simulated establishments, mixed collapses (out/evaluate.json)
	$(BIN)/aim evaluate

evaluate-stark: $(VENV_STAMP) ## the same, every collapse abrupt, total and on every factor
	$(BIN)/aim evaluate --collapses stark --report out/stark/evaluate-report.html

evaluate-independent: $(VENV_STAMP) ## detection on 3 scenarios written apart from the model (aim_lab.scenario_writer)
	for s in 1 2 3; do $(BIN)/python -m aim_lab.scenario_writer --seed $$s --out out/independent/s$$s > /dev/null; done
	$(BIN)/aim evaluate --scenario out/independent/s1 --scenario out/independent/s2 --scenario out/independent/s3 \
		--report out/independent/evaluate-report.html

evaluate-references: $(VENV_STAMP) ## the two plain reference rules alone on every scenario family (no AWS; about 2 min)
	for f in independent quiet noisy; do for s in 1 2; do \
		$(BIN)/python -m aim_lab.scenario_writer --family $$f --seed $$s --out out/families/$$f-s$$s > /dev/null; done; \
		$(BIN)/python -m aim_lab.reference_compare --scenario out/families/$$f-s1 --scenario out/families/$$f-s2 \
			--json out/families/$$f-rules.json; done
	for c in mixed stark; do $(BIN)/python -m aim_lab.reference_compare --seeds 1,2 --prisoners 240 --days 63 \
		--collapses $$c --json out/families/$$c-rules.json; done

ceiling: $(VENV_STAMP) ## how far a classifier trained on ground truth gets (about 50 min; installs .[study])
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[study]'
	$(BIN)/aim ceiling

bench: $(VENV_STAMP) ## scale benchmark
	$(BIN)/aim bench

replay-example: $(VENV_STAMP) ## replay the contract examples (events/contract-examples), alerts to out/alerts.jsonl
	$(BIN)/aim replay events/contract-examples --alerts-out out/alerts.jsonl

clean: ## remove build outputs and caches (keeps .venv and node_modules)
	rm -rf .build cdk.out out .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./.venv -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## also remove .venv and node_modules
	rm -rf $(VENV) node_modules
