"""The README stays true: every error code the code can emit, every configuration variable, every outcome and
every CLI command is documented there."""

from __future__ import annotations

import argparse
import re

from dds_backup_dev.cli import build_parser
from lib.config import CONFIG_KEYS
from lib.models import Outcome
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
# Codes of our own: the first string argument of the calls that make an error, anywhere in lib/.
_MADE = re.compile(
    r"(?:rejected\(|code=|CloudError\(|TransportError\(|HttpError\(\d+, |error_response\(\d+, |JsonRejected\()"
    r"\s*\"([A-Z][A-Z_.]+)\""
)


def emitted_codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "lib").rglob("*.py"):
        codes.update(_MADE.findall(path.read_text()))
    codes.update(
        re.findall(
            r'"(JSON_TOO_DEEP|DUPLICATE_KEY|MESSAGE_TOO_LARGE|INVALID_JSON)"', (ROOT / "lib/jsonsafe.py").read_text()
        )
    )
    return codes


def test_every_error_code_of_ours_is_in_the_readme() -> None:
    codes = emitted_codes()
    assert {"INVALID_REQUEST", "UNAUTHENTICATED", "BODY_TOO_LARGE", "BACKUP_NOT_FOUND"} <= codes  # the scan works
    missing = sorted(c for c in codes if f"`{c}`" not in README)
    assert missing == []


def test_every_configuration_variable_is_in_the_readme() -> None:
    assert sorted(k for k in CONFIG_KEYS if k not in README) == []


def test_every_outcome_is_in_the_readme() -> None:
    assert sorted(o.value for o in Outcome if f"`{o.value}`" not in README) == []


def test_every_cli_command_is_in_the_readme() -> None:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert "invoke" in sub.choices
    assert sorted(c for c in sub.choices if f"dds-backup {c}" not in README) == []
