"""Chat-ops on Slack, Microsoft Teams and Mattermost: one grammar, each platform's authentication, and the
follow-up posted into the conversation when the backup ends."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

import handler
from dds_backup_dev.context import LocalContext
from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.signing import (
    apig_event,
    mattermost_form,
    mattermost_headers,
    slack_form,
    slack_headers,
    teams_activity,
    teams_headers,
)
from lib import config, logs
from lib.http.chat import grammar
from lib.http.chat.teams import command_text
from lib.http.signatures import teams_signature, verify_teams
from tests.conftest import CATALOG, CHAT_STAND_INS, ORDERS, ROOT, Invoke, log_lines, only_result, user_text
from tests.fake_chat import FakeChat
from tests.test_cli import clean_env

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAMS_TOKEN = "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA="  # the Teams sample's "contoso" key
MATTERMOST_TOKEN = "qzgakf1nx3yt9dr4n8585ihbxy"  # the Mattermost guide's example token
PROJECT = "0549b4a43100d4f32f51c01c2fe4acdb"
FANOUT_TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-fanout"


# -- one grammar ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", grammar.Help()),
        ("  help ", grammar.Help()),
        ("status abc123br02", grammar.Status("abc123br02")),
        ("status", grammar.Status(None)),
        ("status not/an/id", grammar.Status(None)),
        ("orders-prod", grammar.Backup("orders-prod", None)),
        ("orders-prod before the release", grammar.Backup("orders-prod", "before the release")),
        ("audit", grammar.Audit(None, 24)),
        ("audit 6", grammar.Audit(None, 6)),
        ("audit team=orders 48", grammar.Audit("team=orders", 48)),
        ("AUDIT orders-prod", grammar.Audit("orders-prod", 24)),
    ],
)
def test_the_command_grammar(text: str, command: grammar.Command) -> None:
    assert grammar.parse(text) == command


def test_targets_name_instances_by_id_tag_name_or_all() -> None:
    assert grammar.selection(ORDERS) == {"instance_id": ORDERS}
    assert grammar.selection("env=prod") == {"selector": {"tags": {"env": "prod"}}}
    assert grammar.selection("orders-prod") == {"selector": {"name": "orders-prod"}}
    assert grammar.selection(None) == {"selector": {"all": True}}


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("<at>DDSBackup</at> backup orders-prod", "backup orders-prod"),
        ("<p><at>DDS Backup</at>&nbsp;status b1</p>", "status b1"),
        ("<at>DDSBackup</at> audit env=prod &lt;tag&gt;", "audit env=prod <tag>"),
        ("<at>unclosed mention help", "unclosed mention help"),  # markup removed, words kept
        ("help <b", "help <b"),  # an unclosed "<" is no markup
        ("a <<b> c", "a < c"),
    ],
)
def test_a_teams_text_loses_its_mentions_and_markup(text: str, command: str) -> None:
    assert command_text(text) == command


def best_of(call: Any, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("unit", ["<at>", "<", "<at>x</at><"])
def test_a_teams_text_is_cleaned_in_linear_time(unit: str) -> None:
    # GIVEN an authenticated activity whose text is 4 KiB, then 64 KiB, of unclosed markup
    small, large = unit * (4096 // len(unit)), unit * (65536 // len(unit))
    # THEN sixteen times the text costs about sixteen times as much (it cost 256 times as much, seconds at
    # 64 KiB, while a regular expression rescanned the rest from every "<"; bench/jsonsafe.py has the figures)
    growth = best_of(lambda: command_text(large)) / best_of(lambda: command_text(small))
    assert growth < 80, growth


# -- Teams' signature: vectors computed by Microsoft's documented procedure -----------------------------------

# The procedure of the OfficeDev samples (AuthProvider.cs, app.js): "HMAC " + base64(HMAC-SHA256(key =
# base64-decoded token, message = the UTF-8 body)), run with the samples' own example tokens.
VECTOR_1_BODY = base64.b64decode(
    "eyJ0eXBlIjoibWVzc2FnZSIsImlkIjoiMTQ4NTk4MzQwODUxMSIsInRpbWVzdGFtcCI6IjIwMTctMDItMDFUMjE6MTA6MDcuNDM3WiIsInNlcnZp"
    "Y2VVcmwiOiJodHRwczovL3NtYmEudHJhZmZpY21hbmFnZXIubmV0L2FtZXIvIiwiY2hhbm5lbElkIjoibXN0ZWFtcyIsImZyb20iOnsiaWQiOiIy"
    "OToxWEpLSk12YzVHQnRjMkp3WnEwb2o4dEhabXpyUWdGbUIzOUFUaVFXQTg1Z1F0SGllVmtIaWxCWjlYSG9xOWo3WmFxdDdDWi1OSldpN21lMmtI"
    "VEwzQnciLCJuYW1lIjoiSsO8cmdlbiBNw7xsbGVyIiwiYWFkT2JqZWN0SWQiOiI3ZmFmOGFiMi0zZDU2LTQyNDQtYjU4NS0yMGM4YTQyZWQyYjgi"
    "fSwiY29udmVyc2F0aW9uIjp7ImlzR3JvdXAiOnRydWUsImNvbnZlcnNhdGlvblR5cGUiOiJjaGFubmVsIiwiaWQiOiIxOToyNTNiMWYzNDE2NzA0"
    "MDhmYjZmZTUxMDUwYjZlNWNlYkB0aHJlYWQuc2t5cGU7bWVzc2FnZWlkPTE0ODU5ODMxOTQ4MzkifSwidGV4dEZvcm1hdCI6InBsYWluIiwidGV4"
    "dCI6IjxhdD5ERFNCYWNrdXA8L2F0PiBiYWNrdXAgcHJvZC1vcmRlcnMtMDEiLCJjaGFubmVsRGF0YSI6eyJ0ZWFtc0NoYW5uZWxJZCI6IjE5OjI1"
    "M2IxZjM0MTY3MDQwOGZiNmZlNTEwNTBiNmU1Y2ViQHRocmVhZC5za3lwZSIsInRlYW1zVGVhbUlkIjoiMTk6NzEyYzYxZDBlZjM4NGU1ZmE2ODFi"
    "YTkwY2E5NDMzOThAdGhyZWFkLnNreXBlIiwidGVuYW50Ijp7ImlkIjoiNzJmOTg4YmYtODZmMS00MWFmLTkxYWItMmQ3Y2QwMTFkYjQ3In19fQ=="
)


@pytest.mark.parametrize(
    ("token", "body", "header", "tampered"),
    [
        (
            TEAMS_TOKEN,
            VECTOR_1_BODY,
            "HMAC +8+1P0uA/vmBAPMuL64T8YHBMP4KHUOD/HPbX/Xl/2o=",
            "HMAC Kz2TV5DY0zMLrv/fFDyINvK9E6SC+2viqElNq6YVRn8=",
        ),
        (
            "+ZaRRMC8+mpnfGaGsBOmkIFt98bttL5YQRq3p2tXgcE=",
            b'{"type":"message","text":"<at>DDSBackup</at> help"}',
            "HMAC Nr8UdAwTfvDBveVOFccV1o7WDczlpwBnlvTATruK8os=",
            "HMAC /mjAi2yZPMCPDqYp8vTtvMYOpTfDlsDRpbc9ar1nmp8=",
        ),
    ],
)
def test_teams_signature_vectors(token: str, body: bytes, header: str, tampered: str) -> None:
    assert teams_signature(token, body) == header
    assert verify_teams(token, {"authorization": header}, body) is None
    # the same body with a trailing newline has another signature: ours refuses the first one for it
    assert teams_signature(token, body + b"\n") == tampered
    assert verify_teams(token, {"authorization": header}, body + b"\n") == "the HMAC signature does not match"


# -- the routes -----------------------------------------------------------------------------------------------


@pytest.fixture
def chat(configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SLACK_SECRET)
    monkeypatch.setenv("TEAMS_WEBHOOK_TOKEN", TEAMS_TOKEN)
    monkeypatch.setenv("MATTERMOST_TOKEN", MATTERMOST_TOKEN)
    return configured


def teams(text: str, **fields: Any) -> dict[str, Any]:
    body = teams_activity(text, **fields)
    return apig_event("POST", "/teams", body, teams_headers(TEAMS_TOKEN, body))


def mattermost(text: str, header: bool = True, **fields: str) -> dict[str, Any]:
    form = mattermost_form(text, MATTERMOST_TOKEN, **fields)
    headers = mattermost_headers(MATTERMOST_TOKEN) if header else {"content-type": "application/x-www-form-urlencoded"}
    return apig_event("POST", "/mattermost", form, headers)


def slack(text: str, **fields: str) -> dict[str, Any]:
    form = slack_form(text, **fields)
    return apig_event("POST", "/slack", form, slack_headers(SLACK_SECRET, form))


def said(answer: dict[str, Any]) -> str:
    assert answer["statusCode"] == 200, answer
    body = json.loads(answer["body"])
    return str(body["text"])


def test_teams_starts_a_backup_from_a_mention(chat: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(teams("orders-prod before the release"))
    body = json.loads(answer["body"])
    assert body["type"] == "message"
    assert "Backup started for **orders-prod**" in body["text"]
    (backup,) = chat.state.backups.values()
    assert user_text(backup) == "before the release"  # the <at>mention</at> is not part of the command


def test_teams_replies_carry_no_emoji_shortcodes(chat: EmulatorServer, invoke: Invoke) -> None:
    # Teams renders ":warning:" as those letters: every reply it gets uses the characters themselves.
    texts = [
        json.loads(invoke(teams(command))["body"])["text"]
        for command in ("orders-prod", "nosuch-db", "status nosuchbackup", "audit 24", "orders-prod x=y")
    ]
    for text in texts:
        assert re.search(r":[a-z_]+:", text) is None, text
    assert "\U0001f4be Backup started" in texts[0]


def test_teams_replays_are_one_backup(chat: EmulatorServer, invoke: Invoke) -> None:
    event = teams("catalog-staging")
    invoke(event)
    again = said(invoke(event))  # Teams signs no timestamp: a replayed delivery keeps its activity id
    assert "already exists" in again
    assert len(chat.state.backups) == 1


def test_mattermost_accepts_its_token_from_the_header_or_the_form(chat: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(mattermost("orders-prod"))
    assert json.loads(answer["body"])["response_type"] == "ephemeral"
    assert "Backup started for **orders-prod**" in said(answer)
    assert "Usage" in said(invoke(mattermost("help", header=False)))


@pytest.mark.parametrize("platform", ["teams", "mattermost"])
@pytest.mark.parametrize("attack", ["forged", "missing", "wrong secret"])
def test_bad_authentication_gets_401_and_no_dds_call(
    chat: EmulatorServer, invoke: Invoke, platform: str, attack: str
) -> None:
    if platform == "teams":
        body = teams_activity("orders-prod")
        headers = {
            "forged": {"authorization": teams_signature(TEAMS_TOKEN, body)[:-4] + "AAA="},
            "missing": {},
            "wrong secret": teams_headers(base64.b64encode(b"x" * 32).decode(), body),
        }[attack]
        event = apig_event("POST", "/teams", body, headers)
    else:
        token = {"forged": MATTERMOST_TOKEN[:-1] + "x", "missing": "", "wrong secret": "a" * 26}[attack]
        form = mattermost_form("orders-prod", token)
        event = apig_event("POST", "/mattermost", form, mattermost_headers(token) if token else {})
    answer = invoke(event)
    assert answer["statusCode"] == 401
    assert chat.state.requests == []


def test_each_platform_has_its_own_allow_lists(
    chat: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_ALLOWED_USERS", "aad-0002")
    monkeypatch.setenv("MATTERMOST_ALLOWED_CHANNELS", "another-channel")
    assert "not allowed" in said(invoke(teams("orders-prod")))
    assert "TEAMS_ALLOWED_USERS" in said(invoke(teams("orders-prod")))
    assert "MATTERMOST_ALLOWED_CHANNELS" in said(invoke(mattermost("orders-prod")))
    assert chat.state.backups == {}


def test_a_name_several_instances_share_starts_no_backup(chat: EmulatorServer, invoke: Invoke) -> None:
    # GIVEN a second instance named orders-prod (DDS does not require unique names)
    twin = {**chat.state.instances[ORDERS], "id": "0123456789abcdef0123456789abcdefin02"}
    chat.state.instances[twin["id"]] = twin
    # WHEN a user asks for a backup of orders-prod THEN the reply asks for the id, and nothing is created
    assert "`orders-prod` names 2 instances; use the instance id." in said(invoke(slack("orders-prod")))
    assert chat.state.backups == {}
    # AND by id it works
    said(invoke(slack(twin["id"])))
    assert [b.instance_id for b in chat.state.backups.values()] == [twin["id"]]


def test_a_backup_by_name_looks_up_and_backs_up_in_one_session(
    chat: EmulatorServer, invoke: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a command that names the instance: it is looked up, then backed up
    capfd.readouterr()
    assert "started" in said(invoke(slack("orders-prod")))
    # THEN the invocation opened one session and resolved its credentials once, for both
    lines = [line["message"] for line in log_lines(capfd.readouterr().err)]
    assert lines.count("credentials resolved") == 1
    assert [b.instance_id for b in chat.state.backups.values()] == [ORDERS]


def test_a_name_pattern_is_not_a_backup_target(chat: EmulatorServer, invoke: Invoke) -> None:
    text = said(invoke(slack("*-prod")))
    assert "give its exact name or its id" in text and "Usage" in text
    assert chat.state.backups == {} and [r for r in chat.state.requests if "/instances" in r.path] == []


def test_an_audit_from_chat_lists_each_instance(chat: EmulatorServer, invoke: Invoke) -> None:
    text = said(invoke(slack("audit env=prod 24")))
    lines = text.splitlines()
    assert lines[0] == "Audit: a completed backup from the last 24 hours?"
    assert [line.split("*")[1] for line in lines[1:]] == ["billing-prod", "orders-prod"]
    assert all("stale (newest completed: none)" in line for line in lines[1:])
    assert not [r for r in chat.state.requests if r.method in ("POST", "DELETE") and "/auth/" not in r.path]


def test_a_large_audit_from_chat_is_answered_in_the_reply_not_fanned_out(
    chat: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a fan-out topic and 40 instances: more than fit the chat's 2.5 s by the fan-out rule
    monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
    monkeypatch.setenv("MAX_CONCURRENCY", "2")
    chat.state.add_synthetic_instances(40)
    # WHEN the fleet is audited from chat THEN every instance has its verdict in the reply
    lines = said(invoke(slack("audit fleet=bench 24"))).splitlines()[1:]
    assert len(lines) == 40 and all("stale (newest completed: none)" in line for line in lines), lines[:3]
    assert not [r for r in chat.state.requests if "/notifications/" in r.path]


# -- follow-ups -----------------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeChat]:
    server = FakeChat().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def watched(
    chat: EmulatorServer, fake: FakeChat, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[EmulatorServer, FakeChat]]:
    """GIVEN a fan-out topic whose messages come back as invocations (as FunctionGraph's SMN trigger does),
    backups that take a moment, and the fake chat endpoint allowed as a stand-in for the platforms."""
    monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
    CHAT_STAND_INS.add(fake.origin)
    monkeypatch.setenv("TEAMS_INCOMING_WEBHOOK_URL", fake.url("/workflows/teams"))
    chat.state.backup_delay = 0.5

    def platform(event: dict[str, Any]) -> None:
        handler.handler(event, LocalContext(timeout_s=30), chat_stand_ins=CHAT_STAND_INS)

    chat.state.forward = platform
    chat.state.forward_topics = {FANOUT_TOPIC}
    yield chat, fake
    wait_for(lambda: chat.state.forwarding == 0)


def wait_for(condition: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition()


@pytest.mark.parametrize("platform", ["slack", "teams", "mattermost"])
def test_the_outcome_is_posted_into_the_conversation_when_the_backup_ends(
    watched: tuple[EmulatorServer, FakeChat], invoke: Invoke, platform: str
) -> None:
    emulator, fake = watched
    response_url = fake.url("/hooks/commands/k3y4")
    event = {
        "slack": lambda: slack("catalog-staging", response_url=response_url),
        "teams": lambda: teams("catalog-staging"),
        "mattermost": lambda: mattermost("catalog-staging", response_url=response_url),
    }[platform]()
    text = said(invoke(event)) if platform != "teams" else json.loads(invoke(event)["body"])["text"]
    assert "I will post here when it is done." in text
    wait_for(lambda: len(fake.received) == 1)
    (path, body) = fake.received[0]
    (backup,) = emulator.state.backups.values()
    message = body["text"] if platform != "teams" else body["attachments"][0]["content"]["body"][0]["text"]
    assert "completed" in message and backup.name in message and "catalog-staging" in message
    assert "MB" in message and "took" in message  # the size and how long it took
    assert path == ("/workflows/teams" if platform == "teams" else "/hooks/commands/k3y4")


def test_a_failed_backup_is_posted_with_the_reason(watched: tuple[EmulatorServer, FakeChat], invoke: Invoke) -> None:
    emulator, fake = watched
    emulator.state.failing_instances.add(CATALOG)
    said(invoke(slack("catalog-staging", response_url=fake.url("/hooks/commands/k3y4"))))
    wait_for(lambda: len(fake.received) == 1)
    assert "failed: Backup failed: the emulator was told to fail this instance" in fake.received[0][1]["text"]


def test_a_backup_that_outlasts_the_watching_invocation_is_watched_on_until_it_ends(
    watched: tuple[EmulatorServer, FakeChat], invoke: Invoke
) -> None:
    # GIVEN watching invocations of 3 s and a backup that takes 5 s
    emulator, fake = watched
    emulator.state.backup_delay = 5.0
    rounds: list[list[str]] = []

    def short(event: dict[str, Any]) -> None:
        result = handler.handler(event, LocalContext(timeout_s=3), chat_stand_ins=CHAT_STAND_INS)
        rounds.append([r["data"]["follow_up"] or "" for r in result["results"]])

    emulator.state.forward = short
    # WHEN a chat command starts it
    said(invoke(slack("catalog-staging", response_url=fake.url("/hooks/commands/k3y4"))))
    # THEN each invocation that runs out of time hands the watch on, and the last one posts the outcome
    wait_for(lambda: len(fake.received) == 1, seconds=30)
    assert "completed" in fake.received[0][1]["text"]
    # (the invocation that posted returns a moment after the post arrived)
    wait_for(lambda: bool(rounds) and rounds[-1] != ["watching"], seconds=10)
    assert len(rounds) >= 2 and all(r == ["watching"] for r in rounds[:-1]), rounds
    assert rounds[-1] == ["posted"]


def test_a_follow_up_outside_the_platforms_hosts_is_never_contacted(
    watched: tuple[EmulatorServer, FakeChat], invoke: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    _, fake = watched
    elsewhere = FakeChat().start()  # listening, but not a stand-in for any platform
    try:
        text = said(invoke(slack("catalog-staging", response_url=elsewhere.url("/hooks/commands/k3y4"))))
        assert "Follow it with" in text  # no watch was handed on
        time.sleep(1.0)
        assert elsewhere.received == [] and fake.received == []
        assert "response_url refused: not a slack host (127.0.0.1)" in capfd.readouterr().err
    finally:
        elsewhere.stop()


def test_no_configuration_or_request_can_point_follow_ups_at_a_loopback_stand_in(
    chat: EmulatorServer, fake: FakeChat, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a listening stand-in that the dev side did NOT hand to the handler (as on the platform: it never can)
    monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
    assert fake.origin not in CHAT_STAND_INS
    # WHEN a command names it as its response_url THEN it is refused, and nothing is ever posted there
    text = said(invoke(slack("catalog-staging", response_url=fake.url("/hooks/commands/k3y4"))))
    assert "Follow it with" in text
    # AND a Teams follow-up URL on loopback is an invalid configuration, however it is set
    monkeypatch.setenv("TEAMS_INCOMING_WEBHOOK_URL", fake.url("/workflows/teams"))
    answer = invoke(teams("orders-prod"))
    assert answer["statusCode"] == 500 and json.loads(answer["body"])["error"]["code"] == "INVALID_CONFIG"
    time.sleep(0.5)
    assert fake.received == []
    # AND lib keeps no registry that a test, or anything else, could fill: the stand-ins are a parameter alone
    for path in (ROOT / "lib").rglob("*.py"):
        assert "TEST_ORIGINS" not in path.read_text() and "allow_test_origin" not in path.read_text(), path


def test_a_watch_that_names_another_host_is_refused_when_it_would_post(
    watched: tuple[EmulatorServer, FakeChat], invoke: Invoke
) -> None:
    emulator, _ = watched
    elsewhere = FakeChat().start()
    try:
        emulator.state.forward = None  # this test delivers the SMN message itself
        created = invoke({"instance_id": ORDERS})["results"][0]["data"]
        watch = {
            "backup_id": created["backup_id"],
            "job_id": created["job_id"],
            "name": created["name"],
            "follow_up": {"platform": "slack", "url": elsewhere.url("/x"), "since": time.time()},
        }
        origin = {"identity": "slack:T1.1", "trigger": "slack", "scope": "slack:T1", "correlation_id": "c"}
        message = json.dumps({"request": {"instance_id": ORDERS}, "origin": origin, "watch": watch})
        result = invoke({"record": [{"smn": {"message_id": "w-1", "message": message, "topic_urn": FANOUT_TOPIC}}]})
        data = result["results"][0]["data"]
        assert data["outcome"] == "completed"
        assert data["follow_up"].startswith("refused")
        assert elsewhere.received == []
    finally:
        elsewhere.stop()


def test_a_watch_or_origin_from_anyone_but_the_function_itself_is_refused(
    chat: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a fan-out topic, and requests that carry the function's own fields from elsewhere
    monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
    watch = {"backup_id": "b", "name": "n", "follow_up": {"platform": "slack", "url": "https://hooks.slack.com/x"}}
    origin = {"identity": "timer:nightly:2026-11-29T02:00:00+01:00", "trigger": "timer", "scope": "timer:nightly"}
    origin["correlation_id"] = "c"
    requests = [
        {"instance_id": ORDERS, "watch": watch},
        {"instance_id": ORDERS, "origin": origin},
        {"request": {"instance_id": ORDERS}, "origin": origin, "watch": watch},  # the function's own message
    ]
    other_topic = FANOUT_TOPIC.replace("dds-backup-fanout", "dds-backup-requests")
    for request in requests:
        message = json.dumps(request)
        for event in (
            request,  # a direct invocation
            {"record": [{"smn": {"message_id": "m-1", "message": message, "topic_urn": other_topic}}]},
            {"record": [{"smn": {"message_id": "m-2", "message": message}}]},
            {"version": "v1.0", "time": "2026-11-29T02:00:00+01:00", "trigger_type": "TIMER", "user_event": message},
        ):
            # THEN each is rejected, naming the field, and nothing is made or posted
            data = only_result(invoke(event))
            assert data["outcome"] == "rejected", event
            assert "set by dds-backup itself" in data["error"]["message"]
    assert chat.state.backups == {} and not [r for r in chat.state.requests if "/notifications/" in r.path]


def test_a_follow_up_that_cannot_be_posted_never_fails_the_backup(
    watched: tuple[EmulatorServer, FakeChat], invoke: Invoke
) -> None:
    emulator, fake = watched
    emulator.state.forward = None
    fake.status = 500
    said(invoke(slack("catalog-staging", response_url=fake.url("/hooks/commands/k3y4"))))
    (published,) = [m for m in emulator.state.published if m.topic_urn == FANOUT_TOPIC]
    result = invoke(emulator.state.smn_event(published))
    data = result["results"][0]["data"]
    assert (data["outcome"], data["follow_up"]) == ("completed", "failed: HTTP 500")
    assert result["ok"] is True and result["_raised"] is False


def test_without_a_topic_the_reply_points_to_status(chat: EmulatorServer, invoke: Invoke) -> None:
    text = said(invoke(slack("catalog-staging")))
    assert "Follow it with `/dds-backup status" in text
    assert "I will post here" not in text


def test_a_resent_slack_form_is_one_backup_and_one_watch(
    watched: tuple[EmulatorServer, FakeChat], invoke: Invoke
) -> None:
    emulator, fake = watched
    emulator.state.forward = None
    form = urlencode({"text": "catalog-staging", "trigger_id": "t-1", "response_url": fake.url("/hooks/commands/a1")})
    event = apig_event("POST", "/slack", form.encode(), slack_headers(SLACK_SECRET, form.encode()))
    invoke(event)
    invoke(event)
    assert len(emulator.state.backups) == 1


# -- against `dds-backup serve`, as the platforms would call it ------------------------------------------------


@pytest.fixture
def served(watched: tuple[EmulatorServer, FakeChat]) -> Iterator[tuple[str, EmulatorServer, FakeChat]]:
    emulator, fake = watched
    env = {
        **clean_env(),
        **emulator.env("aksk"),
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "TEAMS_WEBHOOK_TOKEN": TEAMS_TOKEN,
        "MATTERMOST_TOKEN": MATTERMOST_TOKEN,
        "FANOUT_TOPIC_URN": FANOUT_TOPIC,
        "TEAMS_INCOMING_WEBHOOK_URL": fake.url("/workflows/teams"),
    }
    command = [sys.executable, "-m", "dds_backup_dev.cli", "serve", "--port", "0", "--fake-chat-origin", fake.origin]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())["url"], emulator, fake
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("platform", ["slack", "teams", "mattermost"])
def test_serve_answers_each_platform_and_the_follow_up_arrives(
    served: tuple[str, EmulatorServer, FakeChat], platform: str
) -> None:
    url, emulator, fake = served
    response_url = fake.url("/hooks/commands/s3rv3")
    if platform == "teams":
        body = teams_activity("catalog-staging")
        headers = teams_headers(TEAMS_TOKEN, body)
    elif platform == "slack":
        body = slack_form("catalog-staging", response_url=response_url)
        headers = slack_headers(SLACK_SECRET, body)
    else:
        body = mattermost_form("catalog-staging", MATTERMOST_TOKEN, response_url=response_url)
        headers = mattermost_headers(MATTERMOST_TOKEN)
    request = urllib.request.Request(f"{url}/{platform}", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert "I will post here when it is done." in json.loads(answer.read())["text"]
    wait_for(lambda: len(fake.received) == 1)
    (backup,) = emulator.state.backups.values()
    assert backup.name in json.dumps(fake.received[0][1])
    # a forged one is refused before anything happens
    forged = urllib.request.Request(f"{url}/{platform}", data=body + b"x", headers=headers, method="POST")
    if platform != "mattermost":  # Mattermost signs nothing; its token is the same in a changed body
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(forged, timeout=30)
        assert caught.value.code == 401


# -- what one caller sends never changes another caller's answer or log line -------------------------------------

HOSTILE_URLS = ["created", "Backup started", "dds-backup", "orders-prod", "x" * 60_000]


@pytest.mark.parametrize("mode", ["mattermost", "CHAT_AUTH=gateway"])
def test_a_hostile_response_url_changes_nothing_for_the_next_caller(
    chat: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], mode: str
) -> None:
    # GIVEN callers whose response_url is a word that other answers and log lines hold (found: `*** id`,
    # service.name='dds-***' in every later line of the process, for every caller)
    if mode == "CHAT_AUTH=gateway":
        monkeypatch.setenv("CHAT_AUTH", "gateway")
    for url in HOSTILE_URLS:
        event = mattermost("help", response_url=url) if mode == "mattermost" else slack_unsigned(url)
        said(invoke(event))
    capfd.readouterr()
    # WHEN another caller starts a backup
    text = said(invoke(mattermost("orders-prod")))
    lines = capfd.readouterr().err
    # THEN its answer and its log lines are as they would be: nothing masked, nothing kept from the others
    assert "***" not in text and "Backup started for **orders-prod**" in text
    records = log_lines(lines)
    assert records and all(r["service.name"] == "dds-backup" for r in records)
    assert "***" not in lines
    assert any(r.get("cloudevent", {}).get("data", {}).get("outcome") == "created" for r in records)
    assert not set(HOSTILE_URLS) & set(logs._secrets)  # the process keeps nothing of any caller's URL
    sys.stderr.write(lines)


def slack_unsigned(response_url: str) -> dict[str, Any]:
    return apig_event("POST", "/slack", slack_form("help", response_url=response_url))


def test_an_allowed_response_url_is_masked_in_its_own_request_only(
    chat: EmulatorServer, invoke: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a request with a real Slack response_url, and a later request whose text holds that same URL
    url = "https://hooks.slack.com/commands/T0001/1/s3cr3t-capability"
    invoke(slack("help", response_url=url))
    first = capfd.readouterr().err
    said(invoke(slack(f"audit {url}")))  # the text is echoed nowhere in the log, but the URL is no secret here
    second = capfd.readouterr().err
    # THEN the first request's lines never show it, and the process keeps nothing of it
    assert url not in first
    assert url not in logs._secrets
    sys.stderr.write(first + second)


def test_the_values_a_request_masks_are_bounded_and_scoped() -> None:
    stream = io.StringIO()
    log = logs.configure("INFO", stream=stream)
    url = "https://hooks.slack.com/commands/T0001/1/abc"
    with logs.scope():
        assert logs.mask_here(url) is True
        log.info(f"posting to {url}")
        with logs.scope():  # an order inside the request: the request's values are masked here too
            log.info(f"order sees {url}")
            assert logs.mask_here(url + "/2") is True
        log.info(f"after the order {url}/2")
        # bounded: at most MAX_SCOPED_VALUES values and MAX_SCOPED_CHARS characters per scope
        kept = [logs.mask_here(f"{url}/{i:04d}") for i in range(logs.MAX_SCOPED_VALUES + 2)]
        assert kept.count(True) == logs.MAX_SCOPED_VALUES - 1
        assert logs.mask_here("y" * (logs.MAX_SCOPED_CHARS + 1)) is False
        assert logs.mask_here("short") is False
    log.info(f"another request {url}")
    assert logs.mask_here(url) is False  # outside any request: nothing can be masked, so nothing is used
    lines = [rec["message"] for rec in log_lines(stream.getvalue())]
    assert lines == [
        "posting to ***",
        "order sees ***",
        "after the order ***/2",  # the order's own value ended with the order
        f"another request {url}",
    ]
    assert logs.mask_here("z" * 10) is False


@pytest.mark.servers
async def test_a_follow_up_that_cannot_be_masked_is_not_posted(fake: FakeChat) -> None:
    from lib.chat.post import ChatPoster
    from lib.models import FollowUp
    from lib.runtime import Deadline

    settings = config.load_settings(lambda _: None)
    async with aiohttp.ClientSession() as session:
        poster = ChatPoster(session, settings, Deadline(time.monotonic() + 10), stand_ins=frozenset({fake.origin}))
        follow_up = FollowUp(platform="slack", url=fake.url("/hooks/commands/k1"))
        with logs.scope():
            for i in range(logs.MAX_SCOPED_VALUES):
                assert logs.mask_here(f"https://hooks.slack.com/commands/T/{i}/x")
            assert (await poster.post(follow_up, "done")).startswith("refused: ")
        with logs.scope():
            assert await poster.post(follow_up, "done") == "posted"
    assert len(fake.received) == 1
