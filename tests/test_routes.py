"""The webhook routes through API Gateway events, end to end to the emulator."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from dds_backup_dev.signing import (
    apig_event,
    github_headers,
    json_body,
    mattermost_form,
    mattermost_headers,
    slack_form,
    slack_headers,
    standard_webhooks_headers,
    status_query,
    teams_activity,
    teams_headers,
)
from lib.config import load_settings
from lib.http import app, auth
from lib.http.router import Route
from tests.conftest import (
    BILLING,
    CATALOG,
    FROZEN,
    ORDERS,
    PLATFORM_EVENTS,
    Invoke,
    load_json,
    log_lines,
    user_text,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
GITHUB_SECRET = "It's a Secret to Everybody"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def webhooks(configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SLACK_SECRET)
    return configured


def body_of(answer: dict[str, Any]) -> Any:
    assert set(answer) - {"_raised"} == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert isinstance(answer["statusCode"], int) and isinstance(answer["body"], str)
    assert answer["isBase64Encoded"] is False
    assert answer["headers"]["Content-Type"] == "application/json"
    return json.loads(answer["body"])


def post_backups(data: Any, secret: str = SECRET, **kw: Any) -> dict[str, Any]:
    body = json_body(data)
    return apig_event("POST", "/backups", body, standard_webhooks_headers(secret, body, **kw))


def dds_calls(emulator: EmulatorServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.state.requests if "/auth/" not in r.path]


def test_post_backups_answers_202_with_a_location_to_poll(webhooks: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(post_backups({"instance_id": ORDERS, "description": "pre-deploy"}))
    body = body_of(answer)
    assert answer["statusCode"] == 202
    assert answer["_raised"] is False
    assert answer["headers"]["Location"] == f"/backups/{body['backup_id']}"
    assert body["status"] == "BUILDING" and body["outcome"] == "created"
    assert body["backup_id"] in webhooks.state.backups
    # WHEN the pipeline polls the Location THEN it sees BUILDING, later COMPLETED
    poll = status_query(SECRET, answer["headers"]["Location"])
    first = invoke(poll)
    assert (first["statusCode"], body_of(first)["status"]) == (200, "BUILDING")
    webhooks.state.backup_delay = 0
    later = body_of(invoke(poll))
    assert later["status"] == "COMPLETED"
    assert later["name"] == body["name"]


def test_post_backups_with_wait_answers_200_when_completed(webhooks: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(post_backups({"instance_id": BILLING, "wait": True}))
    assert answer["statusCode"] == 200
    assert body_of(answer)["status"] == "COMPLETED"


def test_wait_beyond_the_budget_answers_202_not_an_error(
    webhooks: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_WAIT_SECONDS", "0.5")
    webhooks.state.backup_delay = 30
    answer = invoke(post_backups({"instance_id": CATALOG, "wait": True}))
    assert answer["statusCode"] == 202
    assert body_of(answer)["status"] == "BUILDING"
    assert "Location" in answer["headers"]


def test_webhook_id_is_the_idempotency_key(webhooks: EmulatorServer, invoke: Invoke) -> None:
    first = invoke(post_backups({"instance_id": ORDERS}, msg_id="msg_deploy_4711"))
    again = invoke(post_backups({"instance_id": ORDERS}, msg_id="msg_deploy_4711"))  # sender's retry
    assert (first["statusCode"], again["statusCode"]) == (202, 200)
    assert body_of(again)["outcome"] == "exists"
    assert body_of(again)["backup_id"] == body_of(first)["backup_id"]
    assert len(webhooks.state.backups) == 1


def test_github_mode_is_identified_by_the_signed_body_not_the_delivery_header(
    webhooks: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", GITHUB_SECRET)  # GitHub uses the whole string as the key
    body = json_body({"instance_id": ORDERS})
    first = invoke(apig_event("POST", "/backups", body, github_headers(GITHUB_SECRET, body, delivery="d-1")))
    assert first["statusCode"] == 202
    # WHEN the captured request is replayed with a new, unsigned delivery id THEN it is the same backup
    replay = body_of(invoke(apig_event("POST", "/backups", body, github_headers(GITHUB_SECRET, body, delivery="d-2"))))
    assert (replay["outcome"], replay["backup_id"]) == ("exists", body_of(first)["backup_id"])
    assert len(webhooks.state.backups) == 1
    # A pipeline that wants one backup per deployment says so in the signed body
    webhooks.state.backup_delay = 0
    keyed = json_body({"instance_id": ORDERS, "idempotency_key": "deploy-78"})
    answer = invoke(apig_event("POST", "/backups", keyed, github_headers(GITHUB_SECRET, keyed)))
    assert body_of(answer)["outcome"] == "created"


def test_an_unsigned_delivery_id_cannot_claim_a_future_webhook_id(
    webhooks: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", GITHUB_SECRET)
    body = json_body({"instance_id": ORDERS})
    invoke(apig_event("POST", "/backups", body, github_headers(GITHUB_SECRET, body, delivery="deploy-4711")))
    # THEN a Standard Webhooks delivery with that id later is a backup of its own (the ids live apart)
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    webhooks.state.backup_delay = 0
    later = body_of(invoke(post_backups({"instance_id": ORDERS}, msg_id="deploy-4711")))
    assert later["outcome"] == "created"
    assert len(webhooks.state.backups) == 2


def test_status_queries_are_bound_to_their_route(
    webhooks: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = body_of(invoke(post_backups({"instance_id": ORDERS})))
    path = f"/backups/{made['backup_id']}"
    assert invoke(status_query(SECRET, path))["statusCode"] == 200
    # A GET signature for one backup does not open another
    other = status_query(SECRET, "/backups/another1")
    other["path"] = path
    assert invoke(other)["statusCode"] == 401
    # A POST delivery's headers replayed on a GET are refused
    post = post_backups({"instance_id": ORDERS})
    replayed = apig_event("GET", path, b"", {k: v for k, v in post["headers"].items() if k.startswith("webhook-")})
    assert invoke(replayed)["statusCode"] == 401
    # GitHub's signature over an empty body is a constant: it never opens a status
    monkeypatch.setenv("WEBHOOK_SECRET", GITHUB_SECRET)
    constant = invoke(apig_event("GET", path, b"", github_headers(GITHUB_SECRET, b"")))
    assert constant["statusCode"] == 401
    assert "only authorises POST" in body_of(constant)["error"]["message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[" * 5000 + b"]" * 5000, "JSON_TOO_DEEP"),
        (b'{"instance_id": "' + ORDERS.encode() + b'", "instance_id": "' + BILLING.encode() + b'"}', "DUPLICATE_KEY"),
    ],
)
def test_hostile_json_bodies_get_400_not_500(webhooks: EmulatorServer, invoke: Invoke, body: bytes, code: str) -> None:
    answer = invoke(apig_event("POST", "/backups", body, standard_webhooks_headers(SECRET, body)))
    assert (answer["statusCode"], body_of(answer)["error"]["code"]) == (400, code)
    assert webhooks.state.backups == {}


def test_line_separators_in_an_unauthenticated_path_stay_on_one_log_line(
    webhooks: EmulatorServer, invoke: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = invoke(apig_event("POST", '/slack\u2028{"level": "ERROR"}\u0085x\u2029', b""))
    assert answer["statusCode"] == 404
    err = capfd.readouterr().err
    for line in err.split("\n"):
        if line:
            json.loads(line)  # every physical line is one whole JSON object
    assert "\u2028" not in err and "\u0085" not in err and "\u2029" not in err


def forged(event: dict[str, Any]) -> dict[str, Any]:
    headers = event["headers"]
    for key in ("webhook-signature", "x-slack-signature"):
        if key in headers:
            headers[key] = headers[key][:-4] + ("AAAA" if key == "webhook-signature" else "0000")
    return event


def _post_event(ts: int | None = None) -> dict[str, Any]:
    return post_backups({"instance_id": ORDERS}, ts=ts)


def _get_event(ts: int | None = None) -> dict[str, Any]:
    return status_query(SECRET, "/backups/abc123br02", ts=ts)


def _slack_event(ts: int | None = None) -> dict[str, Any]:
    body = slack_form(f"{ORDERS} from slack")
    return apig_event("POST", "/slack", body, slack_headers(SLACK_SECRET, body, ts=ts))


ROUTE_EVENTS: dict[str, Callable[..., dict[str, Any]]] = {
    "post backups": _post_event,
    "get backup": _get_event,
    "slack": _slack_event,
}


@pytest.mark.parametrize("route", ROUTE_EVENTS)
@pytest.mark.parametrize("attack", ["forged", "stale", "missing", "wrong secret"])
def test_bad_signatures_get_401_and_no_dds_call(
    webhooks: EmulatorServer, invoke: Invoke, route: str, attack: str
) -> None:
    make = ROUTE_EVENTS[route]
    if attack == "forged":
        event = forged(make())
    elif attack == "stale":
        event = make(ts=1531420618)
    elif attack == "missing":
        event = make()
        for key in list(event["headers"]):
            if "signature" in key or key.startswith("webhook-"):
                del event["headers"][key]
    else:
        event = make()
        event["headers"].update(
            standard_webhooks_headers(
                "whsec_" + base64.b64encode(b"not-the-secret").decode(), base64.b64decode(event["body"])
            )
            if route != "slack"
            else slack_headers("not-the-secret", base64.b64decode(event["body"]))
        )
    answer = invoke(event)
    assert answer["statusCode"] == 401
    assert body_of(answer)["error"]["code"] == "UNAUTHENTICATED"
    assert webhooks.state.requests == []  # not even an IAM token was fetched


@pytest.mark.parametrize("route", ["/backups", "/slack"])
def test_no_secret_configured_fails_closed(configured: EmulatorServer, invoke: Invoke, route: str) -> None:
    body = json_body({"instance_id": ORDERS})
    answer = invoke(apig_event("POST", route, body, standard_webhooks_headers(SECRET, body)))
    assert answer["statusCode"] == 401
    assert "not configured" in body_of(answer)["error"]["message"]
    assert configured.state.requests == []


@pytest.mark.parametrize("route", ["/backups", "/slack", "/teams", "/mattermost"])
def test_an_invalid_configuration_is_not_described_to_callers(
    webhooks: EmulatorServer,
    invoke: Invoke,
    route: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a configuration that cannot be read (a duplicated key in DEFAULT_REQUEST)
    monkeypatch.setenv("DEFAULT_REQUEST", '{"instance_id": "a", "instance_id": "b"}')
    # WHEN anyone, signed or not, calls a route
    form = route in ("/slack", "/mattermost")
    body, kind = (b"text=x", "application/x-www-form-urlencoded") if form else (b"{}", "application/json")
    answer = invoke(apig_event("POST", route, body, {"content-type": kind}))
    # THEN the answer says only that the configuration is invalid; the log says what is wrong
    assert answer["statusCode"] == 500
    error = body_of(answer)["error"]
    assert error["code"] == "INVALID_CONFIG" and "instance_id" not in error["message"]
    assert "its log says what to fix" in error["message"]
    assert "DEFAULT_REQUEST" in capfd.readouterr().err
    assert webhooks.state.requests == []


def test_gateway_auth_mode_trusts_api_gateway(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_AUTH", "gateway")
    answer = invoke(apig_event("POST", "/backups", json_body({"instance_id": ORDERS})))
    assert answer["statusCode"] == 202


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (apig_event("POST", "/nowhere", b"{}"), 404, "NOT_FOUND"),
        (apig_event("DELETE", "/backups", b""), 405, "METHOD_NOT_ALLOWED"),
        (apig_event("PUT", "/slack", b""), 405, "METHOD_NOT_ALLOWED"),
        ({**apig_event("POST", "/backups", b""), "body": "%%%not base64"}, 400, "INVALID_BODY"),
        (apig_event("POST", "/backups", b"x" * (65 * 1024)), 413, "BODY_TOO_LARGE"),
    ],
)
def test_bad_http_input_gets_a_json_error(
    webhooks: EmulatorServer, invoke: Invoke, event: dict[str, Any], status: int, code: str
) -> None:
    answer = invoke(event)
    assert answer["statusCode"] == status
    assert body_of(answer)["error"]["code"] == code
    assert webhooks.state.requests == []


def test_method_not_allowed_names_the_allowed_one(webhooks: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(apig_event("DELETE", "/backups", b""))
    assert answer["headers"]["Allow"] == "POST"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"\xff\xfe not utf-8", 400, "INVALID_BODY"),
        (b"{not json", 400, "INVALID_JSON"),
        (b"[1, 2]", 400, "INVALID_REQUEST"),
        (json_body({"instance_id": ORDERS, "nmae": "x"}), 400, "INVALID_REQUEST"),
        (json_body({"instance_id": "doesnotexist0000in02"}), 404, "INSTANCE_NOT_FOUND"),
    ],
)
def test_signed_but_invalid_bodies(
    webhooks: EmulatorServer, invoke: Invoke, body: bytes, status: int, code: str
) -> None:
    answer = invoke(apig_event("POST", "/backups", body, standard_webhooks_headers(SECRET, body)))
    assert answer["statusCode"] == status
    payload = body_of(answer)
    assert (payload.get("error") or {}).get("code") == code
    assert not [c for c in dds_calls(webhooks) if c.startswith("POST")]


def test_field_errors_are_listed(webhooks: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(post_backups({"instance_id": ORDERS, "nmae": "x", "description": "a=b"}))
    fields = {d["field"] for d in body_of(answer)["error"]["details"]}
    assert fields == {"nmae", "description"}


def test_the_functions_own_fields_are_refused_from_webhooks(webhooks: EmulatorServer, invoke: Invoke) -> None:
    origin = {"identity": "timer:nightly:2026-11-29T02:00:00+01:00", "trigger": "timer", "scope": "timer:nightly"}
    origin["correlation_id"] = "c"
    answer = invoke(post_backups({"instance_id": ORDERS, "origin": origin}))
    assert answer["statusCode"] == 400
    (detail,) = body_of(answer)["error"]["details"]
    assert detail == {"field": "origin", "message": "set by dds-backup itself; not accepted in requests"}
    assert dds_calls(webhooks) == []


def test_dds_failures_map_to_502_and_503(webhooks: EmulatorServer, invoke: Invoke) -> None:
    busy = invoke(post_backups({"instance_id": FROZEN}))
    assert busy["statusCode"] == 503 and busy["headers"]["Retry-After"] == "30"
    assert busy["_raised"] is False  # a synchronous caller gets the answer; nothing to retry on the platform side
    webhooks.state.faults.append(Fault("POST", r"/backups$", 403, "DBS.280032"))
    denied = invoke(post_backups({"instance_id": ORDERS}))
    assert denied["statusCode"] == 502
    assert body_of(denied)["error"]["code"] == "DBS.280032"


def test_get_unknown_backup_is_404(webhooks: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(status_query(SECRET, "/backups/nope"))
    assert answer["statusCode"] == 404


def test_platform_apig_samples_get_valid_answers(webhooks: EmulatorServer, invoke: Invoke) -> None:
    for sample in ("apig_event.json", "apig_base64_event.json", "apig_event_with_params.json"):
        answer = invoke(load_json(PLATFORM_EVENTS / sample))
        assert answer["statusCode"] in (404, 405)
        body_of(answer)


# -- Slack --------------------------------------------------------------------------------------------


def slack(text: str, **fields: str) -> dict[str, Any]:
    body = slack_form(text, **fields)
    return apig_event("POST", "/slack", body, slack_headers(SLACK_SECRET, body))


def slack_text(answer: dict[str, Any]) -> str:
    assert answer["statusCode"] == 200
    payload = body_of(answer)
    assert payload["response_type"] == "ephemeral"
    text: str = payload["text"]
    return text


def test_slack_backup_by_instance_name(webhooks: EmulatorServer, invoke: Invoke) -> None:
    text = slack_text(invoke(slack("orders-prod before the schema change")))
    (backup,) = webhooks.state.backups.values()
    assert backup.instance_id == ORDERS
    assert user_text(backup) == "before the schema change"
    assert backup.name in text and backup.id in text and "job id" in text


def test_slack_backup_by_instance_id_and_status(webhooks: EmulatorServer, invoke: Invoke) -> None:
    slack_text(invoke(slack(CATALOG)))
    (backup,) = webhooks.state.backups.values()
    status = slack_text(invoke(slack(f"status {backup.id}")))
    assert "BUILDING" in status and backup.name in status


@pytest.mark.parametrize("text", ["", "help", "   "])
def test_slack_usage(webhooks: EmulatorServer, invoke: Invoke, text: str) -> None:
    assert "Usage" in slack_text(invoke(slack(text)))
    assert webhooks.state.requests == []


def test_slack_unknown_instance_gets_a_usage_reply(webhooks: EmulatorServer, invoke: Invoke) -> None:
    text = slack_text(invoke(slack("no-such-db")))
    assert "No DDS instance is named `no-such-db`" in text and "Usage" in text


def test_slack_bad_description_is_explained(webhooks: EmulatorServer, invoke: Invoke) -> None:
    text = slack_text(invoke(slack("orders-prod it's <urgent>")))
    assert "description" in text and webhooks.state.backups == {}


def test_slack_escaped_text_is_read_as_the_user_typed_it(webhooks: EmulatorServer, invoke: Invoke) -> None:
    # GIVEN Slack's escaping of what the user typed: "orders-prod fish & chips"
    text = slack_text(invoke(slack("orders-prod fish &amp; chips")))
    # THEN the error is about the "&" typed, not about the "=" or ";" of "&amp;"
    assert "(found '&amp;')" in text and "';'" not in text
    # AND what is echoed is escaped again, so that Slack shows it as text
    echoed = slack_text(invoke(slack("&lt;!channel&gt;")))
    assert "&lt;!channel&gt;" in echoed and "<!channel>" not in echoed


def test_slack_allow_lists(webhooks: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_ALLOWED_USERS", "U0002, U0003")
    assert "not allowed" in slack_text(invoke(slack("orders-prod")))
    assert "Backup started" in slack_text(invoke(slack("orders-prod", user_id="U0002")))
    monkeypatch.setenv("SLACK_ALLOWED_CHANNELS", "C0009")
    assert "channel" in slack_text(invoke(slack("orders-prod", user_id="U0002")))


def test_slack_never_waits_for_the_job(webhooks: EmulatorServer, invoke: Invoke) -> None:
    webhooks.state.backup_delay = 60
    assert "Backup started" in slack_text(invoke(slack("billing-prod")))
    assert not [r for r in webhooks.state.requests if r.path.endswith("/jobs")]


def test_slack_form_that_is_not_a_form(webhooks: EmulatorServer, invoke: Invoke) -> None:
    body = b"just some text"
    answer = invoke(apig_event("POST", "/slack", body, slack_headers(SLACK_SECRET, body)))
    assert answer["statusCode"] == 400


def test_an_unexpected_error_is_a_500_apig_answer_with_the_request_id(
    webhooks: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lib.http.app import ROUTER

    async def broken(*_: object) -> dict[str, Any]:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(ROUTER, "dispatch", broken)
    event = post_backups({"instance_id": ORDERS})
    answer = invoke(event, request_id="req-500")
    assert answer["statusCode"] == 500
    payload = body_of(answer)
    assert payload["error"]["code"] == "INTERNAL_ERROR"
    assert payload["request_id"] == event["requestContext"]["requestId"]  # the one the caller can quote
    assert "a bug" not in answer["body"]
    assert answer["_raised"] is False


def test_post_backups_with_retention_still_answers_202_with_a_location(
    webhooks: EmulatorServer, invoke: Invoke
) -> None:
    from tests.test_fleet import seed

    # the webhook route's own earlier backups
    seed(webhooks.state, ORDERS, "ddsb-orders-prod-20261001T000000-aaaaaaaa", 50, scope="webhook:/backups")
    seed(webhooks.state, ORDERS, "ddsb-orders-prod-20261101T000000-bbbbbbbb", 20, scope="webhook:/backups")
    answer = invoke(post_backups({"instance_id": ORDERS, "retention": {"keep_last": 1}}))
    payload = body_of(answer)
    assert answer["statusCode"] == 202
    assert answer["headers"]["Location"] == f"/backups/{payload['backup_id']}"
    assert payload["status"] == "BUILDING"
    outcomes = sorted(r["data"]["outcome"] for r in payload["results"])
    assert outcomes == ["created", "pruned"]


def test_slack_backups_never_apply_the_timers_default_retention(
    webhooks: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_fleet import seed

    # GIVEN older backups of this Slack team and DEFAULT_RETENTION (the timers' own)
    seed(webhooks.state, ORDERS, "ddsb-orders-prod-20261001T000000-aaaaaaaa", 50, scope="slack:T0001")
    seed(webhooks.state, ORDERS, "ddsb-orders-prod-20261101T000000-bbbbbbbb", 20, scope="slack:T0001")
    monkeypatch.setenv("DEFAULT_RETENTION", '{"keep_last": 1}')
    text = slack_text(invoke(slack("orders-prod")))
    # THEN a chat backup deletes nothing
    assert "Backup started" in text
    assert "Retention" not in text
    assert not [r for r in webhooks.state.requests if r.method == "DELETE"]


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (post_backups({"instance_id": ORDERS}, secret="whsec_" + "QW5vdGhlciBzZWNyZXQsIHNpZ25lZCB3aXRo"), 401),  # auth
        (post_backups({"instance_id": ORDERS, "nmae": "x"}), 400),  # refused by the request model
        (post_backups({"instance_id": ORDERS}), 202),
    ],
)
def test_every_answer_and_log_line_of_a_request_carries_the_gateways_request_id(
    webhooks: EmulatorServer, invoke: Invoke, capfd: pytest.CaptureFixture[str], event: dict[str, Any], status: int
) -> None:
    # GIVEN API Gateway's id for the request (what a caller quotes) and the invocation's own, another one
    gateway_id = event["requestContext"]["requestId"]
    answer = invoke(event, request_id="invocation-1")
    assert answer["statusCode"] == status
    # THEN the answer names the gateway's id, whoever refused or answered
    assert body_of(answer)["request_id"] == gateway_id
    # AND every log line of the request carries it beside the invocation's
    lines = [line for line in log_lines(capfd.readouterr().err) if line.get("faas.trigger") == "http"]
    assert lines and all(line.get("http.request.id") == gateway_id for line in lines), lines


# -- every route of the table authenticates before anything else ---------------------------------------------

TEAMS_TOKEN = "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA="  # the Teams sample's "contoso" key
MATTERMOST_TOKEN = "qzgakf1nx3yt9dr4n8585ihbxy"  # the Mattermost guide's example token
OTHER = {  # another value of each secret, of the right shape
    "WEBHOOK_SECRET": "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==",
    "SLACK_SIGNING_SECRET": SLACK_SECRET[::-1],
    "TEAMS_WEBHOOK_TOKEN": base64.b64encode(bytes(range(32))).decode(),
    "MATTERMOST_TOKEN": "a1b2c3d4e5f6g7h8i9j0k1l2m3",
}
SECRETS = {
    "WEBHOOK_SECRET": SECRET,
    "SLACK_SIGNING_SECRET": SLACK_SECRET,
    "TEAMS_WEBHOOK_TOKEN": TEAMS_TOKEN,
    "MATTERMOST_TOKEN": MATTERMOST_TOKEN,
}
STALE_S = 10 * 60


def _webhook(method: str, path: str, secret: str | None, ts: int | None) -> dict[str, Any]:
    body = json_body({"instance_id": ORDERS}) if method == "POST" else b""
    headers = standard_webhooks_headers(secret, body, ts=ts, method=method, path=path) if secret else {}
    return apig_event(method, path, body, headers)


def _slack(method: str, path: str, secret: str | None, ts: int | None) -> dict[str, Any]:
    form = slack_form("orders-prod")
    return apig_event(method, path, form, slack_headers(secret, form, ts=ts) if secret else {})


def _teams(method: str, path: str, token: str | None, ts: int | None) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts if ts is not None else time.time()))
    body = teams_activity("orders-prod", timestamp=stamp)
    return apig_event(method, path, body, teams_headers(token, body) if token else {})


def _mattermost(method: str, path: str, token: str | None, ts: int | None) -> dict[str, Any]:
    # Mattermost signs no time: its token is all there is, in the header and the form alike
    form = mattermost_form("orders-prod", token or "")
    return apig_event(method, path, form, mattermost_headers(token) if token else {})


# How each check's requests are made, by check: a route with a check not listed here fails the test below.
SENDERS = {auth.WEBHOOK: _webhook, auth.SLACK: _slack, auth.TEAMS: _teams, auth.MATTERMOST: _mattermost}


def _path(template: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "7603abc0br02", template)


def bad_requests(route: Route) -> dict[str, dict[str, Any]]:
    """An unsigned, a forged and a stale request for ``route``. Mattermost signs no time: its stale request
    carries the token from before the command's token was regenerated (which is what ends an old one)."""
    send = SENDERS[route.auth]
    path = _path(route.template)
    stale_secret = OTHER[route.auth.secret] if route.auth is auth.MATTERMOST else SECRETS[route.auth.secret]
    return {
        "unsigned": send(route.method, path, None, None),
        "forged": send(route.method, path, OTHER[route.auth.secret], None),
        "stale": send(route.method, path, stale_secret, int(time.time()) - STALE_S),
    }


ROUTES = app.ROUTER.routes
MODES = {
    "signature": {},
    "WEBHOOK_AUTH=gateway": {"WEBHOOK_AUTH": "gateway"},
    "CHAT_AUTH=gateway": {"CHAT_AUTH": "gateway"},
}


# Each route under each mode that leaves it its own check (WEBHOOK_AUTH=gateway hands /backups to the gateway,
# CHAT_AUTH=gateway the chat routes): neither switch may turn off the other's checks.
CHECKED = [(r, m) for r in ROUTES for m, env in MODES.items() if env.get(r.auth.trust) != "gateway"]


@pytest.mark.parametrize(("route", "mode"), CHECKED, ids=[f"{r.method} {r.template}, {m}" for r, m in CHECKED])
def test_every_route_refuses_unsigned_forged_and_stale_requests_with_no_dds_call(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, route: Route, mode: str
) -> None:
    # GIVEN every secret configured, and one of the auth modes
    for key, value in {**SECRETS, **MODES[mode]}.items():
        monkeypatch.setenv(key, value)
    assert not route.auth.trusts_gateway(load_settings(os.environ.get))
    for kind, event in bad_requests(route).items():
        # WHEN the request is unsigned, forged or stale THEN it is a 401 and DDS hears nothing of it
        answer = invoke(event)
        assert answer["statusCode"] == 401, (kind, answer)
        assert body_of(answer)["error"]["code"] == "UNAUTHENTICATED"
        assert configured.state.requests == [], kind
    # AND the same route signed as its sender signs is answered (so the 401s were about the signature)
    send = SENDERS[route.auth]
    good = invoke(send(route.method, _path(route.template), SECRETS[route.auth.secret], None))
    assert good["statusCode"] != 401, good


def test_the_route_table_declares_each_routes_check_and_secret() -> None:
    assert [(c.method, c.path, c.secret, c.trust) for c in app.route_checks()] == [
        ("POST", "/backups", "WEBHOOK_SECRET", "WEBHOOK_AUTH"),
        ("GET", "/backups/{backup_id}", "WEBHOOK_SECRET", "WEBHOOK_AUTH"),
        ("POST", "/slack", "SLACK_SIGNING_SECRET", "CHAT_AUTH"),
        ("POST", "/teams", "TEAMS_WEBHOOK_TOKEN", "CHAT_AUTH"),
        ("POST", "/mattermost", "MATTERMOST_TOKEN", "CHAT_AUTH"),
    ]
    assert all(c.scheme for c in app.route_checks())


def test_chat_auth_gateway_lets_an_unsigned_chat_command_through_and_keeps_backups_signed(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_AUTH", "gateway")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    answer = invoke(apig_event("POST", "/slack", slack_form("orders-prod")))
    assert "Backup started" in json.loads(answer["body"])["text"]
    assert invoke(apig_event("POST", "/backups", json_body({"instance_id": BILLING})))["statusCode"] == 401
    assert len(configured.state.backups) == 1


# -- headers that are no text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"webhook-id": "msg_\udcff\udcfe", "webhook-timestamp": "1", "webhook-signature": "v1,x"}, "webhook-id"),
        ({"webhook-signature": "v1,\ud800"}, "webhook-signature"),
        ({"x-hub-signature-256": "sha256=\udcff"}, "x-hub-signature-256"),
        ({"x-slack-signature": "v0=\udfff", "x-slack-request-timestamp": "1"}, "x-slack-signature"),
        ({"authorization": "HMAC \udcff"}, "authorization"),
        ({"x-\udcffname": "value"}, "x-\\udcffname"),  # the name itself, named escaped
    ],
)
@pytest.mark.parametrize("path", ["/backups", "/slack", "/teams", "/mattermost"])
def test_an_undecodable_header_is_a_400_with_the_usual_body_never_a_500(
    webhooks: EmulatorServer,
    invoke: Invoke,
    capfd: pytest.CaptureFixture[str],
    headers: dict[str, str],
    named: str,
    path: str,
) -> None:
    # GIVEN a header that was not UTF-8 on the wire (API Gateway's JSON carries it as unpaired surrogates)
    event = apig_event("POST", path, json_body({"instance_id": ORDERS}), headers)
    # WHEN the function answers THEN it is a 400 naming the header, in the error body of every answer
    answer = invoke(event)
    assert answer["statusCode"] == 400
    error = body_of(answer)["error"]
    assert error == {"code": "INVALID_HEADER", "message": f"the header {named} is not UTF-8 text"}
    answer["body"].encode("utf-8")  # the answer itself is UTF-8
    # AND no traceback, no DDS call
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    assert webhooks.state.requests == []


def test_a_path_that_is_no_text_is_a_404_that_names_it_escaped(webhooks: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(apig_event("POST", "/backups\udcff", b"{}"))
    assert answer["statusCode"] == 404
    assert body_of(answer)["error"]["message"].startswith("no route for /backups\\udcff; routes: POST /backups")
    answer["body"].encode("utf-8")


def test_an_echoed_unpaired_surrogate_keeps_the_answer_and_the_log_utf8(
    webhooks: EmulatorServer, invoke: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    # A JSON body may hold "\ud800" escapes, which json reads as unpaired surrogates.
    body = b'{"instance_id": "\\ud800", "description": "\\udcff"}'
    answer = invoke(apig_event("POST", "/backups", body, standard_webhooks_headers(SECRET, body)))
    assert answer["statusCode"] == 400
    answer["body"].encode("utf-8")
    assert "Logging error" not in capfd.readouterr().err


@pytest.mark.parametrize("weak", ["a" * 24, "whsec_" + "A" * 32, "--------------------AAAA"])
def test_a_weak_webhook_secret_is_a_clean_configuration_error_on_the_route(
    configured: EmulatorServer,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    weak: str,
) -> None:
    # GIVEN a weak WEBHOOK_SECRET (found: requests signed with such secrets made backups)
    monkeypatch.setenv("WEBHOOK_SECRET", weak)
    body = json_body({"instance_id": ORDERS})
    for headers in (github_headers(weak, body), standard_webhooks_headers(SECRET, body)):
        # WHEN a request signed with it arrives THEN the answer is the configuration error, and nothing is made
        answer = invoke(apig_event("POST", "/backups", body, headers))
        assert answer["statusCode"] == 500
        assert body_of(answer)["error"]["code"] == "INVALID_CONFIG"
    assert configured.state.requests == []
    err = capfd.readouterr().err
    assert "invalid configuration: WEBHOOK_SECRET: " in err and "Traceback" not in err
    assert weak not in err
