"""Typed errors of the cloud APIs this function calls (DDS, IAM, SMN, and the API gateway in front of them), and
the classification of their error codes (OTC document-database-service ``api-ref/source/appendix/error_code.rst``).

"Retryable" means: the same call, later, can succeed without anybody changing anything. It drives both
our own retries and whether the handler asks the platform to retry the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.codes import ErrorCode
from lib.models import ErrorInfo


@dataclass(frozen=True)
class CodeInfo:
    retryable: bool
    hint: str
    #: The instance (or the backup) is busy with something that takes minutes: retried by a later invocation,
    #: never within seconds.
    busy: bool = False


_BUSY = CodeInfo(
    True, "the instance is busy with another operation or in a state that forbids backups; retry later", busy=True
)
_NO_INSTANCE = CodeInfo(False, "the instance does not exist in this project: check instance_id, PROJECT_ID and REGION")
_BAD_PARAM = CodeInfo(False, "the API rejected a parameter: check the request fields")
_NO_PERMISSION = CodeInfo(
    False,
    "the credentials lack a DDS permission: grant the agency or user the DDS actions that docs/deployment.md lists "
    "(The agency)",
)

# Every code the function can meet on the backup path: DDS from OTC document-database-service
# api-ref/source/appendix/error_code.rst, the gateway from OTC api-gateway
# umn/source/published_api_calling/error_codes.rst, SMN from OTC simple-message-notification
# api-ref/source/public_parameters/error_codes.rst. A code documented with several HTTP statuses is classified by
# the status (see ``classify``).
KNOWN_CODES: dict[str, CodeInfo] = {
    # Request content
    "DBS.200001": _BAD_PARAM,
    "DBS.200095": _BAD_PARAM,
    "DBS.201006": _BAD_PARAM,
    "DBS.280001": _BAD_PARAM,
    "DBS.290000": _BAD_PARAM,
    "DBS.280271": CodeInfo(False, "a parameter value is out of range (too long)"),
    "DBS.201201": CodeInfo(False, "a backup with this name already exists in the project (names are project-wide)"),
    "DBS.280277": CodeInfo(False, "invalid backup name: 4-64 chars, start with a letter, letters/digits/-/_ only"),
    "DBS.280127": CodeInfo(False, "invalid backup description: at most 256 chars, none of >!<\"&'="),
    "DBS.280124": CodeInfo(False, "invalid backup id"),
    # Documented both ways: message "Operation cannot be executed in current state of the DB instance.",
    # description "The backup file does not exist." Busy on a create; a delete looks the backup up (runner/prune.py).
    "DBS.201204": CodeInfo(
        True, "the instance's state does not allow the operation now (or the backup does not exist)", busy=True
    ),
    "DBS.201214": CodeInfo(False, "the backup does not exist"),
    "DBS.201319": CodeInfo(True, "the backup cannot be deleted while a restoration is in progress", busy=True),
    "DBS.280439": _BAD_PARAM,
    "DBS.280440": _BAD_PARAM,
    # Instance existence and ownership
    "DBS.200002": _NO_INSTANCE,
    "DBS.201028": _NO_INSTANCE,
    "DBS.201501": _NO_INSTANCE,
    "DBS.201502": _NO_INSTANCE,
    "DBS.280110": _NO_INSTANCE,
    "DBS.280404": CodeInfo(False, "malformed instance id"),
    "DBS.200604": CodeInfo(False, "the instance belongs to another project or tenant: check PROJECT_ID"),
    "DBS.200010": CodeInfo(False, "the tenant does not match the instance: check PROJECT_ID and credentials"),
    # Instance state: transient by nature (another operation, a backup already running)
    "DBS.200011": _BUSY,
    "DBS.200018": _BUSY,
    "DBS.200019": _BUSY,
    "DBS.200047": _BUSY,
    "DBS.200076": _BUSY,
    "DBS.201000": _BUSY,
    "DBS.201014": _BUSY,
    "DBS.201015": _BUSY,
    "DBS.201202": CodeInfo(
        True, "the instance's state does not allow a backup now (often: a backup is running)", busy=True
    ),
    # Retried as "instance busy" by both Terraform providers (services/dds/common.go, handleMultiOperationsError):
    # "Instance's status is not available for this operation." Not in the OTC table.
    "DBS.00010009": _BUSY,
    # Huawei provider, first DDS backup resource: a delete refused "while the backup is in the state of backup".
    "DBS.201208": CodeInfo(True, "the backup is still being made; retry later", busy=True),
    "DBS.280042": _BUSY,
    "DBS.200998": CodeInfo(True, "the DDS service is busy; retry later"),
    "DBS.200004": CodeInfo(False, "the operation is not permitted on this instance"),
    "DBS.212003": CodeInfo(False, "the operation is not permitted on this instance"),
    "DBS.280343": CodeInfo(False, "unsupported operation for this instance"),
    # Throttling and server side
    "DBS.280443": CodeInfo(True, "DDS throttled the tenant (too many API calls)"),
    "DBS.280005": CodeInfo(True, "DDS server error; retry later"),
    "DBS.201509": CodeInfo(True, "DDS could not reach OBS; retry later"),
    # Authentication and permission
    "DBS.280056": CodeInfo(True, "the token was rejected (expired or revoked); a new token is fetched on retry"),
    "DBS.280015": CodeInfo(False, "permission denied: the token's project does not match PROJECT_ID"),
    "DBS.280032": _NO_PERMISSION,
    "DBS.280063": _NO_PERMISSION,
    "DBS.280064": _NO_PERMISSION,
    "DBS.280408": CodeInfo(False, "invalid project id: check PROJECT_ID"),
    "DBS.280019": CodeInfo(False, "the account is suspended"),
    # API gateway (any service); APIG and APIGW are the same codes
    "APIG.0101": CodeInfo(False, "API not found: check DDS_ENDPOINT"),
    # One code for 400/413/414/494 (bad request) and 500/502/504 (backend failed): the status decides.
    "APIG.0201": CodeInfo(False, "the gateway rejected the request as malformed or too large"),
    "APIG.0202": CodeInfo(True, "the gateway's backend is unavailable; retry later"),
    "APIG.0203": CodeInfo(True, "the gateway's backend timed out; retry later"),
    # Never hot-retried: the gateway locks an AK/SK for 5 minutes after 5 failures in a row.
    "APIG.0301": CodeInfo(False, "authentication failed: check the AK/SK, token or agency"),
    "APIG.0302": _NO_PERMISSION,
    "APIG.0303": CodeInfo(False, "signature rejected: check the SK and the machine clock (15 minute window)"),
    "APIG.0305": CodeInfo(False, "authentication failed: check the AK/SK, token or agency"),
    "APIG.0306": _NO_PERMISSION,
    "APIG.0307": CodeInfo(True, "the token must be renewed; a new token is fetched on retry"),
    "APIG.0308": CodeInfo(True, "the API gateway throttled the tenant (too many API calls)"),
    "APIG.0310": CodeInfo(False, "the project is unavailable: check PROJECT_ID and REGION"),
    "APIG.0613": CodeInfo(True, "IAM is unavailable behind the gateway; retry later"),
    # SMN (its error body is {"request_id", "code", "message"})
    "SMN.0001": CodeInfo(False, "no permission to publish: grant smn:topic:publish on the topic"),
    "SMN.00308": CodeInfo(False, "a policy forbids publishing to the topic: check the topic's policy"),
    "SMN.0005": CodeInfo(False, "the topic URN is invalid: check RESULT_TOPIC_URN/FANOUT_TOPIC_URN/ALERT_TOPIC_URN"),
    "SMN.0006": CodeInfo(False, "the topic does not exist: create it or fix the topic URN"),
    "SMN.0008": CodeInfo(False, "SMN refused the subject"),
    "SMN.0009": CodeInfo(False, "SMN refused the message (too long or empty)"),
    "SMN.0018": CodeInfo(True, "SMN server error; retry later"),
}


#: Throttling: DDS's own code and the gateway's (in both spellings), both documented with 429 (the tables cited above).
THROTTLING = frozenset({"DBS.280443", "APIG.0308", "APIGW.0308"})


def _transient(http_status: int | None) -> bool:
    return http_status is not None and (http_status >= 500 or http_status in (408, 429))


def classify(code: str | None, http_status: int | None) -> CodeInfo:
    """A 5xx (or 408/429) is retryable whatever the code says: one code may be documented with several statuses
    (APIG.0201 is 400 "API request error" but also 502 "Backend unavailable" and 504 "Backend timeout")."""
    info = KNOWN_CODES.get(code.replace("APIGW.", "APIG.", 1)) if code else None
    if _transient(http_status):
        hint = info.hint if info is not None and info.retryable else f"HTTP {http_status} from the API; retry later"
        return CodeInfo(True, hint)
    if info is not None:
        return info
    return CodeInfo(False, f"the API refused the request (HTTP {http_status})")


class CloudError(Exception):
    """Anything that went wrong calling a cloud API. ``code`` is the API's error code or one of ours."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """``retryable`` is the code's own (``ErrorCode.retryable``) unless given: the API's codes need it said."""
        super().__init__(f"{code}: {message}")
        if retryable is None:
            if not isinstance(code, ErrorCode):
                raise TypeError(f"say whether {code} is retryable: it is not one of ours")
            retryable = code.retryable
        self.code = code
        self.message = message
        self.retryable = retryable
        self.http_status = http_status
        self.request_id = request_id
        self.retry_after = retry_after

    def info(self, message: str | None = None) -> ErrorInfo:
        """The error as a result reports it (``message`` replaces ours when the caller knows better)."""
        return ErrorInfo(
            code=self.code,
            message=message or self.message,
            retryable=self.retryable,
            http_status=self.http_status,
            request_id=self.request_id,
        )


class ApiError(CloudError):
    """The API answered with an error (body ``{"error_code", "error_msg"}`` or one of its variants)."""

    @classmethod
    def from_response(
        cls,
        http_status: int,
        code: str | None,
        api_message: str | None,
        request_id: str | None,
        retry_after: str | None = None,
    ) -> ApiError:
        info = classify(code, http_status)
        text = info.hint
        if api_message:
            text = f"{info.hint} (API said: {api_message[:300]})"
        return cls(
            code or f"HTTP.{http_status}",
            text,
            retryable=info.retryable,
            http_status=http_status,
            request_id=request_id,
            retry_after=parse_retry_after(retry_after),
        )


def parse_retry_after(value: str | None) -> float | None:
    """Delay-seconds only; an HTTP date (rare for APIs) is ignored and the backoff applies instead."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return min(seconds, 60.0) if seconds >= 0 else None


def throttling(exc: CloudError) -> bool:
    """The API refused the call for its rate (429 is "Too Many Requests" whatever the code, RFC 6585): nothing
    was applied, and the limiter, not the retry policy, decides when to send it again."""
    return exc.http_status == 429 or (isinstance(exc, ApiError) and exc.code in THROTTLING)


def busy(exc: CloudError) -> bool:
    """The instance or backup is busy with an operation that takes minutes (a backup, a restore): DDS codes only."""
    info = KNOWN_CODES.get(exc.code)
    return info is not None and info.busy and not _transient(exc.http_status)


class TransportError(CloudError):
    """No usable HTTP answer: connection refused or reset, DNS, timeout, unparseable body.

    ``sent`` says whether the request may have reached the server (and been applied): a refused connection, a
    failed name lookup or a connect timeout never left this machine; a reset, a read timeout or an unreadable
    answer may have (or did). ``method`` and ``path`` name the request, as aiohttp's ``request_info`` does.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        sent: bool = True,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(code, message)
        self.sent = sent
        self.method = method
        self.path = path


def error_fields(data: Any) -> tuple[str | None, str | None]:
    """error_code/error_msg, with the SDK's fallbacks (errorCode/errorMsg, code/message, one nested level)."""
    if not isinstance(data, dict):
        return None, None
    candidates = [data] + [v for v in data.values() if isinstance(v, dict)]
    for d in candidates:
        for code_key, msg_key in (
            ("error_code", "error_msg"),
            ("errorCode", "errorMsg"),
            ("code", "message"),
        ):
            if code_key in d:
                msg = d.get(msg_key)
                return str(d[code_key]), (str(msg) if msg is not None else None)
    return None, None
