"""``dds-backup`` as a user runs it: separate processes, stdout for the result, stderr for logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lib.config import CONFIG_KEYS
from tests.conftest import PLATFORM_EVENTS, ROOT

# The whole module runs the CLI in processes: not in `make test-fast`.
pytestmark = pytest.mark.servers

CLI = [sys.executable, "-m", "dds_backup_dev.cli"]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_KEYS}
    env["PYTHONPATH"] = str(ROOT)
    return env


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], input=stdin, capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=60, check=False
    )


def test_invoke_with_nothing_configured_uses_the_embedded_emulator() -> None:
    proc = run("invoke", "events/timer.json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # stdout is exactly one JSON document
    assert result["ok"] is True
    assert result["results"][0]["data"]["backup_id"]
    assert "embedded emulator" in proc.stderr
    assert all(line.startswith("{") for line in proc.stderr.splitlines()[1:])


def test_invoke_reads_stdin_and_exits_1_on_rejection() -> None:
    proc = run("invoke", "-", stdin=(PLATFORM_EVENTS / "timer_event.json").read_text())
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["summary"]["rejected"] == 1


def test_invoke_prints_the_result_also_when_the_handler_asks_for_a_retry() -> None:
    frozen = '{"instance_id": "9d0c1b2a3f4e4d5c6b7a8f9e0d1c2b3ain02"}'
    proc = run("invoke", "-", stdin=frozen)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["results"][0]["data"]["error"]["retryable"] is True
    assert "retry" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_invoke_says_on_stderr_when_a_wait_was_cut_short() -> None:
    # GIVEN a backup that takes longer than the simulated function timeout leaves for waiting
    request = '{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02", "wait": true}'
    proc = run("invoke", "--timeout", "3", "--backup-delay", "60", "-", stdin=request)
    data = json.loads(proc.stdout)["results"][0]["data"]
    assert (data["outcome"], data["wait_ended_early"]) == ("created", True)
    assert proc.returncode == 0
    assert "stopped waiting for backup" in proc.stderr


def test_invoke_exits_1_when_an_audit_finds_a_stale_instance() -> None:
    request = '{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02", "audit": {"max_age_hours": 24}}'
    proc = run("invoke", "-", stdin=request)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)["results"][0]["data"]
    assert (data["outcome"], data["error"]["code"]) == ("stale", "BACKUP_STALE")


def test_bad_usage_exits_2_without_a_traceback(tmp_path: Path) -> None:
    missing = run("invoke", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    (tmp_path / "bad.json").write_text("{nope")
    bad = run("invoke", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "not acceptable JSON" in bad.stderr
    (tmp_path / "deep.json").write_text("[" * 5000 + "]" * 5000)
    deep = run("invoke", str(tmp_path / "deep.json"))
    assert deep.returncode == 2 and "levels deep" in deep.stderr
    assert "Traceback" not in missing.stderr + bad.stderr + deep.stderr
    assert run("frobnicate").returncode == 2


def test_emulator_announces_itself_on_the_first_line() -> None:
    proc = subprocess.Popen(
        [*CLI, "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["endpoint"].startswith("http://127.0.0.1:")
        assert set(info) >= {"endpoint", "project_id", "ak", "sk", "username", "password", "domain"}
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(info["endpoint"] + "/v3/x/instances", timeout=5)
        assert caught.value.code == 401  # it answers, and wants credentials
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_generated_events_pass_the_handler() -> None:
    """generate-event output, piped into invoke, is accepted (signed, fresh) by the same configuration."""
    env = {
        **clean_env(),
        "WEBHOOK_SECRET": "whsec_Z2VuZXJhdGUtZXZlbnQtdGVzdC1zZWNyZXQ=",
        "SLACK_SIGNING_SECRET": "slacksigningsecretfortests0123",
        "TEAMS_WEBHOOK_TOKEN": "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=",
        "MATTERMOST_TOKEN": "qzgakf1nx3yt9dr4n8585ihbxy",
    }
    kinds = (("apig", 202), ("slack", 200), ("teams", 200), ("mattermost", 200), ("timer", None), ("smn", None))
    for kind, expect in (*kinds, ("kafka", None), ("cloudevents", None), ("eventgrid-rocketmq", None)):
        gen = subprocess.run(
            [*CLI, "generate-event", kind], capture_output=True, text=True, env=env, cwd=ROOT, timeout=30, check=True
        )
        proc = subprocess.run(
            [*CLI, "invoke", "-"],
            input=gen.stdout,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        result = json.loads(proc.stdout)
        if expect is None:
            assert result["ok"] is True, (kind, result)
        else:
            assert result["statusCode"] == expect, (kind, result)


def test_generate_event_without_a_secret_is_a_usage_error() -> None:
    proc = run("generate-event", "apig")
    assert proc.returncode == 2 and "WEBHOOK_SECRET" in proc.stderr
