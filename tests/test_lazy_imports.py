"""A timer event loads only what a timer event needs (cold starts are measured): no webhook stack, no SMN
publishing, retention, fan-out, audits, hand-offs, chat, waiting, the other triggers' sources, nor the IAM password
flow, no pydantic plugin discovery, and it builds none of the models only other events read. A webhook loads no
chat platform. Each case runs in a fresh interpreter, as a cold start does."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.signing import apig_event, slack_form, slack_headers
from tests.conftest import NIGHTLY_TIMER, ORDERS, ROOT
from tests.test_cli import clean_env
from tests.test_routes import SLACK_SECRET

# The whole module serves events in fresh interpreters: not in `make test-fast`.
pytestmark = pytest.mark.servers

PROBE = """
import json, sys
import handler
from dds_backup_dev.context import LocalContext
result = handler.handler(json.loads(sys.argv[1]), LocalContext(timeout_s=60))
from pydantic import BaseModel
from pydantic.plugin import _loader
def models(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from models(sub)
ours = [m for m in models(BaseModel) if m.__module__.startswith("lib")]
built = sorted(f"{m.__module__}.{m.__name__}" for m in ours if m.__pydantic_complete__)
print(json.dumps({"result": result, "modules": sorted(sys.modules), "plugins_scanned": _loader._plugins is not None,
                  "built": built}))
"""
TIMER = NIGHTLY_TIMER
NOT_FOR_A_TIMER = [
    "lib.http",  # the webhook stack: routes, Slack, Teams, Mattermost, signature checks
    "lib.smn",
    "lib.results.smn_sink",
    "lib.runner.fanout",
    "lib.runner.handoff",
    "lib.runner.watch",
    "lib.chat",
    "lib.cloud.auth.iam",
    "lib.delivery",  # who retries a failure: read only when something failed
    "lib.runner.waiting",  # only for wait: true
]
#: Models only other events (or other requests) read: defined, but built when first used.
NOT_BUILT_FOR_A_TIMER = [
    "lib.dds.models.Backup",
    "lib.dds.models.Job",
    "lib.dds.models.JobInstance",
    "lib.sources.envelopes.SmnEvent",
    "lib.sources.envelopes.SmnRecord",
    "lib.sources.envelopes.SmnMessage",
    "lib.sources.envelopes.QueueEvent",
    "lib.sources.envelopes.QueueRecord",
]


def probe(emulator: EmulatorServer, event: Mapping[str, object], **extra_env: str) -> dict[str, Any]:
    env = {**clean_env(), **emulator.env("aksk"), **extra_env}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(event)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return out


def loaded(modules: object, prefix: str) -> list[str]:
    assert isinstance(modules, list)
    return [m for m in modules if m == prefix or m.startswith(prefix + ".")]


def test_a_timer_event_loads_none_of_the_optional_parts(emulator: EmulatorServer) -> None:
    seen = probe(emulator, TIMER)
    assert seen["result"]["ok"] is True
    assert {p: loaded(seen["modules"], p) for p in NOT_FOR_A_TIMER} == {p: [] for p in NOT_FOR_A_TIMER}
    assert seen["plugins_scanned"] is False
    built = seen["built"]
    assert isinstance(built, list)
    assert [m for m in NOT_BUILT_FOR_A_TIMER if m in built] == []
    assert "lib.sources.envelopes.TimerEvent" in built and "lib.config.Settings" in built  # the control


def test_what_a_webhook_needs_is_loaded_for_a_webhook(emulator: EmulatorServer) -> None:
    # The control: the same probe sees the webhook stack when an API Gateway event asks for it.
    event = {"httpMethod": "GET", "path": "/backups/x", "headers": {}, "body": "", "requestContext": {}}
    seen = probe(emulator, event)
    assert seen["result"]["statusCode"] == 401
    assert "lib.http.app" in seen["modules"] and "lib.http.signatures" in seen["modules"]
    assert loaded(seen["modules"], "lib.http.chat") == []  # a webhook loads no chat platform


def test_a_chat_command_loads_its_own_platform_only(emulator: EmulatorServer) -> None:
    # An unsigned command is refused by the route's check before its platform is loaded at all
    event = {"httpMethod": "POST", "path": "/slack", "headers": {}, "body": "", "requestContext": {}}
    refused = probe(emulator, event, SLACK_SIGNING_SECRET=SLACK_SECRET)
    assert refused["result"]["statusCode"] == 401
    assert loaded(refused["modules"], "lib.http.chat") == []
    # A signed one loads Slack's front, and neither Teams' nor Mattermost's
    form = slack_form("help")
    signed = apig_event("POST", "/slack", form, slack_headers(SLACK_SECRET, form))
    seen = probe(emulator, signed, SLACK_SIGNING_SECRET=SLACK_SECRET)
    assert seen["result"]["statusCode"] == 200
    assert "lib.http.chat.slack" in seen["modules"]
    assert loaded(seen["modules"], "lib.http.chat.teams") == loaded(seen["modules"], "lib.http.chat.mattermost") == []


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"wait": True}, "lib.runner.waiting"),
    ],
)
def test_each_optional_part_is_loaded_when_used(
    emulator: EmulatorServer, request_: dict[str, object], expected: str
) -> None:
    event = {**TIMER, "user_event": json.dumps({"instance_id": ORDERS, **request_})}
    assert expected in probe(emulator, event)["modules"]
