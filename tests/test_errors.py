"""Every error code the emulator plays, table-driven, through the whole handler: the API answers the create
call with the code, and the result carries the right outcome and retryable flag (which decides whether the
platform is asked to retry)."""

from __future__ import annotations

import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from lib.cloud.errors import KNOWN_CODES, classify
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
    (429, "DBS.280443", "failed", True),
    (500, "DBS.280005", "failed", True),
    (403, "DBS.280032", "failed", False),
    (401, "APIG.0301", "failed", False),
    (401, "APIGW.0303", "failed", False),
    (429, "APIG.0308", "failed", True),
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
    # Retryable codes are retried up to RETRY_MAX_ATTEMPTS (4); permanent ones and 401s are tried once.
    assert data["attempts"] == (4 if retryable and status != 401 else 1)
    assert data["error"]["code"] == code
    assert data["error"]["retryable"] is retryable
    assert data["error"]["http_status"] == status
    assert data["error"]["request_id"]  # the API's X-Request-Id, for support tickets
    assert result["_raised"] is retryable
    assert configured.state.backups == {}


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
