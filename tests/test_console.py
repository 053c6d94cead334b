"""What the CLI says on stderr besides the log: the progress of a long wait, and the line after Ctrl-C."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import time

import pytest

from dds_backup_dev.console import Activity, Heartbeat, duration
from tests.conftest import ROOT
from tests.test_cli import CLI, clean_env


def test_the_first_line_comes_after_first_and_then_one_every_every() -> None:
    # GIVEN a wait measured in tenths instead of seconds (the schedule is the same: first after 3, then every 10)
    stream = io.StringIO()
    activity = Activity("invoke", doing="waiting for backup b1", until=time.time() + 60)
    with Heartbeat(activity, stream=stream, first=0.3, every=1.0):
        time.sleep(0.2)
        assert stream.getvalue() == ""  # a short wait says nothing
        time.sleep(0.25)
        assert len(stream.getvalue().splitlines()) == 1
        time.sleep(1.1)
        assert len(stream.getvalue().splitlines()) == 2
    time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # stopped with the wait
    assert lines[0].startswith("dds-backup invoke: waiting for backup b1: 0 s so far, until ")
    assert lines[0].endswith(" at the latest")
    assert not any(line.startswith("{") for line in lines)


def test_quiet_says_nothing() -> None:
    stream = io.StringIO()
    with Heartbeat(Activity("check"), quiet=True, stream=stream, first=0.01, every=0.01):
        time.sleep(0.1)
    assert stream.getvalue() == ""


def test_durations_read_as_a_person_says_them() -> None:
    assert [duration(s) for s in (0.4, 7, 65, 3725)] == ["0 s", "7 s", "1 min 05 s", "1 h 02 min"]


def test_the_line_after_an_interrupt_says_what_and_what_remains() -> None:
    activity = Activity("check", doing="listing the backups")
    assert activity.interrupt_line().startswith("dds-backup check: interrupted while listing the backups (0 s); ")
    activity.interrupted = lambda _: "the check only reads: nothing was changed"
    assert activity.interrupt_line().endswith("; the check only reads: nothing was changed")


@pytest.mark.servers
def test_check_prints_its_report_before_any_log_line() -> None:
    # GIVEN an endpoint where nothing answers: the client logs each retry while the check runs
    env = {
        **clean_env(),
        "DDS_ENDPOINT": "http://127.0.0.1:9",
        "HUAWEICLOUD_SDK_AK": "AK",
        "HUAWEICLOUD_SDK_SK": "SK-x",
    }
    env["PROJECT_ID"] = "0549b4a43100d4f32f51c01c2fe4acdb"
    proc = subprocess.run(
        [*CLI, "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT, timeout=120
    )
    lines = proc.stdout.splitlines()
    logged = [n for n, line in enumerate(lines) if line.startswith("{")]
    report = [n for n, line in enumerate(lines) if line.startswith(("ok ", "FAIL", "skip", "dds-backup check:"))]
    assert logged, "the retries were logged"
    assert report and max(report) < min(logged), lines  # the report whole, then the log
    assert all(json.loads(lines[n])["level"] in ("WARNING", "ERROR") for n in logged)


@pytest.mark.servers
def test_a_check_that_waits_on_a_silent_endpoint_says_what_it_waits_for() -> None:
    # GIVEN a DDS endpoint that accepts connections and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        env = {
            **clean_env(),
            "DDS_ENDPOINT": f"http://127.0.0.1:{port}",
            "PROJECT_ID": "0549b4a43100d4f32f51c01c2fe4acdb",
        }
        env.update(
            HUAWEICLOUD_SDK_AK="AK", HUAWEICLOUD_SDK_SK="SK-x", REQUEST_TIMEOUT_SECONDS="5", RETRY_MAX_ATTEMPTS="1"
        )
        proc = subprocess.run([*CLI, "check"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    # THEN while it waits, a plain line says what for, how long, and until when
    progress = [line for line in proc.stderr.splitlines() if "so far" in line]
    assert progress, proc.stderr
    assert progress[0].startswith(f"dds-backup check: listing the instances at http://127.0.0.1:{port}: ")
    assert progress[0].endswith(" at the latest")
    assert proc.returncode == 1 and "FAIL  DDS endpoint" in proc.stdout
