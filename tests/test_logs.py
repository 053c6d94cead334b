"""JSON log lines: shape, context fields, and redaction of secrets."""

from __future__ import annotations

import io
import json
import re
import time

import pytest

from dds_backup_dev.emulator import EmulatorServer
from lib import logs
from lib.models import Trigger
from tests.conftest import ORDERS, ROOT, Invoke, load_json, log_lines

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_each_line_is_one_json_object_with_the_conventional_fields(
    configured: EmulatorServer, invoke: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    invoke(load_json(ROOT / "events/timer.json"), request_id="req-123")
    out, err = capfd.readouterr()
    assert out == ""  # logs never go to stdout
    lines = err.splitlines()
    records = [json.loads(line) for line in lines]  # every line parses on its own
    assert records
    for rec in records:
        assert RFC3339_UTC.match(rec["timestamp"])
        assert rec["level"] in ("INFO", "WARNING", "ERROR", "DEBUG")
        assert rec["logger"].startswith("dds_backup")
        assert rec["service.name"] == "dds-backup"
        assert rec["faas.invocation_id"] == "req-123"
        assert rec["faas.trigger"] == "timer"
        assert isinstance(rec["faas.coldstart"], bool)
    created = next(r for r in records if r["message"] == "backup created")
    assert created["correlation_id"] == "nightly-orders-backup@2026-11-27T01:00:00+01:00"
    results = [r for r in records if "cloudevent" in r]
    assert len(results) == 1  # every result event is one line
    assert results[0]["dds.instance_id"] == ORDERS
    assert results[0]["cloudevent"]["data"]["outcome"] == "created"
    assert results[0]["correlation_id"] == "nightly-orders-backup@2026-11-27T01:00:00+01:00"


def test_secrets_never_reach_the_log(
    configured: EmulatorServer, invoke: Invoke, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "whsec_bG9nLWxpbmVzLW11c3QtbmV2ZXItc2hvdy1pdA==")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    invoke({"instance_id": ORDERS})
    err = capfd.readouterr().err
    tokens = list(configured.state.tokens)
    assert tokens
    for secret in [configured.info()["password"], "whsec_bG9nLWxpbmVzLW11c3QtbmV2ZXItc2hvdy1pdA==", *tokens]:
        assert secret not in err


def test_redaction_masks_sensitive_fields_and_registered_values() -> None:
    stream = io.StringIO()
    log = logs.configure("INFO", stream=stream)
    logs.register_secrets(["super-secret-value"])
    log.info(
        "calling with super-secret-value inside",
        extra={
            "headers": {"X-Auth-Token": "MIIabc", "Authorization": "SDK-HMAC-SHA256 ...", "Accept": "json"},
            "sk": "x",
            "task": "kept",
        },
    )
    (rec,) = log_lines(stream.getvalue())
    assert rec["message"] == "calling with *** inside"
    assert rec["headers"] == {"X-Auth-Token": "***", "Authorization": "***", "Accept": "json"}
    assert rec["sk"] == "***"
    assert rec["task"] == "kept"


def test_configure_is_idempotent_across_warm_invocations() -> None:
    stream = io.StringIO()
    for _ in range(3):
        log = logs.configure("INFO", stream=stream)
    log.info("once")
    assert len(log_lines(stream.getvalue())) == 1


def test_bound_context_reaches_records_and_is_removed_after() -> None:
    stream = io.StringIO()
    log = logs.configure("INFO", stream=stream)
    with logs.bound(correlation_id="c-1"):
        log.info("inside")
    log.info("outside")
    inside, outside = log_lines(stream.getvalue())
    assert inside["correlation_id"] == "c-1"
    assert "correlation_id" not in outside


def test_temporary_values_are_forgotten_once_they_expire_and_kept_while_in_use() -> None:
    # GIVEN a configured secret, and a temporary value registered for a moment
    logs.register_secrets(["configured-secret"])
    logs.register_secrets(["https://hooks.slack.com/commands/T1/1/abc"], keep_s=0.05)
    assert logs.scrub("a https://hooks.slack.com/commands/T1/1/abc b") == "a *** b"
    # WHEN its time has passed and anything else is registered (a warm instance's next invocation)
    time.sleep(0.06)
    logs.register_secrets(["agency-token-2"], keep_s=60)
    # THEN it is no longer looked for, while the configured one and the new one still are
    assert logs.scrub("https://hooks.slack.com/commands/T1/1/abc") == "https://hooks.slack.com/commands/T1/1/abc"
    assert logs.scrub("configured-secret agency-token-2") == "*** ***"
    # AND registering a value again extends its time
    logs.register_secrets(["in-use-token"], keep_s=0.05)
    logs.register_secrets(["in-use-token"], keep_s=60)
    time.sleep(0.06)
    logs.register_secrets(["x-" * 4])
    assert logs.scrub("in-use-token") == "***"


def test_redact_reaches_every_depth_and_leaves_everything_else_as_it_was() -> None:
    logs.register_secrets(["super-secret-value"])
    value = {
        "results": [
            {"data": {"token": "abc", "password": "", "signature": None, "count": 3, "ok": True}},
            ("super-secret-value here", {"x-auth-token": "t0k3n"}),
        ],
        7: "super-secret-value",
        "nested": {"deeper": {"authorization": ["a", "b"], "note": "fine", "ratio": 0.5}},
        "trigger": Trigger.TIMER,
    }
    assert logs.redact(value) == {
        "results": [
            # set values of sensitive names masked; empty and null ones kept as they were; other leaves untouched
            {"data": {"token": "***", "password": "", "signature": None, "count": 3, "ok": True}},
            ["*** here", {"x-auth-token": "***"}],
        ],
        7: "***",
        "nested": {"deeper": {"authorization": "***", "note": "fine", "ratio": 0.5}},
        "trigger": "timer",
    }
    # mask_keys: the names only; registered values are left to the finished line
    assert logs.mask_keys({"sk": "x", "message": "super-secret-value", "list": [{"secret": 1}]}) == {
        "sk": "***",
        "message": "super-secret-value",
        "list": [{"secret": "***"}],
    }
