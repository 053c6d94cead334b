# The two commands of the README's quick start: `make demo` and `make test`. Each builds .venv from nothing when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The interpreter's X.Y is part of the stamp: another PYTHON means another (rebuilt) .venv.
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
STAMP := $(VENV)/.installed-$(PYVER)
WHEELS := $(VENV)/.wheelhouse-$(PYVER)

.PHONY: demo test test-fast lint typecheck unit browser mutate bench emulator package terraform lock clean python-check

python-check:
	@case "$(PYVER)" in \
	  3.10|3.11|3.12) ;; \
	  "") echo "make: $(PYTHON) not found; dds-backup needs Python 3.10, 3.11 or 3.12 (make PYTHON=python3.12 ...)" >&2; exit 1 ;; \
	  *) echo "make: $(PYTHON) is Python $(PYVER); dds-backup needs 3.10, 3.11 or 3.12 (make PYTHON=python3.12 ...)" >&2; exit 1 ;; \
	esac

$(STAMP): requirements.txt requirements-tool.txt requirements-dev.txt pyproject.toml | python-check
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PYVER)" ]; then \
	  echo "make: .venv was made with another Python; rebuilding it with $(PYTHON) ($(PYVER))"; rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e . > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	rm -f $(VENV)/.installed*
	touch $(STAMP)

# The locked wheels for the packaging tests and benchmarks (this Python and the template's Python3.12),
# fetched now so that the tests themselves never leave the machine. Apart from $(STAMP), so that `make lock`
# after editing requirements.txt does not first try to fetch what the old lock says.
# With setuptools (the build backend) and the tool's own dependencies, the README's `pip install .` runs offline
# from it in the tests too.
$(WHEELS): $(STAMP) requirements.lock requirements-tool.txt
	$(BIN)/dds-backup wheels --python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
		--python 3.12 --dest $(VENV)/wheelhouse
	$(BIN)/python -m pip download --quiet --only-binary=:all: --no-deps --dest $(VENV)/wheelhouse \
		"setuptools>=70.1" -r requirements-tool.txt
	rm -f $(VENV)/.wheelhouse-*
	touch $(WHEELS)

demo: $(STAMP)
	$(BIN)/dds-backup invoke events/timer.json

test: lint typecheck unit

# The edit-test loop (docs/testing.md): the tests that start no server and no process (models, planning, sources,
# parsing, signing), one after the other; a test that does start one fails here until it carries the mark.
test-fast: $(STAMP)
	DDS_BACKUP_TEST_TIER=fast $(BIN)/pytest -q -m "not servers"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy .

# On every core (pytest-xdist): each worker runs whole tests, the emulator of each on a port of its own; the tests
# of one xdist_group (the page tests' one browser) run on one worker.
unit: $(WHEELS) browser
	$(BIN)/pytest -n auto --dist loadgroup

# The browser the report's page tests drive (tests/test_report_page.py): Debian's Chromium, installed where it is
# missing (a test tool's own browser download does not work everywhere; the distribution's package does).
export CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$(CHROMIUM)" != /usr/bin/chromium ]; then echo "make: CHROMIUM=$(CHROMIUM) is not a program" >&2; exit 1; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "make: the page tests need Chromium at $(CHROMIUM): run 'sudo apt-get install chromium', or set CHROMIUM=/path/to/chromium" >&2; exit 1; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "make: the page tests need Chromium at $(CHROMIUM); install it with your package manager, or set CHROMIUM=/path/to/chromium" >&2; exit 1; fi; \
	echo "make: installing Debian's chromium for the page tests (once)"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null

# Mutation testing of the modules that protect users (docs/testing.md): too slow for every `make test`.
# Each run starts from nothing: a verdict kept from an earlier run could hide a test weakened since.
MUTATE_STAMP := $(VENV)/.mutmut-installed

$(MUTATE_STAMP): $(STAMP) requirements-mutate.txt
	$(BIN)/python -m pip install --quiet -r requirements-mutate.txt
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	rm -rf mutants
	$(BIN)/mutmut run
	$(BIN)/python -m dds_backup_dev.mutation

bench: $(WHEELS) browser
	$(BIN)/python bench/vs_sdk.py
	$(BIN)/python bench/coldstart.py
	$(BIN)/python bench/ceiling.py
	$(BIN)/python bench/faults.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/jsonsafe.py

package: $(STAMP)
	$(BIN)/dds-backup package

terraform: $(STAMP)
	$(BIN)/dds-backup render terraform --cloud otc
	$(BIN)/dds-backup render terraform --cloud huaweicloud

# requirements.lock from requirements.txt, for every target (CPython 3.10-3.12, x86_64 and aarch64). Pins that
# still satisfy the ranges stay; LOCK_ARGS=--upgrade moves all to the newest allowed, or
# LOCK_ARGS="--upgrade-package aiohttp" one of them.
lock: $(STAMP)
	$(BIN)/uv pip compile requirements.txt --universal --python-version 3.10 --generate-hashes \
		--custom-compile-command "make lock" --quiet $(LOCK_ARGS) -o requirements.lock

emulator: $(STAMP)
	$(BIN)/dds-backup emulator

# What make built, never what is yours: dist/terraform/<cloud>/ keeps terraform.tfvars, the Terraform state and
# .terraform, and dist/ any zip you kept under another name.
clean:
	rm -rf $(VENV) build mutants .pytest_cache .mypy_cache .ruff_cache
	rm -f dist/dds-backup.zip dist/dds-backup-layer.zip dist/terraform/*/main.tf.json dist/terraform/*/terraform.tfvars.example
