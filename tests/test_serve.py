"""``dds-backup serve`` with a real HTTP client, as a CI pipeline would use it: post a signed request, get 202
and a Location, poll it to COMPLETED; and ``wait: true`` answering 200 when the job is quick.

``serve`` runs in its own process against an emulator in this one, so that the test decides when a backup
completes (``state.backup_delay``) instead of racing a timer in another process."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.signing import json_body, standard_webhooks_headers
from tests.conftest import BILLING, ORDERS, ROOT, user_text
from tests.test_cli import clean_env

# The whole module runs serve and the example script in processes: not in `make test-fast`.
pytestmark = pytest.mark.servers

SECRET = "whsec_c2VydmUtdGVzdC1zZWNyZXQtMzItYnl0ZXMtbG9uZyE="


@pytest.fixture
def server(emulator: EmulatorServer) -> Iterator[str]:
    # A short wait in POST /backups, so that pollers really poll.
    env = {**clean_env(), **emulator.env("aksk"), "WEBHOOK_SECRET": SECRET, "WEBHOOK_WAIT_SECONDS": "0.5"}
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
    signature = standard_webhooks_headers(SECRET, body, method=method, path=path)
    headers = {"Content-Type": "application/json", **signature}
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


def test_wait_true_answers_200_with_the_completed_backup(server: str, emulator: EmulatorServer) -> None:
    emulator.state.backup_delay = 0
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
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def snippet_env(server: str, tmp: Path, **more: str) -> dict[str, str]:
    return {
        "DDS_BACKUP_URL": server,
        "DDS_BACKUP_WEBHOOK_SECRET": SECRET,
        "DDS_BACKUP_INSTANCE": ORDERS,
        "DDS_BACKUP_POLL": "0.2",
        "DDS_BACKUP_TIMEOUT": "30",
        "TMPDIR": str(tmp),
        **more,
    }


def test_documented_shell_snippet_runs_a_pre_deployment_backup(
    server: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """examples/predeploy-backup.sh (curl + openssl) is what the CI snippets of docs/webhooks.md run: it polls with
    signed status queries until COMPLETED."""
    emulator.state.backup_delay = 1.0  # longer than the function waits: the script polls until COMPLETED
    env = snippet_env(server, tmp_path, DDS_BACKUP_KEY="deploy-1234")
    proc = run_snippet(env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "dds-backup: COMPLETED"
    # The same key again: the same backup, reported as existing and completed.
    again = run_snippet(env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == proc.stdout.splitlines()[0].replace("BUILDING", "COMPLETED")
    assert len(emulator.state.backups) == 1
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_the_snippet_polls_with_signed_status_queries(server: str, emulator: EmulatorServer, tmp_path: Path) -> None:
    emulator.state.backup_delay = 3600
    env = snippet_env(server, tmp_path, DDS_BACKUP_KEY="deploy-poll", DDS_BACKUP_TIMEOUT="3")
    proc = run_snippet(env)
    assert proc.returncode == 1
    assert "is BUILDING" in proc.stdout
    assert "still not COMPLETED after 3s" in proc.stderr
    polls = [r for r in emulator.state.requests if r.method == "GET" and "backup_id=" in r.query]
    assert polls  # the status queries passed the signature check and reached DDS


def test_any_key_works_and_never_becomes_part_of_the_description(
    server: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    emulator.state.backup_delay = 0
    key = 'release="2026-11-29" & <hotfix> \\ x=1'
    proc = run_snippet(snippet_env(server, tmp_path, DDS_BACKUP_KEY=key))
    assert proc.returncode == 0, proc.stderr
    (backup,) = emulator.state.backups.values()
    assert user_text(backup) == "pre-deployment backup"


def test_documented_shell_snippet_fails_on_a_refused_request(server: str, tmp_path: Path) -> None:
    env = snippet_env(server, tmp_path, DDS_BACKUP_WEBHOOK_SECRET="whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==")
    proc = run_snippet(env)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()  # one line, with the reason
    assert line.startswith("dds-backup: request refused: HTTP 401 UNAUTHENTICATED: ")


def test_the_snippet_says_in_one_line_when_nothing_answers(tmp_path: Path) -> None:
    # GIVEN a URL where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = run_snippet(snippet_env(f"http://127.0.0.1:{port}", tmp_path, DDS_BACKUP_KEY="deploy-nothing"))
    # THEN it fails with one line that says so, curl's reason included
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"dds-backup: no answer from http://127.0.0.1:{port} (curl: (7) ")


def test_a_503_is_retried_after_its_retry_after_within_the_scripts_timeout(
    server: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    # GIVEN an instance busy with somebody else's backup: the function answers 503 + Retry-After: 30
    emulator.state.backup_delay = 3600
    emulator.state.add_backup(ORDERS, "made-by-hand", "")
    proc = run_snippet(snippet_env(server, tmp_path, DDS_BACKUP_KEY="deploy-busy", DDS_BACKUP_TIMEOUT="5"))
    # THEN waiting 30 s would overrun the 5 s it has: it stops at once, saying why, in one line
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith("dds-backup: still refused after 5s: HTTP 503 ")
    assert "INSTANCE_NOT_READY" in line


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST /backups HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_http_gets_a_json_error_not_a_text_page(server: str, raw: bytes) -> None:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(raw)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 400 " in head.split(b"\r\n")[0]
    assert b"application/json" in head
    assert json.loads(body)["error"]["code"] == "BAD_HTTP_REQUEST"
    assert b"GARBAGE" not in body and b"Bad Header" not in body  # the offending bytes are not echoed


def test_the_snippets_one_line_reason_keeps_escaped_quotes(server: str, tmp_path: Path) -> None:
    # GIVEN a description the function refuses: its answer quotes the forbidden characters, \" among them
    env = snippet_env(server, tmp_path, DDS_BACKUP_KEY="deploy-quote", DDS_BACKUP_DESCRIPTION='say "hi"')
    proc = run_snippet(env)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    # THEN the reason is the whole message, its quotes unescaped, not cut at the first one
    assert line.startswith("dds-backup: request refused: HTTP 400 INVALID_REQUEST: ")
    assert """>!<"&'=""" in line, line


def test_the_snippet_says_what_it_waits_for_in_plain_lines_unless_quiet(
    server: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    # GIVEN a backup of 5 s; the function answers after 0.5 s, the script polls every second
    emulator.state.backup_delay = 5
    env = snippet_env(server, tmp_path, DDS_BACKUP_KEY="deploy-progress", DDS_BACKUP_POLL="1")
    proc = run_snippet(env)
    assert proc.returncode == 0, proc.stderr
    progress = proc.stderr.splitlines()
    assert progress, "a wait over 3 s says so"
    assert all(
        re.fullmatch(
            r"dds-backup: waiting for backup \w+ to be COMPLETED \(it is BUILDING\): \d+s so far, until "
            r"\d\d:\d\d:\d\d at the latest",
            line,
        )
        for line in progress
    ), progress
    # AND DDS_BACKUP_QUIET (or --quiet) silences them
    quiet = run_snippet({**env, "DDS_BACKUP_KEY": "deploy-quiet", "DDS_BACKUP_QUIET": "1"})
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_ctrl_c_in_the_snippet_is_one_line_and_exit_130(server: str, emulator: EmulatorServer, tmp_path: Path) -> None:
    emulator.state.backup_delay = 3600
    env = {"PATH": "/usr/bin:/bin", **snippet_env(server, tmp_path, DDS_BACKUP_KEY="deploy-int")}
    proc = subprocess.Popen(
        ["sh", str(ROOT / "examples/predeploy-backup.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert "is BUILDING" in proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 130
    (line,) = proc.stderr.read().splitlines()
    assert line.startswith("dds-backup: interrupted while waiting for backup ")
    assert "run this again with the same DDS_BACKUP_KEY to see it" in line
    assert list(tmp_path.iterdir()) == []


# -- what a production front does: slow clients are cut off, bad headers are answered, bad secrets stop it -------


@pytest.fixture
def impatient(emulator: EmulatorServer) -> Iterator[str]:
    """serve with one second for a request's headers and one for its body."""
    env = {**clean_env(), **emulator.env("aksk"), "WEBHOOK_SECRET": SECRET}
    command = [sys.executable, "-m", "dds_backup_dev.cli", "serve", "--port", "0", "--read-timeout", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())["url"]
    finally:
        proc.terminate()
        proc.wait(10)


def trickle(url: str, head: bytes, then: bytes, seconds: float = 20.0) -> tuple[bytes, float]:
    """Send ``head`` at once, then ``then`` one byte every 0.2 s for up to ``seconds``: what came back, and
    after how long the server closed the connection."""
    host, port = url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        started = time.monotonic()
        conn.sendall(head)
        conn.settimeout(0.2)
        for byte in then:
            if time.monotonic() - started > seconds:
                break
            try:
                conn.sendall(bytes([byte]))
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # reset: the server closed it
                break
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - started


def test_a_client_trickling_its_headers_is_cut_off_with_a_408(impatient: str, emulator: EmulatorServer) -> None:
    # GIVEN a client that sends its headers a byte every 0.2 s (they would take 20 s)
    head = b"POST /backups HTTP/1.1\r\nHost: x\r\n"
    answer, took = trickle(impatient, head, b"X-Slow: " + b"a" * 100 + b"\r\n\r\n")
    # THEN serve answers 408 in JSON and closes the connection after its 1 s, not after the client's 20 s
    assert took < 10, took
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "REQUEST_TIMEOUT"
    assert emulator.state.requests == []


def test_a_client_trickling_its_body_is_cut_off_with_a_408(impatient: str, emulator: EmulatorServer) -> None:
    body = json_body({"instance_id": ORDERS, "description": "x" * 200})
    signed = standard_webhooks_headers(SECRET, body)
    head = b"POST /backups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"".join(f"{k}: {v}\r\n".encode() for k, v in signed.items())
    head += f"Content-Length: {len(body)}\r\n\r\n".encode()
    answer, took = trickle(impatient, head, body)
    assert took < 10, took
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "REQUEST_TIMEOUT"
    assert emulator.state.requests == []


def test_a_prompt_client_is_answered_as_before(impatient: str) -> None:
    status, _, body = call(impatient, "POST", "/backups", {"instance_id": ORDERS, "dry_run": True})
    assert status == 200 and body["outcome"] == "dry_run"


@pytest.mark.parametrize("header", [b"webhook-id: msg_\xff\xfe", b"X-Any: \xc3\x28", b"webhook-signature: v1,\x80"])
def test_a_header_that_is_no_utf8_is_a_400_in_json_not_a_500(server: str, header: bytes) -> None:
    body = b'{"instance_id": "' + ORDERS.encode() + b'"}'
    raw = b"POST /backups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + header + b"\r\n"
    raw += b"webhook-timestamp: 1\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(raw + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert b" 400 " in head.split(b"\r\n")[0], answer[:300]
    assert json.loads(payload)["error"]["code"] == "INVALID_HEADER", payload


@pytest.mark.parametrize(
    "secret",
    ["a" * 24, "whsec_" + "A" * 32, "--------------------AAAA", "whsec_AAAB" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa=="],
)
def test_serve_refuses_to_start_with_a_weak_secret_naming_the_variable_not_the_value(secret: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dds_backup_dev.cli", "serve", "--port", "0"],
        env={**clean_env(), "WEBHOOK_SECRET": secret},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("dds-backup serve: ")]
    assert line.startswith("dds-backup serve: invalid configuration: WEBHOOK_SECRET: ")
    assert secret not in proc.stderr and "Traceback" not in proc.stderr
