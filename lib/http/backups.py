"""The backup routes: ``POST /backups`` (a backup request from a CI/CD pipeline or any webhook sender) and
``GET /backups/{backup_id}`` (its status, for pollers).

``POST /backups`` answers 202 + ``Location: /backups/{backup_id}`` while the backup builds (or when a
``wait`` ran out of budget), 200 when it is completed or already existed, 400/404 for bad requests and
502/503 when DDS failed (503 + Retry-After when trying again can help). An audit request answers 200 when every
instance it names is fresh and 409 when one is stale, so that a pipeline step such as ``curl --fail`` stops on
a missing backup.
"""

from __future__ import annotations

from typing import Any

from lib import jsonsafe
from lib.codes import ErrorCode
from lib.http.auth import Caller
from lib.http.gateway import MAX_BODY_BYTES, HttpError, HttpRequest, error_response, response
from lib.http.orders import WEBHOOK_SCOPE, webhook_order
from lib.models import ErrorInfo, Outcome, ResultEvent, Trigger, validate_request
from lib.service import BackupService, ServiceError

_NOT_FOUND = {ErrorCode.INSTANCE_NOT_FOUND, ErrorCode.NO_MATCHING_INSTANCE}
# A key used again with another request: 422, as the IETF Idempotency-Key draft answers (draft-ietf-httpapi-
# idempotency-key-header, "Idempotency-Key is reused" with a different payload).
_REUSED = ErrorCode.IDEMPOTENCY_KEY_REUSED
# A backup under our name that we did not make: the request conflicts with what is there.
_CONFLICT = ErrorCode.NAME_TAKEN
RETRY_AFTER_S = "30"


def _json_body(request: HttpRequest) -> Any:
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, ErrorCode.INVALID_BODY, "the body is not UTF-8") from None
    try:
        return jsonsafe.loads(text, max_bytes=MAX_BODY_BYTES)
    except jsonsafe.JsonRejected as exc:
        raise HttpError(
            413 if exc.code == ErrorCode.MESSAGE_TOO_LARGE else 400, exc.code, f"the body: {exc.message}"
        ) from None


async def post_backups(request: HttpRequest, caller: Caller, service: BackupService) -> dict[str, Any]:
    result = validate_request(_json_body(request), "the body")
    if isinstance(result, ErrorInfo):
        details = [d.model_dump() for d in result.details or []]
        return error_response(400, result.code, result.message, request.request_id, details=details)
    order = webhook_order(request, result, Trigger.APIG, caller.delivery, WEBHOOK_SCOPE)
    wait_deadline = service.invocation.deadline.within(caller.settings.webhook_wait)
    execution = await service.execute([order], wait_deadline=wait_deadline)
    return backups_answer(execution.results, request.request_id)


def _status_of(event: ResultEvent) -> str:
    data = event.data
    if data.outcome in (Outcome.FRESH, Outcome.STALE):  # an audit's verdict, not its newest backup's status
        return "FRESH" if data.outcome is Outcome.FRESH else "STALE"
    if data.backup_status:
        return data.backup_status
    known = {
        Outcome.COMPLETED: "COMPLETED",
        Outcome.CREATED: "BUILDING",
        Outcome.DRY_RUN: "DRY_RUN",
        Outcome.FANNED_OUT: "QUEUED",  # handed to its own invocation through SMN
    }
    return known.get(data.outcome, "FAILED" if data.outcome is Outcome.FAILED else "REJECTED")


def _http_status(event: ResultEvent) -> int:
    data = event.data
    if data.outcome in (Outcome.CREATED, Outcome.FANNED_OUT):
        return 202
    if data.outcome in (Outcome.COMPLETED, Outcome.EXISTS, Outcome.DRY_RUN, Outcome.PRUNED, Outcome.FRESH):
        return 200
    if data.outcome is Outcome.STALE:
        return 409
    error = data.error
    if error is None or error.code in (ErrorCode.INVALID_CONFIG, ErrorCode.INTERNAL_ERROR):
        return 500
    if data.outcome is Outcome.REJECTED:
        return 404 if error.code in _NOT_FOUND else 422 if error.code == _REUSED else 400
    if error.code == _CONFLICT:
        return 409
    return 503 if error.retryable else 502


def _worst(status: int) -> tuple[bool, bool, int]:
    """The worst answer wins: an error over "still building" over "done"."""
    return status >= 400, status == 202, status


def backups_answer(results: list[ResultEvent], request_id: str) -> dict[str, Any]:
    status = max((_http_status(r) for r in results), key=_worst)
    headers: dict[str, str] = {}
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_S
    body: dict[str, Any] = {"request_id": request_id, "results": [r.to_json_dict() for r in results]}
    # The backup itself, as opposed to the retention clean-up that may follow it.
    primary = [r for r in results if r.data.outcome is not Outcome.PRUNED]
    if len(primary) > 1:
        # Several instances: the status of the one that decided the answer (an audit: STALE when any is stale).
        body["status"] = _status_of(max(primary, key=lambda r: _worst(_http_status(r))))
    if len(primary) == 1:
        data = primary[0].data
        body.update(
            status=_status_of(primary[0]),
            outcome=data.outcome.value,
            backup_id=data.backup_id,
            name=data.name,
            instance_id=data.instance_id,
            job_id=data.job_id,
            error=data.error.model_dump(exclude_none=True) if data.error else None,
        )
        if data.backup_id:
            body["status_url"] = f"/backups/{data.backup_id}"
            if status in (200, 202):
                headers["Location"] = body["status_url"]
    return response(status, body, headers)


def _unavailable(error: ErrorInfo, request_id: str) -> dict[str, Any]:
    if error.code == ErrorCode.INVALID_CONFIG:
        return error_response(500, error.code, error.message, request_id)
    status = 503 if error.retryable else 502
    headers = {"Retry-After": RETRY_AFTER_S} if error.retryable else None
    return error_response(status, error.code, error.message, request_id, headers=headers)


async def get_backup(request: HttpRequest, caller: Caller, service: BackupService) -> dict[str, Any]:
    backup_id = request.path_params["backup_id"]
    deadline = service.invocation.deadline.within(caller.settings.request_timeout)
    try:
        match = await service.find_backup(backup_id, deadline)
    except ServiceError as exc:
        return _unavailable(exc.error, request.request_id)
    if match is None:
        return error_response(
            404, ErrorCode.BACKUP_NOT_FOUND, f"no backup {backup_id} in this project", request.request_id
        )
    return response(
        200,
        {
            "backup_id": match.id,
            "name": match.name,
            "instance_id": match.instance_id,
            "instance_name": match.instance_name,
            "status": match.status,
            "type": match.type,
            "begin_time": match.begin_time,
            "end_time": match.end_time,
            "size_kb": match.size,
            "request_id": request.request_id,
        },
    )
