"""``dds-backup`` as a user runs it: separate processes, stdout for the result, stderr for logs."""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from dds_backup_dev import cli
from dds_backup_dev.cli import build_parser
from dds_backup_dev.context import LocalContext
from dds_backup_dev.emulator import EmulatorServer
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


# -- the installed tool: version, help, files looked for where the user is ----------------------------------------


def test_version_is_the_installed_package_version() -> None:
    found = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M)  # tomllib: 3.11+
    assert found is not None
    wanted = found.group(1)
    proc = run("--version")
    assert (proc.returncode, proc.stdout.strip()) == (0, f"dds-backup {wanted}")


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._VersionAction))]


def test_every_help_shows_the_defaults() -> None:
    """Each option of every subcommand says in its --help what happens when it is not given: argparse's
    "(default: X)", or its own words for a default that is not a plain value."""
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    for name, parser in sub.choices.items():
        text = " ".join(parser.format_help().split())
        for action in _options(parser):
            if action.required or isinstance(action, argparse._StoreTrueAction) or action.nargs == 0:
                continue
            if not action.option_strings and action.nargs != "?":
                continue  # a required positional
            shown = " ".join((action.help or "").split())
            if action.default is None or action.default is False or action.default == "":
                assert "default" in shown or "required" in shown, (name, action.dest)
            else:
                assert "default" in shown or f"{shown} (default: {action.default})" in text, (name, action.dest)


def test_a_relative_event_file_is_looked_for_here_and_the_answer_says_where(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CLI, "invoke", "events/timer.json"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert f"no such file (looked at {tmp_path}/events/timer.json)" in proc.stderr
    assert "dds-backup generate-event timer | dds-backup invoke -" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("template", "expected"), [(None, 300), ("timeout: 300 ", 300), ("timeout: 42 ", 42)])
def test_invoke_simulates_the_templates_timeout(
    configured: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str | None, expected: int
) -> None:
    # GIVEN a folder with (or without) a template.yaml
    if template is not None:
        text = (ROOT / "template.yaml").read_text().replace("timeout: 300 ", template, 1)
        (tmp_path / "template.yaml").write_text(text)
    (tmp_path / "event.json").write_text('{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02", "dry_run": true}')
    monkeypatch.chdir(tmp_path)
    seen: list[int] = []

    class Recording(LocalContext):
        def __init__(self, *, timeout_s: int = 60, **kwargs: Any) -> None:
            seen.append(timeout_s)
            super().__init__(timeout_s=timeout_s, **kwargs)

    monkeypatch.setattr(cli, "LocalContext", Recording)
    # WHEN invoke runs without --timeout THEN the function's timeout is the template's
    assert cli.main(["invoke", "event.json"]) == 0
    assert seen == [expected]
    assert cli.main(["invoke", "--timeout", "7", "event.json"]) == 0
    assert seen[-1] == 7


def test_the_projects_template_says_the_default_timeout() -> None:
    from dds_backup_dev.template import load

    assert load(ROOT / "template.yaml").function.timeout == cli.DEFAULT_TIMEOUT_S


# -- generate-event checks what it prints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["timer", "--request", '{"instance_idd": "x"}'], "--request is not a valid backup request: instance_idd"),
        (["direct", "--request", "{nope"], "--request:"),
        (["smn", "--request", '{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02", "name": "9bad"}'], "name"),
        (["slack", "--request", "{}"], "slack carries a chat command: give --text"),
        (["timer", "--text", "hello"], "timer carries a backup request: give --request"),
        (["apig-status"], "apig-status needs --backup-id"),
    ],
)
def test_generate_event_refuses_what_the_function_would_reject(args: list[str], said: str) -> None:
    env = {
        **clean_env(),
        "WEBHOOK_SECRET": "whsec_Z2VuZXJhdGUtZXZlbnQtdGVzdC1zZWNyZXQ=",
        "SLACK_SIGNING_SECRET": "a" * 32,
    }
    proc = subprocess.run(
        [*CLI, "generate-event", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=30, check=False
    )
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout == ""
    assert said in proc.stderr


def test_a_plain_webhook_secret_signs_the_github_way_and_the_function_accepts_it() -> None:
    env = {**clean_env(), "WEBHOOK_SECRET": "plain-github-style-secret-0123456789"}
    gen = subprocess.run(
        [*CLI, "generate-event", "apig"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=30, check=True
    )
    assert "x-hub-signature-256" in json.loads(gen.stdout)["headers"]
    proc = subprocess.run(
        [*CLI, "invoke", "-"], input=gen.stdout, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert json.loads(proc.stdout)["statusCode"] == 202
    status = subprocess.run(
        [*CLI, "generate-event", "apig-status", "--backup-id", "x"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=30,
        check=False,
    )
    assert status.returncode == 2 and "needs a whsec_ WEBHOOK_SECRET" in status.stderr


# -- progress, interrupts, closed pipes: as a user meets them -----------------------------------------------------


class Child:
    """A CLI process whose stderr is read line by line as it comes (progress lines, then the line after Ctrl-C)."""

    def __init__(self, args: list[str], env: dict[str, str], stdin: str | None = None, cwd: Path = ROOT) -> None:
        self.proc = subprocess.Popen(
            [*CLI, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        assert self.proc.stdin is not None and self.proc.stderr is not None
        if stdin is not None:
            self.proc.stdin.write(stdin)
        self.proc.stdin.close()
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            self.err.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} on stderr; saw {self.err}")

    def interrupt(self, timeout: float = 30) -> tuple[int, str, list[str]]:
        """Ctrl-C: SIGINT, as the terminal sends it; the exit status, stdout and the stderr lines after it."""
        self.proc.send_signal(signal.SIGINT)
        return self.finish(timeout)

    def finish(self, timeout: float = 60) -> tuple[int, str, list[str]]:
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout)
        time.sleep(0.1)
        after: list[str] = []
        while not self.lines.empty():
            after.append(self.lines.get())
        self.err += after
        return code, out, after


def human(lines: list[str]) -> list[str]:
    """The plain-text lines among stderr's (the JSON log lines start with "{")."""
    return [line for line in lines if not line.startswith("{")]


WAITING = '{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02", "wait": true}'


def test_a_long_wait_says_what_how_long_and_until_when_in_plain_lines_that_quiet_silences() -> None:
    # GIVEN a backup that takes 60 s, waited for
    child = Child(["invoke", "--backup-delay", "60", "-"], clean_env(), stdin=WAITING)
    # THEN after 3 s a plain line says what it waits for, how long so far and until when
    line = child.wait_for("so far", timeout=30)
    assert not line.startswith("{")
    assert re.fullmatch(
        r"dds-backup invoke: backup \w+ of instance a89dab5e39394eccbdb77b19d57b0180in02 is building: \d+ s so far, "
        r"until \d\d:\d\d:\d\d at the latest",
        line,
    ), line
    child.interrupt()
    # AND --quiet has none of them
    quiet = Child(["invoke", "--quiet", "--backup-delay", "4.5", "-"], clean_env(), stdin=WAITING)
    code, out, _ = quiet.finish()
    assert code == 0 and json.loads(out)["results"][0]["data"]["outcome"] == "completed"
    assert not [line for line in quiet.err if "so far" in line]
    assert all(line.startswith("{") for line in quiet.err[1:])  # the first says the embedded emulator is used


def test_ctrl_c_while_invoke_waits_is_one_line_and_exit_130() -> None:
    child = Child(["invoke", "--backup-delay", "60", "-"], clean_env(), stdin=WAITING)
    child.wait_for('"backup created"')
    code, out, after = child.interrupt()
    assert code == 130
    assert out == ""
    (line,) = human(after)
    assert line.startswith("dds-backup invoke: interrupted while backup ")
    assert line.endswith("nothing goes on: the embedded emulator stopped with it")
    assert "Traceback" not in "\n".join(child.err)


def test_ctrl_c_against_a_real_dds_says_the_backup_goes_on_and_how_to_see_it(emulator: EmulatorServer) -> None:
    # GIVEN a DDS (the emulator, in this process) where a backup takes a minute
    emulator.state.backup_delay = 60
    env = {**clean_env(), **emulator.env("aksk")}
    child = Child(["invoke", "-"], env, stdin=WAITING)
    child.wait_for('"backup created"')
    code, _, after = child.interrupt()
    # THEN one line: the backup goes on, and the command that shows it
    assert code == 130
    (line,) = human(after)
    (backup_id,) = emulator.state.backups
    assert f"backup {backup_id} goes on in DDS and may still complete" in line
    command = re.search(r"`(.+)` shows it$", line)
    assert command is not None, line
    # AND that command (read only) shows it building
    shown = subprocess.run(
        command.group(1).replace("dds-backup invoke", shlex.join(CLI) + " invoke"),
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    audit = json.loads(shown.stdout)["results"][0]["data"]["audit"]
    assert [b["id"] for b in audit["building"]] == [backup_id]
    assert len(emulator.state.backups) == 1


def test_a_closed_pipe_ends_quietly() -> None:
    for args in (["invoke", "events/timer.json"], ["generate-event", "timer"]):
        proc = subprocess.Popen(
            [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=ROOT
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before anything is written (`| head -0`)
        err = proc.stderr.read()
        assert proc.wait(60) == cli.CLOSED_PIPE
        assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
        assert not [line for line in err.splitlines() if line.startswith("dds-backup") and "emulator" not in line]


def test_a_mistyped_region_is_not_hidden_by_the_embedded_emulator() -> None:
    env = {**clean_env(), "REGION": "eu-fr"}
    proc = subprocess.run([*CLI, "check"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout.startswith("FAIL  configuration: invalid configuration: REGION: eu-fr is not a region with DDS")
    assert "embedded emulator" not in proc.stderr
