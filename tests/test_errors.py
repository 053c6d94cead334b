"""Every error code the emulator plays, table-driven, through the whole handler: the API answers the create
call with the code, and the result carries the right outcome and retryable flag (which decides whether the
platform is asked to retry)."""

from __future__ import annotations

from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from lib.cloud import errors
from lib.cloud.errors import (
    KNOWN_CODES,
    ApiError,
    CloudError,
    CodeInfo,
    TransportError,
    classify,
    error_fields,
    parse_retry_after,
)
from lib.codes import ErrorCode
from lib.models import ErrorInfo
from tests.conftest import ORDERS, Invoke, only_result

# (HTTP status, error_code, outcome, retryable)
CODES = [
    (400, "DBS.201201", "failed", False),  # name taken, and not by a backup of this instance
    (400, "DBS.280277", "failed", False),
    (400, "DBS.280127", "failed", False),
    (404, "DBS.200002", "failed", False),
    (400, "DBS.201202", "failed", True),
    (403, "DBS.200011", "failed", True),
    (403, "DBS.200019", "failed", True),
    (401, "DBS.280056", "failed", True),  # the fresh token is rejected too
    (500, "DBS.280005", "failed", True),
    (403, "DBS.280032", "failed", False),
    (401, "APIG.0301", "failed", False),
    (401, "APIGW.0303", "failed", False),
    # One gateway code, many statuses (api-gateway error_codes.rst): the status decides.
    (400, "APIG.0201", "failed", False),
    (413, "APIG.0201", "failed", False),
    (500, "APIG.0201", "failed", True),
    (502, "APIG.0201", "failed", True),
    (504, "APIG.0201", "failed", True),
    (403, "DBS.00010009", "failed", True),  # "instance's status is not available" (providers' retry list)
    (400, "DBS.201204", "failed", True),  # on a create: "cannot be executed in current state"
    (503, "SOMETHING.NEW", "failed", True),  # unknown code: the HTTP status decides
    (418, "SOMETHING.ODD", "failed", False),
]


@pytest.mark.parametrize(("status", "code", "outcome", "retryable"), CODES)
def test_error_code_from_the_api_becomes_outcome_and_retry_flag(
    configured: EmulatorServer, invoke: Invoke, status: int, code: str, outcome: str, retryable: bool
) -> None:
    configured.state.faults.append(Fault("POST", r"/backups$", status, code, "injected", count=100))
    result = invoke({"instance_id": ORDERS, "description": "error table"})
    data = only_result(result)
    assert data["outcome"] == outcome
    # Retryable codes are retried up to RETRY_MAX_ATTEMPTS (4); permanent ones are tried once, and so is "instance
    # busy" (a later invocation retries it: a backup takes minutes); a 401 once more with a fresh token.
    busy = KNOWN_CODES.get(code, CodeInfo(False, "")).busy
    assert data["attempts"] == (2 if status == 401 else 4 if retryable and not busy else 1)
    assert data["error"]["code"] == code
    assert data["error"]["retryable"] is retryable
    assert data["error"]["http_status"] == status
    assert data["error"]["request_id"]  # the API's X-Request-Id, for support tickets
    assert result["_raised"] is retryable
    assert configured.state.backups == {}


@pytest.mark.parametrize("code", ["DBS.280443", "APIG.0308"])
def test_a_create_throttled_until_the_deadline_fails_retryably_with_the_throttle_as_its_cause(
    configured: EmulatorServer, invoke: Invoke, code: str
) -> None:
    configured.state.faults.append(Fault("POST", r"/backups$", 429, code, "injected", count=1000))
    result = invoke({"instance_id": ORDERS, "description": "error table"}, timeout_s=3)
    data = only_result(result)
    # THEN the throttled create was sent again and again (none of the 4 attempts spent), until the deadline
    assert (data["outcome"], data["error"]["code"], data["error"]["retryable"]) == ("failed", code, True)
    assert data["attempts"] > 4
    assert "ran out of time waiting under the rate limit" in data["error"]["message"]
    assert result["_raised"] is True and configured.state.backups == {}


@pytest.mark.parametrize(
    ("status", "code", "throttling", "busy"),
    [
        (429, "DBS.280443", True, False),
        (429, "APIG.0308", True, False),
        (429, "APIGW.0308", True, False),
        (429, "SOMETHING.NEW", True, False),  # 429 is "Too Many Requests" whatever the code
        (400, "APIG.0308", True, False),  # the gateway's throttling code, whatever the status
        (503, "DBS.280005", False, False),
        (400, "DBS.201202", False, True),
        (403, "DBS.200019", False, True),
        (500, "DBS.200019", False, False),  # a 5xx is a server failure, whatever the code
        (400, "DBS.200998", False, False),  # the service (not the instance) is busy: retried within seconds
    ],
)
def test_throttling_and_busy_are_told_apart_from_other_failures(
    status: int, code: str, throttling: bool, busy: bool
) -> None:
    error = ApiError.from_response(status, code, None, None)
    assert (errors.throttling(error), errors.busy(error)) == (throttling, busy)


def test_every_known_code_has_a_hint_for_the_user() -> None:
    for code, info in KNOWN_CODES.items():
        assert info.hint, code
    assert classify("APIGW.0308", 429).retryable is True  # APIGW is an alias of APIG
    assert classify(None, 502).retryable is True
    assert classify(None, 400).retryable is False


def test_a_gateway_timeout_on_a_create_that_was_applied_is_exists_not_failed(
    configured: EmulatorServer, invoke: Invoke
) -> None:
    # GIVEN the gateway gives up on DDS (504 APIG.0201 "Backend timeout") after DDS made the backup
    configured.state.faults.append(Fault("POST", r"/backups$", 504, "APIG.0201", "Backend timeout.", kind="applied"))
    data = only_result(invoke({"instance_id": ORDERS}))
    # THEN the name is looked up before any second create: the backup is ours, made once
    assert data["outcome"] == "exists"
    assert list(configured.state.backups) == [data["backup_id"]]
    creates = [r for r in configured.state.requests if r.method == "POST" and r.path.endswith("/backups")]
    assert len(creates) == 1


def test_name_taken_by_our_own_earlier_backup_is_exists(configured: EmulatorServer, invoke: Invoke) -> None:
    # GIVEN the create call was applied but its answer was lost (the client saw a 504)
    request = {"instance_id": ORDERS, "idempotency_key": "lost-answer"}
    first = only_result(invoke(request))
    configured.state.backup_delay = 0
    # WHEN the same request comes again THEN DBS.201201 is resolved by looking the name up
    again = only_result(invoke(request))
    assert again["outcome"] == "exists"
    assert again["backup_id"] == first["backup_id"]
    assert again["backup_status"] == "COMPLETED"


def test_expired_token_is_fetched_again_once(configured: EmulatorServer, invoke: Invoke) -> None:
    only_result(invoke({"instance_id": ORDERS, "idempotency_key": "warm-up"}))  # token cached
    configured.state.expire_all_tokens()
    configured.state.backup_delay = 0
    data = only_result(invoke({"instance_id": ORDERS, "idempotency_key": "after-expiry"}))
    assert data["outcome"] == "created"
    iam_calls = [r for r in configured.state.requests if r.path == "/v3/auth/tokens"]
    rejected = [r for r in configured.state.requests if r.status == 401]
    assert len(iam_calls) == 2
    assert len(rejected) == 1


# -- the classification, as pure functions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "retryable", "hint"),
    [
        # a known permanent code keeps its verdict and its hint below 500
        ("DBS.280277", 400, False, KNOWN_CODES["DBS.280277"].hint),
        # a known retryable code keeps its hint on a 5xx
        ("DBS.280005", 500, True, "DDS server error; retry later"),
        # a permanent code on a 5xx, 408 or 429 is retryable, with the status as the hint
        ("APIG.0201", 502, True, "HTTP 502 from the API; retry later"),
        ("DBS.280277", 408, True, "HTTP 408 from the API; retry later"),
        ("DBS.280277", 429, True, "HTTP 429 from the API; retry later"),
        ("DBS.280277", 499, False, KNOWN_CODES["DBS.280277"].hint),
        # an unknown code: the status decides
        ("SOMETHING.NEW", 503, True, "HTTP 503 from the API; retry later"),
        ("SOMETHING.NEW", 418, False, "the API refused the request (HTTP 418)"),
        (None, None, False, "the API refused the request (HTTP None)"),
        ("APIGW.0308", 400, True, KNOWN_CODES["APIG.0308"].hint),  # APIGW is APIG, once, at the front
        ("APIGW.APIGW.0308", 400, False, "the API refused the request (HTTP 400)"),
    ],
)
def test_the_status_and_the_code_decide_together(
    code: str | None, status: int | None, retryable: bool, hint: str
) -> None:
    assert classify(code, status) == CodeInfo(retryable, hint)


def test_an_api_error_carries_the_apis_words_after_ours_and_its_retry_after() -> None:
    error = ApiError.from_response(429, "DBS.280443", "x" * 400, "req-9", retry_after="2.5")
    assert (error.code, error.http_status, error.request_id, error.retryable, error.retry_after) == (
        "DBS.280443",
        429,
        "req-9",
        True,
        2.5,
    )
    assert error.message == f"{KNOWN_CODES['DBS.280443'].hint} (API said: {'x' * 300})"
    assert str(error) == f"DBS.280443: {error.message}"
    bare = ApiError.from_response(404, None, None, None)
    assert (bare.code, bare.message, bare.retryable, bare.retry_after) == (
        "HTTP.404",
        "the API refused the request (HTTP 404)",
        False,
        None,
    )


def test_an_error_as_a_result_reports_it() -> None:
    error = ApiError.from_response(400, "DBS.280277", "bad name", "req-1")
    assert error.info() == ErrorInfo(
        code="DBS.280277", message=error.message, retryable=False, http_status=400, request_id="req-1"
    )
    assert error.info("the name is taken").message == "the name is taken"


def test_an_error_of_ours_is_as_retryable_as_its_code_and_an_api_code_must_say() -> None:
    # GIVEN our own codes: each error takes its code's retryability, and keeps its words
    timeout = TransportError(ErrorCode.TIMEOUT, "no answer within 3.0s", sent=False, method="POST", path="/v3/p/x")
    assert (timeout.retryable, timeout.message, str(timeout)) == (
        True,
        "no answer within 3.0s",
        "TIMEOUT: no answer within 3.0s",
    )
    assert (timeout.sent, timeout.method, timeout.path) == (False, "POST", "/v3/p/x")
    assert TransportError(ErrorCode.DDS_BAD_RESPONSE, "x").sent is True  # unless said, it may have been applied
    assert CloudError(ErrorCode.INVALID_CONFIG, "x").retryable is False
    # WHEN a code of the API's comes without a verdict THEN that is a bug, named with the code
    with pytest.raises(TypeError, match=r"^say whether DBS\.280005 is retryable: it is not one of ours$"):
        CloudError("DBS.280005", "server error")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, None), ("3", 3.0), (" 0.5 ", 0.5), ("0", 0.0), ("60", 60.0), ("3600", 60.0), ("-1", None), ("soon", None)],
)
def test_retry_after_is_delay_seconds_capped_at_a_minute(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"error_code": "DBS.1", "error_msg": "m"}, ("DBS.1", "m")),
        ({"errorCode": "APIG.1", "errorMsg": "m"}, ("APIG.1", "m")),
        ({"code": "SMN.1", "message": "m"}, ("SMN.1", "m")),
        ({"error": {"code": "IAM.1", "message": "m"}}, ("IAM.1", "m")),
        ({"error_code": 401}, ("401", None)),
        ({"error_code": "DBS.1", "code": "X"}, ("DBS.1", None)),
        ({"other": 1}, (None, None)),
        (["error_code"], (None, None)),
        ("error_code", (None, None)),
    ],
)
def test_error_fields_are_read_from_every_shape_the_apis_use(body: Any, fields: tuple[str | None, str | None]) -> None:
    assert error_fields(body) == fields
