"""Shared fixtures: a fresh emulator on loopback per test, a clean configuration, and a way to invoke the
handler exactly as FunctionGraph does (sync call, context object)."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import handler
from dds_backup_dev.context import LocalContext
from dds_backup_dev.emulator import EmulatorServer, EmulatorState
from dds_backup_dev.emulator.state import DEMO_PASSWORD, DEMO_SK, EmuBackup
from lib import logs
from lib.cloud import limiter
from lib.cloud.auth import iam
from lib.config import CONFIG_KEYS, SECRET_KEYS
from lib.planning import ownership

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Oracle fixtures: platform sample events and published signing vectors (see tests/fixtures/README.md).
REFERENCE = ROOT / "tests" / "fixtures"
PLATFORM_EVENTS = REFERENCE / "platform-events"

ORDERS = "a89dab5e39394eccbdb77b19d57b0180in02"  # orders-prod, ReplicaSet, env=prod
BILLING = "c4b1e6a0f23d4f6e9a8b7c6d5e4f3a2bin02"  # billing-prod, Sharding, env=prod
CATALOG = "5e8f7a6b5c4d4e3f2a1b0c9d8e7f6a5bin03"  # catalog-staging, Single
FROZEN = "9d0c1b2a3f4e4d5c6b7a8f9e0d1c2b3ain02"  # legacy-frozen, status abnormal

# A nightly timer event of FunctionGraph's shape whose user_event backs up orders-prod.
NIGHTLY_TIMER = {
    "version": "v1.0",
    "time": "2026-11-29T02:00:00+01:00",
    "trigger_type": "TIMER",
    "trigger_name": "nightly",
    "user_event": json.dumps({"instance_id": ORDERS}),
}

_EXTRA_KEYS = ("RUNTIME_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID")


def marked(
    name: str,
    instance_id: str,
    scope: str = "timer:timer",
    maker: ownership.Maker = ownership.Maker.TIMER,
    description: str = "",
    request: str = "0123abcd",
) -> str:
    """The description of a backup this tool made for ``scope`` (by default the sample timer events' own:
    ``timer:timer``), as the emulator would list it."""
    mark = ownership.Mark(maker, ownership.scope_digest(scope), request)
    return mark.describe(description, name, instance_id)


def user_text(backup: EmuBackup) -> str:
    """What the user wrote in a backup's description; the backup must carry this tool's valid mark."""
    assert ownership.read(backup.description, backup.name, backup.instance_id) is not None, backup.description
    return ownership.user_description(backup.description, backup.name, backup.instance_id)


def load_json(path: pathlib.Path) -> Any:
    return json.loads(path.read_text())


# -- the two tiers (docs/testing.md): `make test-fast` runs what needs no server, `make test` runs everything ------

#: Set by `make test-fast`: a test outside the ``servers`` mark that starts one fails, naming the mark.
FAST_TIER = os.environ.get("DDS_BACKUP_TEST_TIER") == "fast"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the emulator (directly or through another fixture) belongs to the ``servers`` tier; tests
    that start a process or a server themselves carry the mark in their module."""
    for item in items:
        if "emulator" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.servers)


@pytest.fixture(autouse=True)
def _fast_tier_starts_no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    if not FAST_TIER:
        return

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("this test starts a server or a process: mark it `servers` (pytest.mark.servers)")

    monkeypatch.setattr(EmulatorServer, "start", refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No configuration leaks in from the machine or from another test; no cached token, no learnt rate either."""
    for key in (*CONFIG_KEYS, *_EXTRA_KEYS):
        monkeypatch.delenv(key, raising=False)
    iam.clear_cache()
    limiter.forget()
    logs._secrets.clear()
    CHAT_STAND_INS.clear()
    yield
    iam.clear_cache()
    CHAT_STAND_INS.clear()


_issued_tokens: list[str] = []
#: Loopback origins of the chat platforms' stand-ins (``tests/fake_chat.py``) that ``invoke`` hands to the handler,
#: as ``dds-backup serve --fake-chat-origin`` does: a test adds its fake's origin; emptied after every test.
CHAT_STAND_INS: set[str] = set()
_returned: list[Any] = []


@pytest.fixture(autouse=True)
def _no_secret_leaks(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Around every test of the suite: no secret in any log line (stdout/stderr) or handler return value.

    Sentinels: the emulator's demo SK and password, every token an emulator issued during the test, and every
    secret variable the test configured (checked before monkeypatch takes them away).
    """
    _issued_tokens.clear()
    _returned.clear()
    original = EmulatorState.issue_token

    def recording(self: EmulatorState) -> tuple[str, float]:
        token, expires = original(self)
        _issued_tokens.append(token)
        return token, expires

    monkeypatch.setattr(EmulatorState, "issue_token", recording)
    yield
    sentinels = {DEMO_SK, DEMO_PASSWORD, *_issued_tokens}
    sentinels.update(v for k in SECRET_KEYS if len(v := os.environ.get(k, "")) >= 6)
    out, err = capfd.readouterr()
    returned = json.dumps(_returned)
    for secret in sentinels:
        assert secret not in out and secret not in err, "a secret reached the logs"
        assert secret not in returned, "a secret reached a result or an HTTP answer"
    sys.stdout.write(out)
    sys.stderr.write(err)


@pytest.fixture
def east_of_utc() -> Iterator[None]:
    """The machine's zone is Asia/Tokyo (UTC+9 all year) during the test: what we write must stay in UTC."""
    zone = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        yield
    finally:
        if zone is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = zone
        time.tzset()


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorState.with_fixture(backup_delay=0.3)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def configured(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """The function configured for the emulator with IAM password credentials (the OTC-documented path)."""
    for key, value in emulator.env("password").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RETRY_BASE_DELAY_SECONDS", "0.01")  # the policy is the same, the waits short
    return emulator


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke() -> Invoke:
    """Call the handler like the platform; a retry request comes back as its result plus ``_raised``."""

    def run(event: Any, **context: Any) -> dict[str, Any]:
        ctx = LocalContext(**context)
        try:
            result = handler.handler(event, ctx, chat_stand_ins=CHAT_STAND_INS)
        except handler.RetryRequested as exc:
            _returned.append(exc.result)
            return {**exc.result, "_raised": True}
        _returned.append(result)
        return {**result, "_raised": False}

    return run


def only_result(result: dict[str, Any]) -> dict[str, Any]:
    assert len(result["results"]) == 1, result
    data: dict[str, Any] = result["results"][0]["data"]
    return data


def parse_cloudevent(event: dict[str, Any]) -> Any:
    """Read a result event with the CloudEvents SDK (the oracle): it raises on anything non-conformant."""
    from cloudevents.core.formats.json import JSONFormat

    return JSONFormat().read(None, json.dumps(event))


def log_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
