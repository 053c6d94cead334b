"""Every rule of the API for names and descriptions, table-driven: the request model names the field and
the rule, and the emulator answers the real API's code for the same input."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from pydantic import ValidationError

from dds_backup_dev.emulator import EmulatorServer
from lib import rules
from lib.models import BackupRequest
from tests.conftest import ORDERS

NAMES = [
    # (name, valid, fragment of the message)
    ("abcd", True, ""),
    ("a" * 64, True, ""),
    ("Backup_2026-11-27", True, ""),
    ("Z-_9", True, ""),
    ("abc", False, "4-64 characters"),
    ("a" * 65, False, "4-64 characters"),
    ("", False, "4-64 characters"),
    ("1abc", False, "start with a letter"),
    ("-abc", False, "start with a letter"),
    ("_abc", False, "start with a letter"),
    ("ab cd", False, "only letters, digits"),
    ("ab.cd", False, "only letters, digits"),
    ("abcé", False, "only letters, digits"),
    ("éabc", False, "start with a letter"),
    ("ab/cd", False, "only letters, digits"),
]

DESCRIPTIONS = [
    ("", True, ""),
    ("x" * 256, True, ""),
    ("nightly backup, before deploy #42 (ok?)", True, ""),
    ("multi\nline is allowed", True, ""),
    ("x" * 257, False, "at most 256"),
    *[(f"bad {c} char", False, "must not contain") for c in ">!<\"&'="],
    ("carriage\rreturn", False, "carriage return"),
]


@pytest.mark.parametrize(("name", "valid", "fragment"), NAMES)
def test_name_rule_in_the_request_model(name: str, valid: bool, fragment: str) -> None:
    if valid:
        assert BackupRequest(instance_id=ORDERS, name=name).name == name
        return
    with pytest.raises(ValidationError) as caught:
        BackupRequest(instance_id=ORDERS, name=name)
    (err,) = caught.value.errors()
    assert err["loc"] == ("name",)
    assert fragment in err["msg"]


# A request's description leaves room for the tool's mark (lib/planning/ownership.py): the API's 256 less 38.
REQUEST_DESCRIPTIONS = [(d, valid, f) for d, valid, f in DESCRIPTIONS if len(d) <= 218 or not valid] + [
    ("x" * 218, True, ""),
    ("x" * 219, False, "must be at most 218 characters long (got 219): dds-backup ends every description with its"),
    ("x" * 256, False, "at most 218"),
]


@pytest.mark.parametrize(("description", "valid", "fragment"), REQUEST_DESCRIPTIONS)
def test_description_rule_in_the_request_model(description: str, valid: bool, fragment: str) -> None:
    if valid:
        assert BackupRequest(instance_id=ORDERS, description=description).description == description
        return
    with pytest.raises(ValidationError) as caught:
        BackupRequest(instance_id=ORDERS, description=description)
    (err,) = caught.value.errors()
    assert err["loc"] == ("description",)
    assert fragment in err["msg"]


def _create(emulator: EmulatorServer, backup: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    token, _ = emulator.state.issue_token()
    req = urllib.request.Request(
        f"{emulator.endpoint}/v3/{emulator.state.project_id}/backups",
        data=json.dumps({"backup": backup}).encode(),
        headers={"Content-Type": "application/json", "X-Auth-Token": token},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize(("name", "valid", "fragment"), NAMES)
def test_emulator_applies_the_same_name_rule(emulator: EmulatorServer, name: str, valid: bool, fragment: str) -> None:
    status, body = _create(emulator, {"instance_id": ORDERS, "name": name})
    if valid:
        assert status == 200 and set(body) == {"job_id", "backup_id"}
    else:
        assert (status, body["error_code"]) == (400, "DBS.280277")


@pytest.mark.parametrize(("description", "valid", "fragment"), DESCRIPTIONS)
def test_emulator_applies_the_same_description_rule(
    emulator: EmulatorServer, description: str, valid: bool, fragment: str
) -> None:
    status, body = _create(emulator, {"instance_id": ORDERS, "name": "desc-test", "description": description})
    if valid:
        assert status == 200
    else:
        assert (status, body["error_code"]) == (400, "DBS.280127")


# -- the rules' own words, each violation on its own ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problems"),
    [
        ("Nightly_backup-1", []),
        ("abc", ["must be 4-64 characters long (got 3)"]),
        ("1abcd", ["must start with a letter (A-Z or a-z)"]),
        (
            "éabcd",
            ["must start with a letter (A-Z or a-z)", "may contain only letters, digits, '-' and '_' (found 'é')"],
        ),
        ("ab.c d", ["may contain only letters, digits, '-' and '_' (found ' ', '.')"]),
        ("ab_c-d.e", ["may contain only letters, digits, '-' and '_' (found '.')"]),
        ("", ["must be 4-64 characters long (got 0)", "must start with a letter (A-Z or a-z)"]),
    ],
)
def test_each_name_violation_is_reported_in_its_own_words(name: str, problems: list[str]) -> None:
    assert rules.name_violations(name) == problems


@pytest.mark.parametrize(
    ("description", "problems"),
    [
        ("before deploy #42", []),
        ('a "quoted" <b> & more', ["must not contain any of >!<\"&'= (found '\"', '&', '<', '>')"]),
        ("line\r\n", ["must not contain a carriage return"]),
        ("=" * 257, ["must be at most 256 characters long (got 257)", "must not contain any of >!<\"&'= (found '=')"]),
    ],
)
def test_each_description_violation_is_reported_in_its_own_words(description: str, problems: list[str]) -> None:
    assert rules.description_violations(description) == problems
