"""The credential chain, regional endpoints and project id resolution, end to end through the handler."""

from __future__ import annotations

import json

import aiohttp
import pytest

from dds_backup_dev.emulator import EmulatorServer, EmulatorState
from dds_backup_dev.emulator.state import DEMO_AK, DEMO_DOMAIN, DEMO_PASSWORD, DEMO_SK, DEMO_USER
from lib.cloud import regions
from lib.cloud.auth import OutgoingRequest, iam
from lib.cloud.auth.aksk import AkSkAuth
from lib.cloud.errors import ApiError
from lib.config import HUAWEICLOUD_REGIONS, OTC_REGIONS, ConfigError, load_settings
from tests.conftest import ORDERS, Invoke, log_lines, only_result
from tests.test_dds_client import make_client

AGENCY = {"ak": "AGENCYTEMPAK00000001", "sk": "agency-temporary-secret", "security_token": "agency-sts-token-value"}


def _point_at(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, project: bool = True) -> None:
    monkeypatch.setenv("DDS_ENDPOINT", emulator.endpoint)
    monkeypatch.setenv("IAM_ENDPOINT", emulator.endpoint + "/v3")
    if project:
        monkeypatch.setenv("PROJECT_ID", emulator.state.project_id)


def _sources(err: str) -> list[str | None]:
    return [line.get("auth.source") for line in log_lines(err) if line.get("message") == "credentials resolved"]


def test_agency_temporary_aksk_comes_first(
    emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    emulator.state.keys[AGENCY["ak"]] = (AGENCY["sk"], AGENCY["security_token"])
    _point_at(emulator, monkeypatch)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", DEMO_AK)  # present, but the agency wins
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", DEMO_SK)
    data = only_result(invoke({"instance_id": ORDERS}, agency={**AGENCY, "token": "agency-iam-token"}))
    assert data["outcome"] == "created"
    assert all(AGENCY["ak"] in r.headers["Authorization"] for r in emulator.state.requests)
    assert all(r.headers["X-Security-Token"] == AGENCY["security_token"] for r in emulator.state.requests)
    assert all("x-security-token" in r.headers["Authorization"] for r in emulator.state.requests)
    err = capfd.readouterr().err
    assert _sources(err) == ["agency temporary AK/SK"]
    for secret in AGENCY.values():
        assert secret not in err


def test_agency_token_when_no_temporary_keys(
    emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = emulator.state.issue_token()
    _point_at(emulator, monkeypatch)
    data = only_result(invoke({"instance_id": ORDERS}, agency={"token": token}))
    assert data["outcome"] == "created"
    assert all(r.headers.get("X-Auth-Token") == token for r in emulator.state.requests)


def test_environment_aksk_before_password(
    emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    for key, value in emulator.env("password").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", DEMO_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", DEMO_SK)
    assert only_result(invoke({"instance_id": ORDERS}))["outcome"] == "created"
    assert not [r for r in emulator.state.requests if r.path == "/v3/auth/tokens"]
    assert _sources(capfd.readouterr().err) == ["environment AK/SK"]


def test_password_token_is_cached_across_warm_invocations(configured: EmulatorServer, invoke: Invoke) -> None:
    for i in range(3):
        only_result(invoke({"instance_id": ORDERS, "dry_run": True, "idempotency_key": f"k{i}"}))
    assert len([r for r in configured.state.requests if r.path == "/v3/auth/tokens"]) == 1


def test_a_rotated_password_gets_a_new_token_and_the_cache_never_holds_a_password(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_result(invoke({"instance_id": ORDERS, "dry_run": True}))
    # GIVEN the password rotated (the emulator accepts the new one) WHEN invoked again THEN a new token is fetched
    user = next(iter(configured.state.users))
    configured.state.users[user] = "a-rotated-password-0123"
    monkeypatch.setenv("OS_PASSWORD", "a-rotated-password-0123")
    assert only_result(invoke({"instance_id": ORDERS, "dry_run": True}))["outcome"] == "dry_run"
    assert len([r for r in configured.state.requests if r.path == "/v3/auth/tokens"]) == 2
    # AND no cache key holds either password
    keys = repr(list(iam._TOKENS))
    assert "a-rotated-password-0123" not in keys and DEMO_PASSWORD not in keys


def test_token_close_to_expiry_is_renewed(configured: EmulatorServer, invoke: Invoke) -> None:
    configured.state.token_ttl = 600  # 10 minutes: inside the 15-minute refresh margin
    for _ in range(2):
        only_result(invoke({"instance_id": ORDERS, "dry_run": True}))
    assert len([r for r in configured.state.requests if r.path == "/v3/auth/tokens"]) == 2


def test_refused_password_is_reported_before_any_dds_call(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_PASSWORD", "wrong-password-value")
    result = invoke({"instance_id": ORDERS})
    data = only_result(result)
    assert data["outcome"] == "failed"
    assert data["error"]["code"] == "IAM.AUTH_FAILED"
    assert data["error"]["retryable"] is False
    assert "OS_PASSWORD" in data["error"]["message"]
    assert "wrong-password-value" not in json.dumps(result)
    assert [r.path for r in configured.state.requests] == ["/v3/auth/tokens"]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HUAWEICLOUD_SDK_AK": "AK"}, "HUAWEICLOUD_SDK_SK"),
        ({"HUAWEICLOUD_SDK_SK": "SK-value"}, "HUAWEICLOUD_SDK_AK"),
        ({"OS_USERNAME": "u"}, "OS_PASSWORD"),
        ({"OS_USERNAME": "u", "OS_PASSWORD": "p-value"}, "OS_USER_DOMAIN_NAME"),
        ({"HUAWEICLOUD_SDK_SECURITY_TOKEN": "t-value"}, "HUAWEICLOUD_SDK_SECURITY_TOKEN"),
        ({"REGION": "Europe/Berlin"}, "REGION"),
        ({"DDS_ENDPOINT": "dds.example"}, "DDS_ENDPOINT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"WEBHOOK_AUTH": "maybe"}, "WEBHOOK_AUTH"),
        ({"DEFAULT_REQUEST": "{not json"}, "DEFAULT_REQUEST"),
        ({"DEFAULT_REQUEST": '{"instance": "x"}'}, "DEFAULT_REQUEST"),
        ({"BACKUP_NAME_TEMPLATE": "x-{instance}"}, "BACKUP_NAME_TEMPLATE"),
        ({"BACKUP_NAME_TEMPLATE": "x-{nope}-{hash}"}, "BACKUP_NAME_TEMPLATE"),
        ({"MAX_CONCURRENCY": "0"}, "MAX_CONCURRENCY"),
    ],
)
def test_bad_configuration_names_the_variable(
    emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    _point_at(emulator, monkeypatch)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = invoke({"instance_id": ORDERS})
    data = only_result(result)
    assert data["outcome"] == "failed"
    assert data["error"]["code"] == "INVALID_CONFIG"
    assert named in data["error"]["message"]
    assert emulator.state.requests == []
    for value in env.values():
        if "value" in value:
            assert value not in json.dumps(result)


def test_no_credentials_at_all_is_a_configuration_error(
    emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(emulator, monkeypatch)
    data = only_result(invoke({"instance_id": ORDERS}))
    assert data["error"]["code"] == "INVALID_CONFIG"
    assert "HUAWEICLOUD_SDK_AK" in data["error"]["message"] and "agency" in data["error"]["message"]


def test_project_id_comes_from_the_token_when_not_configured(
    emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(emulator, monkeypatch, project=False)
    monkeypatch.setenv("OS_USERNAME", DEMO_USER)
    monkeypatch.setenv("OS_PASSWORD", DEMO_PASSWORD)
    monkeypatch.setenv("OS_USER_DOMAIN_NAME", DEMO_DOMAIN)
    monkeypatch.setenv("OS_PROJECT_NAME", emulator.state.project_name)
    assert only_result(invoke({"instance_id": ORDERS}))["outcome"] == "created"


def test_project_id_from_the_context(emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    _point_at(emulator, monkeypatch, project=False)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", DEMO_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", DEMO_SK)
    data = only_result(invoke({"instance_id": ORDERS}, project_id=emulator.state.project_id))
    assert data["outcome"] == "created"


def test_missing_project_id_is_a_clear_error(
    emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(emulator, monkeypatch, project=False)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", DEMO_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", DEMO_SK)
    data = only_result(invoke({"instance_id": ORDERS}))
    assert data["error"]["code"] == "INVALID_CONFIG"
    assert "PROJECT_ID" in data["error"]["message"]


@pytest.mark.servers  # an emulator of its own
def test_swiss_region_reads_the_dds_endpoint_from_the_token_catalog(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorServer(EmulatorState.with_fixture(region="eu-ch2", project_name="eu-ch2")) as emulator:
        monkeypatch.setenv("REGION", "eu-ch2")
        monkeypatch.setenv("IAM_ENDPOINT", emulator.endpoint)
        monkeypatch.setenv("OS_USERNAME", DEMO_USER)
        monkeypatch.setenv("OS_PASSWORD", DEMO_PASSWORD)
        monkeypatch.setenv("OS_USER_DOMAIN_NAME", DEMO_DOMAIN)
        data = only_result(invoke({"instance_id": ORDERS}))
        assert data["outcome"] == "created"
        assert any(r.path.endswith("/backups") for r in emulator.state.requests)


@pytest.mark.parametrize(
    ("region", "dds", "iam"),
    [
        ("eu-de", "https://dds.eu-de.otc.t-systems.com", "https://iam.eu-de.otc.t-systems.com"),
        ("eu-nl", "https://dds.eu-nl.otc.t-systems.com", "https://iam.eu-nl.otc.t-systems.com"),
        ("eu-ch2", None, "https://iam-pub.eu-ch2.sc.otc.t-systems.com"),
        (
            "ap-southeast-3",
            "https://dds.ap-southeast-3.myhuaweicloud.com",
            "https://iam.ap-southeast-3.myhuaweicloud.com",
        ),
        ("eu-west-101", "https://dds.eu-west-101.myhuaweicloud.eu", "https://iam.eu-west-101.myhuaweicloud.eu"),
    ],
)
def test_regional_endpoints(region: str, dds: str | None, iam: str) -> None:
    assert regions.dds_endpoint(region) == dds
    assert regions.iam_endpoint(region) == iam


def test_iam_endpoint_with_or_without_version_suffix() -> None:
    assert regions.strip_version("https://iam.eu-de.otc.t-systems.com/v3/") == "https://iam.eu-de.otc.t-systems.com"
    assert regions.strip_version("http://127.0.0.1:1") == "http://127.0.0.1:1"


class TamperingAuth(AkSkAuth):
    """Signs correctly, then changes what is sent: what a proxy or a bug between signer and wire would do."""

    def __init__(self, change: str) -> None:
        super().__init__(DEMO_AK, DEMO_SK, None, "0549b4a43100d4f32f51c01c2fe4acdb", source="test")
        self.change = change

    async def apply(self, request: OutgoingRequest) -> None:
        await super().apply(request)
        if self.change == "body":
            request.body = request.body.replace(b"tampered", b"Tampered")
        elif self.change == "query":
            request.query = [(k, v + "0") for k, v in request.query]
        elif self.change == "signed header":
            request.headers["X-Project-Id"] = "another-project"


@pytest.mark.parametrize("change", ["body", "query", "signed header"])
async def test_a_request_changed_after_signing_is_refused(emulator: EmulatorServer, change: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(session, emulator, auth=TamperingAuth(change))
        call = (
            client.create_manual_backup(ORDERS, "tampered", None)
            if change == "body"
            else client.list_instances(instance_id=ORDERS)
        )
        with pytest.raises(ApiError) as caught:
            await call
    assert (caught.value.http_status, caught.value.code, caught.value.retryable) == (401, "APIG.0301", False)
    assert emulator.state.backups == {}


def test_a_skewed_clock_is_refused_and_not_retried(
    emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(emulator, monkeypatch)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", DEMO_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", DEMO_SK)
    real = emulator.state.clock
    emulator.state.clock = lambda: real() + 16 * 60  # the gateway's clock is 16 minutes ahead of ours
    result = invoke({"instance_id": ORDERS})
    data = only_result(result)
    assert data["outcome"] == "failed"
    assert (data["error"]["code"], data["error"]["retryable"]) == ("APIG.0303", False)
    assert "clock" in data["error"]["message"]
    assert len(emulator.state.requests) == 1
    assert result["_raised"] is False


def test_temporary_aksk_without_its_security_token_is_refused(
    emulator: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.state.keys[AGENCY["ak"]] = (AGENCY["sk"], AGENCY["security_token"])
    _point_at(emulator, monkeypatch)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", AGENCY["ak"])
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", AGENCY["sk"])
    data = only_result(invoke({"instance_id": ORDERS}))
    assert data["error"]["code"] == "APIG.0301"
    monkeypatch.setenv("HUAWEICLOUD_SDK_SECURITY_TOKEN", AGENCY["security_token"])
    assert only_result(invoke({"instance_id": ORDERS}))["outcome"] == "created"


def test_a_region_without_dds_is_refused_unless_dds_endpoint_says_where_dds_is() -> None:
    # GIVEN a region name that looks right but is no region (eu-fr), and no DDS_ENDPOINT
    with pytest.raises(ConfigError) as caught:
        load_settings({"REGION": "eu-fr"}.get)
    # THEN it is refused, naming the variable, with a guess and the way out
    message = str(caught.value)
    assert "REGION: eu-fr is not a region with DDS (did you mean" in message and "eu-de" in message
    assert "set DDS_ENDPOINT" in message
    # Every known region passes; an unknown one passes when DDS_ENDPOINT says where DDS is
    for region in (*OTC_REGIONS, *HUAWEICLOUD_REGIONS):
        assert load_settings({"REGION": region}.get).region == region
    assert load_settings({"REGION": "eu-fr", "DDS_ENDPOINT": "https://dds.example.com"}.get).region == "eu-fr"


def test_the_huawei_cloud_regions_are_those_of_the_official_sdks_dds_client() -> None:
    from huaweicloudsdkdds.v3.region.dds_region import DdsRegion

    assert sorted(HUAWEICLOUD_REGIONS) == sorted(DdsRegion.static_fields)
    assert not set(OTC_REGIONS) & set(HUAWEICLOUD_REGIONS)
