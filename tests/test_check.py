"""``dds-backup check`` against the emulator: every check, the fix on each failure, and proof that it only reads."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from dds_backup_dev import cli
from dds_backup_dev.emulator import EmulatorServer
from lib.config import SECRET_RULES
from tests.conftest import ORDERS, ROOT
from tests.test_cli import run

# The whole module runs the preflight against the emulator and as a process: not in `make test-fast`.
pytestmark = pytest.mark.servers

PROJECT = "0549b4a43100d4f32f51c01c2fe4acdb"
TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-%s"
GOOD = {
    "DEFAULT_REQUEST": '{"selector": {"name": "*-prod"}}',
    "RESULT_TOPIC_URN": TOPIC % "results",
    "FANOUT_TOPIC_URN": TOPIC % "fanout",
    "ALERT_TOPIC_URN": TOPIC % "alerts",
    "WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99b1f9e85a5c",
}
TEMPLATE = str(ROOT / "template.yaml")


def check(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], *args: str, **env: str) -> Any:
    """Run ``dds-backup check --json`` in this process (so that the emulator's log is at hand)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = cli.main(["check", "--json", *args])
    result = json.loads(printed(capfd))
    result["code"] = code
    result["by_name"] = {c["name"]: c for c in result["checks"]}
    return result


def printed(capfd: pytest.CaptureFixture[str]) -> str:
    """What the check printed, printed again so that the suite's watch for leaked secrets reads it too."""
    out = capfd.readouterr().out
    sys.stdout.write(out)
    return out


def failed(result: Any) -> dict[str, dict[str, str]]:
    return {name: c for name, c in result["by_name"].items() if c["status"] == "fail"}


def writes(emulator: EmulatorServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.state.requests if r.method != "GET"]


def test_all_good_exits_0_and_only_reads(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    result = check(monkeypatch, capfd, "--template", TEMPLATE, **GOOD)
    assert result["code"] == 0 and result["ok"] is True, failed(result)
    names = set(result["by_name"])
    assert {"configuration", "credentials", "DDS endpoint", "authentication", "list instances", "list backups"} <= names
    assert {"DEFAULT_REQUEST", "timer nightly-backup", "timeout", "WEBHOOK_SECRET", "SLACK_SIGNING_SECRET"} <= names
    assert {"topic RESULT_TOPIC_URN", "topic FANOUT_TOPIC_URN", "topic ALERT_TOPIC_URN"} <= names
    assert result["by_name"]["timer nightly-backup"]["detail"] == "2 instance(s): orders-prod, billing-prod"
    # The audit timer reads only: no readiness for a backup (legacy-frozen is not ready for one) is reported
    audit = result["by_name"]["timer hourly-audit"]["detail"]
    assert audit.startswith("4 instance(s): ") and audit.endswith("; an audit (reads only, 26 h)")
    # Read-only: the only write is IAM's token request; nothing was created, deleted or published.
    assert writes(configured) == ["POST /v3/auth/tokens"]
    state = configured.state
    assert (state.backups, state.published, len(state.topics)) == ({}, [], 4)


def test_the_checklist_is_one_line_per_check_with_the_fix_on_failure(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "whsec_dG9vIHNob3J0")
    assert cli.main(["check"]) == 1
    lines = printed(capfd).splitlines()
    # The function itself would refuse to start: the configuration check says which variable and how to fix it
    (bad,) = [line for line in lines if line.startswith("FAIL")]
    assert bad.startswith("FAIL  configuration: invalid configuration: WEBHOOK_SECRET: is not a whsec_ secret of")
    assert "make one with `dds-backup secret`" in bad
    assert "dG9vIHNob3J0" not in bad
    assert lines[-1] == "dds-backup check: 1 check(s) failed"


def test_a_wrong_secret_key_fails_authentication_after_one_call(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    env = {**emulator.env("aksk"), "HUAWEICLOUD_SDK_SK": "not-the-secret-key-of-this-ak"}
    result = check(monkeypatch, capfd, **env)
    assert result["code"] == 1
    assert set(failed(result)) == {"authentication"}
    assert "check HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK" in failed(result)["authentication"]["fix"]
    assert result["by_name"]["list backups"]["status"] == "skip"
    # An AK/SK refusal is never retried: gateways lock a key after repeated failures.
    assert [r.status for r in emulator.state.requests] == [401]


def test_an_unknown_project_names_project_id(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    env = {**emulator.env("aksk"), "PROJECT_ID": "f" * 32}
    result = check(monkeypatch, capfd, **env)
    assert result["code"] == 1 and set(failed(result)) == {"project"}
    assert failed(result)["project"]["fix"].startswith("set PROJECT_ID to the project id")


def test_a_wrong_password_fails_the_credentials(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    result = check(monkeypatch, capfd, OS_PASSWORD="not-the-password")
    assert result["code"] == 1 and set(failed(result)) == {"credentials"}
    assert "OS_PASSWORD" in failed(result)["credentials"]["fix"]
    assert result["by_name"]["list instances"]["status"] == "skip"


def test_a_missing_topic_says_how_to_create_it(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    result = check(monkeypatch, capfd, ALERT_TOPIC_URN=TOPIC % "never-created")
    assert result["code"] == 1 and set(failed(result)) == {"topic ALERT_TOPIC_URN"}
    fix = failed(result)["topic ALERT_TOPIC_URN"]["fix"]
    assert fix == "create it (Terraform: create_alert_topic = true) or correct the URN"
    assert writes(configured) == ["POST /v3/auth/tokens"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("WEBHOOK_SECRET", "my-github-secret"),
        ("WEBHOOK_SECRET", "whsec_not base64 at all!!"),
        ("SLACK_SIGNING_SECRET", "xoxb-1234-5678-abcdefgh"),
        ("TEAMS_WEBHOOK_TOKEN", "not*base64"),
        ("MATTERMOST_TOKEN", "Short"),
    ],
)
def test_a_malformed_secret_fails_with_where_to_get_a_good_one(
    configured: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    key: str,
    value: str,
) -> None:
    result = check(monkeypatch, capfd, **{key: value})
    # The function would refuse to start with it: the configuration check names the variable and the fix
    assert result["code"] == 1 and set(failed(result)) == {"configuration"}
    detail = failed(result)["configuration"]["detail"]
    rule = next(r for r in SECRET_RULES if r.key == key)
    assert f"{key}: is not {rule.shape}" in detail and rule.fix in detail
    assert value not in json.dumps(result)


@pytest.mark.parametrize(
    ("request_", "detail", "fix"),
    [
        ('{"selector": {"tags": {"backup": "nightly"}}}', "the selector matches no instance", "tags (key=value)"),
        ('{"instance_ids": ["' + ORDERS + '", "0000000000000000000000000000000in02"]}', "unknown instance id", "ids"),
    ],
)
def test_a_request_that_resolves_to_nothing_fails(
    configured: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    request_: str,
    detail: str,
    fix: str,
) -> None:
    result = check(monkeypatch, capfd, DEFAULT_REQUEST=request_)
    bad = failed(result)["DEFAULT_REQUEST"]
    assert detail in bad["detail"] and fix in bad["fix"]


def test_an_unreachable_endpoint_fails_the_endpoint_check(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IAM_ENDPOINT", configured.endpoint)
    result = check(monkeypatch, capfd, DDS_ENDPOINT="http://127.0.0.1:9")
    assert set(failed(result)) == {"DDS endpoint"}
    assert "DDS_ENDPOINT" in failed(result)["DDS endpoint"]["fix"]


def test_a_timeout_without_room_for_the_webhook_wait_fails(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (
        (ROOT / "template.yaml")
        .read_text()
        .replace(
            "func_info: {invocation_type: sync, timeout: 60000}", "func_info: {invocation_type: sync, timeout: 30000}"
        )
    )
    (tmp_path / "template.yaml").write_text(text)
    result = check(monkeypatch, capfd, "--template", str(tmp_path / "template.yaml"), **GOOD)
    assert set(failed(result)) == {"timeout"}
    assert failed(result)["timeout"]["fix"].startswith("set WEBHOOK_WAIT_SECONDS to at most 25")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("function: {}\n")
    for args in (["check", "--template", str(tmp_path / "bad.yaml")], ["check", "--nope"]):
        proc = run(*args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""


def test_with_nothing_configured_it_checks_the_embedded_emulator() -> None:
    proc = run("check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "embedded emulator" in proc.stderr
    assert proc.stdout.splitlines()[-1] == "dds-backup check: all good"


# -- where the routes are called, and where the function can run ------------------------------------------------


def test_routes_without_a_custom_domain_are_warned_about_and_nothing_fails(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TF_VAR_custom_domain", raising=False)
    result = check(monkeypatch, capfd, "--template", TEMPLATE, **GOOD)
    assert result["code"] == 0 and result["ok"] is True
    domain = result["by_name"]["API domain"]
    assert domain["status"] == "warn"
    assert domain["detail"].startswith("the routes (/backups, /backups/{backup_id}, /slack) would answer on the API")
    assert "testing only" in domain["detail"] and "1000 calls a day" in domain["detail"]
    assert "custom_domain" in domain["fix"]


def test_the_warning_line_and_the_summary_say_so(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TF_VAR_custom_domain", raising=False)
    for key in ("WEBHOOK_SECRET", "DEFAULT_REQUEST"):
        monkeypatch.setenv(key, GOOD[key])
    assert cli.main(["check", "--template", TEMPLATE]) == 0
    lines = printed(capfd).splitlines()
    (line,) = [x for x in lines if x.startswith("WARN")]
    assert line.startswith("WARN  API domain: the routes (/backups, /backups/{backup_id}) would answer")
    assert line.endswith("-> fix: bind your own domain: custom_domain (TF_VAR_custom_domain), see docs/deployment.md")
    assert lines[-1] == "dds-backup check: all good, 1 warning(s)"


def test_a_custom_domain_is_where_the_routes_are_called(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    result = check(monkeypatch, capfd, "--template", TEMPLATE, TF_VAR_custom_domain="backup.example.com", **GOOD)
    domain = result["by_name"]["API domain"]
    assert (domain["status"], domain["detail"]) == (
        "ok",
        "the routes (/backups, /backups/{backup_id}, /slack) are called at https://backup.example.com",
    )


@pytest.mark.parametrize(
    ("args", "env", "routes"),
    [
        (["--template", TEMPLATE], {}, None),
        (["--template", TEMPLATE], {"TF_VAR_enable_teams": "true"}, "/teams"),
        (["--template", TEMPLATE], {"WEBHOOK_AUTH": "gateway"}, "/backups, /backups/{backup_id}"),
        ([], {"TF_VAR_enable_teams": "true"}, None),  # without the template there are no routes to speak of
    ],
)
def test_which_routes_are_on_comes_from_terraforms_switches_and_the_configuration(
    configured: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
    routes: str | None,
) -> None:
    monkeypatch.delenv("TF_VAR_custom_domain", raising=False)
    result = check(monkeypatch, capfd, *args, **env)
    if routes is None:
        assert "API domain" not in result["by_name"]
    else:
        assert result["by_name"]["API domain"]["detail"].startswith(f"the routes ({routes}) would answer")


@pytest.mark.parametrize(("region", "status"), [("eu-de", "ok"), ("eu-nl", "warn"), ("eu-ch2", "warn")])
def test_the_region_must_offer_functiongraph(
    configured: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    region: str,
    status: str,
) -> None:
    result = check(monkeypatch, capfd, "--template", TEMPLATE, REGION=region)
    assert result["by_name"]["region"]["status"] == status
    if status == "warn":
        assert result["by_name"]["region"]["detail"] == (
            f"{region} does not offer FunctionGraph, so the function cannot be deployed there (the Terraform "
            "refuses it); it is offered in eu-de"
        )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("whsec_" + "A" * 32, "decodes to a key of fewer than 8 different byte values"),  # 24 zero bytes
        ("a" * 24, "has fewer than 8 different characters"),
        ("--------------------AAAA", "has fewer than 8 different characters"),
    ],
)
def test_a_weak_webhook_secret_fails_naming_the_variable_never_the_value(
    configured: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    value: str,
    problem: str,
) -> None:
    result = check(monkeypatch, capfd, WEBHOOK_SECRET=value)
    assert result["code"] == 1 and set(failed(result)) == {"configuration"}
    assert f"WEBHOOK_SECRET: {problem}" in failed(result)["configuration"]["detail"]
    assert value not in json.dumps(result)


def test_each_route_says_which_check_and_secret_it_runs(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    result = check(monkeypatch, capfd, **GOOD)
    routes = {n: (c["status"], c["detail"]) for n, c in result["by_name"].items() if n.startswith("route ")}
    assert routes == {
        "route POST /backups": ("ok", "Standard Webhooks or X-Hub-Signature-256 with WEBHOOK_SECRET"),
        "route GET /backups/{backup_id}": ("ok", "Standard Webhooks or X-Hub-Signature-256 with WEBHOOK_SECRET"),
        "route POST /slack": ("ok", "Slack request signature (v0) with SLACK_SIGNING_SECRET"),
        "route POST /teams": ("skip", "TEAMS_WEBHOOK_TOKEN is not set: the route answers 401 to every request"),
        "route POST /mattermost": ("skip", "MATTERMOST_TOKEN is not set: the route answers 401 to every request"),
    }
    assert result["code"] == 0


@pytest.mark.parametrize(
    ("switch", "routes"),
    [
        ("WEBHOOK_AUTH", {"route POST /backups", "route GET /backups/{backup_id}"}),
        ("CHAT_AUTH", {"route POST /slack", "route POST /teams", "route POST /mattermost"}),
    ],
)
@pytest.mark.parametrize("gateway_auth", [None, "NONE", "APP"])
def test_a_route_that_runs_without_its_own_check_is_a_warning_and_a_failure_behind_an_open_gateway(
    configured: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    switch: str,
    routes: set[str],
    gateway_auth: str | None,
) -> None:
    # GIVEN one switch handing its routes to API Gateway's authentication, and (or not) a template whose routes
    # have that authentication (auth: APP) or none of their own (auth: NONE)
    args: list[str] = []
    if gateway_auth is not None:
        text = (ROOT / "template.yaml").read_text().replace("auth: NONE", f"auth: {gateway_auth}")
        (tmp_path / "template.yaml").write_text(text)
        args = ["--template", str(tmp_path / "template.yaml")]
    result = check(monkeypatch, capfd, *args, **GOOD, **{switch: "gateway"})
    flagged = {n: c for n, c in result["by_name"].items() if c["status"] in ("warn", "fail") and n.startswith("route")}
    # THEN exactly its routes are flagged: warned about, or failed when nothing at all authenticates the caller
    assert set(flagged) == routes
    expected = "fail" if gateway_auth == "NONE" else "warn"
    assert {c["status"] for c in flagged.values()} == {expected}
    assert result["code"] == (1 if expected == "fail" else 0)
    for check_ in flagged.values():
        assert check_["detail"].startswith(f"runs without its own check: {switch}=gateway")
        assert f"unset {switch}" in check_["fix"]


def test_warnings_are_counted_in_the_last_line(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    for key, value in {**GOOD, "CHAT_AUTH": "gateway"}.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["check"]) == 0
    lines = printed(capfd).splitlines()
    assert "WARN  route POST /slack: runs without its own check: CHAT_AUTH=gateway" in "\n".join(lines)
    assert lines[-1] == "dds-backup check: all good, 3 warning(s)"
