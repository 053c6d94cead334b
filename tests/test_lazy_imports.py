"""A timer event loads only what a timer event needs (cold starts are measured): no webhook stack, no SMN
publishing, retention, fan-out, audits, hand-offs, chat, nor the IAM password flow, and no pydantic plugin
discovery. Each case runs in a fresh interpreter, as a cold start does."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping

import pytest

from dds_backup_dev.emulator import EmulatorServer
from tests.conftest import NIGHTLY_TIMER, ORDERS, ROOT
from tests.test_cli import clean_env

# The whole module serves events in fresh interpreters: not in `make test-fast`.
pytestmark = pytest.mark.servers

PROBE = """
import json, sys
import handler
from dds_backup_dev.context import LocalContext
result = handler.handler(json.loads(sys.argv[1]), LocalContext(timeout_s=60))
from pydantic.plugin import _loader
print(json.dumps({"result": result, "modules": sorted(sys.modules), "plugins_scanned": _loader._plugins is not None}))
"""
TIMER = NIGHTLY_TIMER
NOT_FOR_A_TIMER = [
    "lib.http",  # the webhook stack: routes, Slack, Teams, Mattermost, signature checks
    "lib.smn",
    "lib.results.smn_sink",
    "lib.runner.prune",
    "lib.planning.retention",
    "lib.runner.fanout",
    "lib.runner.audit",
    "lib.planning.audit",
    "lib.runner.handoff",
    "lib.runner.watch",
    "lib.chat",
    "lib.cloud.auth.iam",
]


def probe(emulator: EmulatorServer, event: Mapping[str, object]) -> dict[str, object]:
    env = {**clean_env(), **emulator.env("aksk")}
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
    out: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return out


def loaded(modules: object, prefix: str) -> list[str]:
    assert isinstance(modules, list)
    return [m for m in modules if m == prefix or m.startswith(prefix + ".")]


def test_a_timer_event_loads_none_of_the_optional_parts(emulator: EmulatorServer) -> None:
    seen = probe(emulator, TIMER)
    assert seen["result"]["ok"] is True  # type: ignore[index]
    assert {p: loaded(seen["modules"], p) for p in NOT_FOR_A_TIMER} == {p: [] for p in NOT_FOR_A_TIMER}
    assert seen["plugins_scanned"] is False


def test_what_a_webhook_needs_is_loaded_for_a_webhook(emulator: EmulatorServer) -> None:
    # The control: the same probe sees the webhook stack when an API Gateway event asks for it.
    event = {"httpMethod": "GET", "path": "/backups/x", "headers": {}, "body": "", "requestContext": {}}
    seen = probe(emulator, event)
    assert seen["result"]["statusCode"] == 401  # type: ignore[index]
    assert "lib.http.app" in seen["modules"] and "lib.http.signatures" in seen["modules"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("request_", "expected"),
    [({"retention": {"keep_last": 3}}, "lib.runner.prune"), ({"audit": {"max_age_hours": 24}}, "lib.runner.audit")],
)
def test_each_optional_part_is_loaded_when_used(
    emulator: EmulatorServer, request_: dict[str, object], expected: str
) -> None:
    event = {**TIMER, "user_event": json.dumps({"instance_id": ORDERS, **request_})}
    assert expected in probe(emulator, event)["modules"]  # type: ignore[operator]
