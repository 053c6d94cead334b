# The two commands of the README: `make demo` and `make test`. Each builds .venv from nothing when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The interpreter's X.Y is part of the stamp: another PYTHON means another (rebuilt) .venv.
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
STAMP := $(VENV)/.installed-$(PYVER)
WHEELS := $(VENV)/.wheelhouse-$(PYVER)

.PHONY: demo test lint typecheck unit mutate bench emulator package terraform lock clean python-check

python-check:
	@case "$(PYVER)" in \
	  3.10|3.11|3.12) ;; \
	  "") echo "make: $(PYTHON) not found; dds-backup needs Python 3.10, 3.11 or 3.12 (make PYTHON=python3.12 ...)" >&2; exit 1 ;; \
	  *) echo "make: $(PYTHON) is Python $(PYVER); dds-backup needs 3.10, 3.11 or 3.12 (make PYTHON=python3.12 ...)" >&2; exit 1 ;; \
	esac

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml | python-check
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
$(WHEELS): $(STAMP) requirements.lock
	$(BIN)/dds-backup wheels --python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
		--python 3.12 --dest $(VENV)/wheelhouse
	rm -f $(VENV)/.wheelhouse-*
	touch $(WHEELS)

demo: $(STAMP)
	$(BIN)/dds-backup invoke events/timer.json

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy .

unit: $(WHEELS)
	$(BIN)/pytest

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

bench: $(WHEELS)
	$(BIN)/python bench/vs_sdk.py
	$(BIN)/python bench/coldstart.py
	$(BIN)/python bench/ceiling.py
	$(BIN)/python bench/faults.py

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
