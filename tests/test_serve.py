"""``dds-backup serve`` with a real HTTP client, as a CI pipeline would use it: post a signed request, get 202
and a Location, poll it to COMPLETED; and ``wait: true`` answering 200 when the job is quick.

``serve`` runs in its own process against an emulator in this one, so that the test decides when a backup
completes (``state.backup_delay``) instead of racing a timer in another process."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.signing import json_body, standard_webhooks_headers
from tests.conftest import BILLING, ORDERS, ROOT
from tests.test_cli import clean_env

SECRET = "whsec_c2VydmUtdGVzdC1zZWNyZXQtMzItYnl0ZXMtbG9uZyE="


@pytest.fixture
def server(emulator: EmulatorServer) -> Iterator[str]:
    env = {**clean_env(), **emulator.env("aksk"), "WEBHOOK_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dds_backup_dev.cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())["url"]
    finally:
        proc.terminate()
        proc.wait(10)


def call(url: str, method: str, path: str, data: Any = None) -> tuple[int, dict[str, str], Any]:
    body = json_body(data) if data is not None else b""
    headers = {"Content-Type": "application/json", **standard_webhooks_headers(SECRET, body)}
    req = urllib.request.Request(url + path, data=body if data is not None else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_pre_deployment_flow_202_then_poll_to_completed(server: str, emulator: EmulatorServer) -> None:
    # GIVEN a backup that takes an hour
    emulator.state.backup_delay = 3600
    status, headers, body = call(server, "POST", "/backups", {"instance_id": ORDERS, "description": "pre-deploy"})
    assert status == 202
    location = headers["Location"]
    assert location == f"/backups/{body['backup_id']}"
    # WHEN the pipeline polls THEN it sees BUILDING until the job is done, then COMPLETED
    status, _, polled = call(server, "GET", location)
    assert (status, polled["status"]) == (200, "BUILDING")
    emulator.state.backup_delay = 0
    status, _, polled = call(server, "GET", location)
    assert (status, polled["status"]) == (200, "COMPLETED")


def test_wait_true_answers_200_with_the_completed_backup(server: str) -> None:
    status, headers, body = call(server, "POST", "/backups", {"instance_id": BILLING, "wait": True})
    assert status == 200
    assert body["status"] == "COMPLETED"
    assert headers["Location"] == f"/backups/{body['backup_id']}"


def test_unsigned_request_is_401(server: str) -> None:
    req = urllib.request.Request(server + "/backups", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(req, timeout=10)
    assert caught.value.code == 401


def run_snippet(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ROOT / "examples/predeploy-backup.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_documented_shell_snippet_runs_a_pre_deployment_backup(server: str) -> None:
    """examples/predeploy-backup.sh (curl + openssl) is what the README's CI snippets run."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DDS_BACKUP_URL": server,
        "DDS_BACKUP_WEBHOOK_SECRET": SECRET,
        "DDS_BACKUP_INSTANCE": ORDERS,
        "DDS_BACKUP_KEY": "deploy-1234",
        "DDS_BACKUP_POLL": "0.5",
        "DDS_BACKUP_TIMEOUT": "30",
    }
    proc = run_snippet(env)
    assert proc.returncode == 0, proc.stderr
    assert "COMPLETED" in proc.stdout
    # The same key again: the same backup, reported as existing and completed.
    again = run_snippet(env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == proc.stdout.splitlines()[0].replace("BUILDING", "COMPLETED")


def test_documented_shell_snippet_fails_on_a_refused_request(server: str) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DDS_BACKUP_URL": server,
        "DDS_BACKUP_WEBHOOK_SECRET": "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==",
        "DDS_BACKUP_INSTANCE": ORDERS,
    }
    proc = run_snippet(env)
    assert proc.returncode == 1
    assert "HTTP 401" in proc.stderr
