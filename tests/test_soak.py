"""Soak: 1000 backup requests over 120 instances through Kafka batches, with 30% of all DDS calls spoiled by
faults of every kind, events re-invoked when the handler asks for a retry (as FunctionGraph does, up to 3
times). Judged from the emulator's state: exactly one backup per request or a reported retryable failure,
no duplicates, no request without a result."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer, EmulatorState
from dds_backup_dev.emulator.state import Chaos
from lib.cloud import limiter
from tests.conftest import CATALOG, Invoke

# The whole module a long run against the emulator: not in `make test-fast`.
pytestmark = pytest.mark.servers

INSTANCES = 120
EVENTS = 100
PER_EVENT = 10
PLATFORM_RETRIES = 3


@pytest.fixture
def chaotic(monkeypatch: pytest.MonkeyPatch) -> Any:
    state = EmulatorState.with_fixture(backup_delay=0.0)
    template = state.instances[CATALOG]
    for i in range(INSTANCES):
        inst = dict(template, id=f"{i:032x}in02", name=f"soak-{i:03d}", tags=[])
        state.instances[inst["id"]] = inst
    state.chaos = Chaos(rate=0.3, slow_delay=0.3, retry_after="0", seed=20261127)
    with EmulatorServer(state) as emulator:
        for key, value in emulator.env("aksk").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("REQUEST_TIMEOUT_SECONDS", "0.15")
        monkeypatch.setenv("RETRY_BASE_DELAY_SECONDS", "0.01")
        # The limiter's curve has the same shape, 10x faster: random throttles are not a rate, and its seconds of
        # regrowth after each cut would be most of the run, as the 0.25 s waits would be without the line above.
        monkeypatch.setattr(limiter, "SCALE", limiter.SCALE * 10**3)
        monkeypatch.setenv("LOG_LEVEL", "ERROR")
        yield emulator


def kafka_event(n: int) -> dict[str, Any]:
    messages = [
        json.dumps({"instance_id": f"{(n * PER_EVENT + m) % INSTANCES:032x}in02", "description": f"soak-{n}-{m}"})
        for m in range(PER_EVENT)
    ]
    return {
        "event_version": "v1.0",
        "event_time": 1795762800 + n,
        "trigger_type": "KAFKA",
        "region": "eu-de",
        "instance_id": "soak",
        "records": [{"messages": messages, "topic_id": "soak"}],
    }


def test_soak_exactly_once_under_faults(chaotic: EmulatorServer, invoke: Invoke) -> None:
    final: dict[str, dict[str, Any]] = {}  # description -> last reported result data
    invocations = 0
    for n in range(EVENTS):
        event = kafka_event(n)
        result = invoke(event)
        invocations += 1
        for _ in range(PLATFORM_RETRIES):
            if not result["_raised"]:
                break
            result = invoke(event)
            invocations += 1
        # Zero requests without a result: every message of the event is answered in the last invocation.
        assert len(result["results"]) == PER_EVENT
        for r in result["results"]:
            final[r["data"]["name"]] = r["data"]

    state = chaotic.state
    per_description = Counter(b.description for b in state.backups.values())
    assert all(count == 1 for count in per_description.values()), "a request made two backups"
    assert len(final) == EVENTS * PER_EVENT

    done = [d for d in final.values() if d["outcome"] in ("created", "exists")]
    failed = [d for d in final.values() if d["outcome"] == "failed"]
    assert len(done) + len(failed) == len(final)
    assert all(d["error"]["retryable"] for d in failed), [d["error"] for d in failed if not d["error"]["retryable"]]
    backups_by_name = {b.name: b for b in state.backups.values()}
    for d in done:
        assert d["name"] in backups_by_name
        assert backups_by_name[d["name"]].id == d["backup_id"]
    # Backups that exist for requests reported as failed come from a create whose answer was lost on the last
    # try: the next delivery of the event would report them as existing. Anything else would be a leak.
    reported = {d["name"] for d in done}
    unreported = [b for b in state.backups.values() if b.name not in reported]
    assert {b.name for b in unreported} <= {d["name"] for d in failed}

    chaos = state.chaos
    assert chaos is not None
    assert sum(chaos.injected.values()) > 900  # 30% of every DDS call, retries included
    assert set(chaos.injected) == {"500", "503", "429", "reset", "slow", "lost"}
    print(
        f"\nsoak: {len(final)} requests, {invocations} invocations, {len(state.requests)} HTTP requests, "
        f"faults {dict(chaos.injected)}, done {len(done)}, retryable failures {len(failed)}"
    )
