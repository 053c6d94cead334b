"""The backup request: exactly one target, no unknown fields, readable errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from lib.models import BackupRequest, describe_field_errors, field_errors


def errors_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        BackupRequest.model_validate(data)
    return describe_field_errors(field_errors(caught.value))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "exactly one of instance_id, instance_ids, selector is required (got none)"),
        ({"instance_id": "a", "selector": {"name": "x"}}, "(got instance_id, selector)"),
        ({"instance_ids": []}, "instance_ids"),
        ({"instance_ids": ["a", "a"]}, "duplicates"),
        ({"instance_id": "a/../b"}, "instance_id: must be 1-64 characters"),
        ({"instance_id": "a", "nmae": "typo"}, "nmae: unknown field"),
        ({"instance_ids": ["a", "b"], "name": "abcd"}, "explicit name needs a single instance_id"),
        ({"selector": {}}, "needs at least one of name, tags, mode"),
        ({"selector": {"name": "*"}}, "use all: true"),
        ({"selector": {"all": True, "mode": "Single"}}, "cannot be combined"),
        ({"selector": {"mode": "Cluster"}}, "selector.mode"),
        ({"selector": {"tags": {"a=b": "c"}}}, "must not contain"),
        ({"instance_id": "a", "wait": "perhaps"}, "wait"),
        ({"instance_id": "a", "idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_invalid_requests_name_the_field_and_rule(data: dict[str, Any], fragment: str) -> None:
    assert fragment in errors_of(data)


def test_input_values_are_not_echoed_in_errors() -> None:
    assert "s3cr3t-looking-value" not in errors_of({"instance_id": "a", "token": "s3cr3t-looking-value"})


@pytest.mark.parametrize(
    "data",
    [
        {"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02"},
        {"instance_ids": ["a", "b"], "description": "x", "wait": True, "dry_run": True, "idempotency_key": "k"},
        {"selector": {"name": "*prod", "tags": {"env": "prod"}, "mode": "ReplicaSet"}},
        {"selector": {"all": True}},
        {"instance_id": "a", "name": "Nightly_1"},
    ],
)
def test_valid_requests(data: dict[str, Any]) -> None:
    assert BackupRequest.model_validate(data).model_dump(exclude_defaults=True) == data


def test_instance_ids_are_limited_with_a_message_that_says_what_to_do() -> None:
    ok = BackupRequest(instance_ids=[f"{i:032x}in02" for i in range(1000)])
    assert ok.instance_ids is not None and len(ok.instance_ids) == 1000
    with pytest.raises(ValidationError) as caught:
        BackupRequest(instance_ids=[f"{i:032x}in02" for i in range(1001)])
    assert "instance_ids holds 1001 ids; at most 1000 per request (use a selector" in str(caught.value)
