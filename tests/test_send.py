"""``dds-backup serve`` tells its user what each route checks and makes the secrets that are missing;
``dds-backup send`` signs a sample as its sender would and sends it; both as a user runs them, in separate
processes."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator

import pytest

from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.secret_rules import KINDS, RULES, new_secret
from dds_backup_dev.serve import route_auth
from lib.config import load_settings
from lib.http.app import ROUTER
from tests.conftest import ROOT
from tests.test_cli import CLI, Child, clean_env, human

SECRET = "whsec_c2VuZC10ZXN0LXNlY3JldC0zMi1ieXRlcy1sb25nISE="


def nothing(_: str) -> str | None:
    return None


def test_every_route_of_the_function_is_told_with_the_variable_it_checks() -> None:
    told = [route for auth in route_auth(nothing) for route in auth.routes]
    assert sorted(told) == sorted(f"{r.method} {r.template}" for r in ROUTER.routes)
    assert {auth.variable for auth in route_auth(nothing)} == set(KINDS.values())
    # WEBHOOK_AUTH=gateway hands /backups to API Gateway, CHAT_AUTH=gateway the chat routes: each its own routes
    for switch, variables in (
        ("WEBHOOK_AUTH", {None, "SLACK_SIGNING_SECRET", "TEAMS_WEBHOOK_TOKEN", "MATTERMOST_TOKEN"}),
        ("CHAT_AUTH", {None, "WEBHOOK_SECRET"}),
    ):
        gateway = route_auth(lambda key, switch=switch: "gateway" if key == switch else None)  # type: ignore[misc]
        assert sorted(r for a in gateway for r in a.routes) == sorted(told)
        assert {a.variable for a in gateway} == variables


@pytest.mark.parametrize("key", sorted(KINDS.values()))
def test_each_made_secret_is_one_the_function_accepts(key: str) -> None:
    (rule,) = [r for r in RULES if r.key == key]
    made = {new_secret(key) for _ in range(20)}
    assert len(made) == 20  # random
    for value in made:
        assert rule.problem(value) is None
        assert load_settings({key: value}.get) is not None


def start_serve(env: dict[str, str]) -> tuple[Child, str, dict[str, str]]:
    """serve on a free port: its URL, and the first stdout line (URL and the variable each route checks)."""
    child = Child(["serve", "--port", "0"], env)
    assert child.proc.stdout is not None
    first = json.loads(child.proc.stdout.readline())
    return child, first["url"], first["routes"]


@pytest.fixture
def served(emulator: EmulatorServer) -> Iterator[tuple[Child, str, dict[str, str]]]:
    started = start_serve({**clean_env(), **emulator.env("aksk"), "WEBHOOK_SECRET": SECRET})
    try:
        yield started
    finally:
        started[0].proc.kill()
        started[0].proc.wait(10)


def test_serve_names_each_routes_variable_and_never_a_configured_value(
    served: tuple[Child, str, dict[str, str]],
) -> None:
    child, url, routes = served
    assert routes["POST /backups"] == routes["GET /backups/{backup_id}"] == "WEBHOOK_SECRET"
    assert routes["POST /slack"] == "SLACK_SIGNING_SECRET"
    export = child.wait_for("export ")
    listing = "\n".join(child.err)
    assert f"listening on {url}" in listing
    assert re.search(r"POST /backups, GET /backups/\{backup_id\} +WEBHOOK_SECRET: ", listing)
    assert re.search(r"POST /mattermost +MATTERMOST_TOKEN: ", listing)
    # THEN the configured secret is never shown; only the ones it made are, in one export line
    assert SECRET not in listing
    made = dict(word.split("=", 1) for word in shlex.split(export)[1:])
    assert set(made) == {"SLACK_SIGNING_SECRET", "TEAMS_WEBHOOK_TOKEN", "MATTERMOST_TOKEN"}
    assert "were not set, so this run made them (shown once)" in listing


def test_without_secrets_serve_makes_them_and_send_signs_with_the_export_line(emulator: EmulatorServer) -> None:
    # GIVEN serve with no secret at all
    env = {**clean_env(), **emulator.env("aksk")}
    child, url, _ = start_serve(env)
    try:
        export = child.wait_for("export WEBHOOK_SECRET=whsec_")
        made = dict(word.split("=", 1) for word in shlex.split(export)[1:])
        assert set(made) == set(KINDS.values())
        # WHEN send runs without them THEN it says what is missing and where to find it
        missing = subprocess.run([*CLI, "send", "apig", "--to", url], capture_output=True, text=True, env=env)
        assert missing.returncode == 2 and "WEBHOOK_SECRET is not set" in missing.stderr
        # WHEN it runs with the export line's values THEN each route answers, signed
        signed = {**env, **made}
        for kind, text in (("apig", None), ("slack", "billing-prod"), ("teams", "help"), ("mattermost", "help")):
            args = [*CLI, "send", kind, "--to", url] + (["--text", text] if text else [])
            proc = subprocess.run(args, capture_output=True, text=True, env=signed, timeout=60, check=False)
            assert proc.returncode == 0, (kind, proc.stderr)
            assert re.search(r"-> HTTP (200|202) ", proc.stderr), proc.stderr
            json.loads(proc.stdout)
        answer = json.loads(
            subprocess.run(
                [*CLI, "send", "apig", "--to", url], capture_output=True, text=True, env=signed, timeout=60
            ).stdout
        )
        status = subprocess.run(
            [*CLI, "send", "apig-status", "--to", url, "--backup-id", answer["backup_id"]],
            capture_output=True,
            text=True,
            env=signed,
            timeout=60,
            check=False,
        )
        assert status.returncode == 0 and json.loads(status.stdout)["backup_id"] == answer["backup_id"]
        # One backup per apig send (a new delivery each time), one for the Slack command
        assert len(emulator.state.backups) == 3
    finally:
        child.proc.kill()
        child.proc.wait(10)


def test_curl_prints_the_same_request_signed(
    served: tuple[Child, str, dict[str, str]], emulator: EmulatorServer
) -> None:
    _, url, _ = served
    env = {**clean_env(), "WEBHOOK_SECRET": SECRET}
    proc = subprocess.run(
        [*CLI, "send", "apig", "--to", url, "--curl"], capture_output=True, text=True, env=env, timeout=30, check=True
    )
    assert proc.stdout.startswith(f"curl -sS -X POST {url}/backups ")
    assert SECRET not in proc.stdout
    ran = subprocess.run(proc.stdout, shell=True, capture_output=True, text=True, timeout=60, check=False)
    assert json.loads(ran.stdout)["outcome"] == "created"
    assert len(emulator.state.backups) == 1


def test_send_with_the_same_id_is_the_same_backup(
    served: tuple[Child, str, dict[str, str]], emulator: EmulatorServer
) -> None:
    _, url, _ = served
    env = {**clean_env(), "WEBHOOK_SECRET": SECRET}
    args = [*CLI, "send", "apig", "--to", url, "--id", "deploy-7"]
    first = json.loads(subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=True).stdout)
    again = json.loads(subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=True).stdout)
    assert (first["outcome"], again["outcome"]) == ("created", "exists")
    assert first["backup_id"] == again["backup_id"]


@pytest.mark.servers
def test_send_says_in_one_line_when_nothing_answers() -> None:
    env = {**clean_env(), "WEBHOOK_SECRET": SECRET}
    proc = subprocess.run(
        [*CLI, "send", "apig", "--to", "http://192.0.2.1:9", "--timeout", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith("dds-backup send: no answer from http://192.0.2.1:9/backups")


def test_ctrl_c_while_send_waits_names_the_command_that_shows_the_backup(
    served: tuple[Child, str, dict[str, str]], emulator: EmulatorServer
) -> None:
    # GIVEN a backup that takes long, asked for with wait (the route waits up to WEBHOOK_WAIT_SECONDS)
    emulator.state.backup_delay = 120
    _, url, _ = served
    env = {**clean_env(), "WEBHOOK_SECRET": SECRET}
    request = '{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02", "wait": true}'
    child = Child(["send", "apig", "--to", url, "--request", request], env)
    child.wait_for("so far")
    code, _, after = child.interrupt()
    assert code == 130
    (line,) = human(after)
    command = re.search(r"`(dds-backup send .+)` shows it without making a second one$", line)
    assert command is not None, line
    # WHEN the user runs it (the backup still building) THEN it is the same backup
    words = shlex.split(command.group(1))
    words[words.index("--request") + 1] = '{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02"}'
    # (without wait, so that the answer comes at once; the delivery id is what makes it the same)
    again = subprocess.run([*CLI, *words[1:]], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert json.loads(again.stdout)["outcome"] == "exists", again.stdout
    assert len(emulator.state.backups) == 1


def test_ctrl_c_stops_serve_at_once_even_with_a_request_in_flight(emulator: EmulatorServer) -> None:
    emulator.state.backup_delay = 120
    env = {**clean_env(), **emulator.env("aksk"), "WEBHOOK_SECRET": SECRET}
    child, url, _ = start_serve(env)
    request = '{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02", "wait": true}'
    sender = subprocess.Popen(
        [*CLI, "send", "apig", "--to", url, "--request", request, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        child.wait_for('"backup created"')
        code, _, after = child.interrupt(timeout=10)
        assert code == 130
        (line,) = human(after)
        (backup_id,) = emulator.state.backups
        assert line.startswith(f"dds-backup serve: interrupted while serving {url} (")
        assert f"1 request(s) were in flight: backup {backup_id} goes on in DDS and may still complete" in line
        assert f"dds-backup send apig-status --backup-id {backup_id}" in line
        assert "Traceback" not in "\n".join(child.err)
    finally:
        sender.kill()
        sender.wait(10)
    # And with nothing in flight: the same one line, exit 130
    idle, _, _ = start_serve(env)
    idle.wait_for("Ctrl-C stops it")
    code, _, after = idle.interrupt()
    assert code == 130
    assert human(after) == [human(after)[0]] and "no request was in flight" in human(after)[0]


@pytest.mark.servers
def test_usage_errors_of_send_exit_2() -> None:
    env = {**clean_env(), "WEBHOOK_SECRET": SECRET}
    for args, said in (
        (["apig-status"], "apig-status needs --backup-id"),
        (["slack", "--request", "{}"], "slack carries a chat command"),
        (["apig", "--to", "ftp://x"], "give the base URL"),
        (["apig", "--request", '{"instance_idd": "x"}'], "instance_idd"),
    ):
        proc = subprocess.run([*CLI, "send", *args], capture_output=True, text=True, env=env, timeout=30, cwd=ROOT)
        assert proc.returncode == 2, args
        assert said in proc.stderr, (args, proc.stderr)
