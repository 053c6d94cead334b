"""The API Gateway adapter: the APIG event in, always a valid APIG response out.

Bodies arrive base64-encoded by default and header names are lower-case. Whatever happens (bad base64, an
unknown route, a bug of ours), the caller gets ``{"statusCode", "headers", "body", "isBase64Encoded"}`` with
a JSON error body, never an exception: a raised exception would become an opaque gateway 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lib.codes import ErrorCode
from lib.logs import bound, get_logger

_log = get_logger("http")

# APIG passes at most 6 MB to a synchronous function; a backup request is tiny. Refuse early.
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    request_id: str
    path_params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class HttpError(Exception):
    """An answer decided early (bad input); carried up to ``handle`` and turned into a response."""

    def __init__(self, status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if not is_text(text):  # an unpaired surrogate from the input, echoed: as an escape, the body stays UTF-8
        text = json.dumps(body, separators=(",", ":"))
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": text,
        "isBase64Encoded": False,
    }


def is_text(value: str) -> bool:
    """Whether ``value`` is Unicode text that UTF-8 can carry: API Gateway hands headers over as JSON strings,
    which can hold unpaired surrogates (``"\\udcff"``), and ``serve`` reads undecodable header bytes as such."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The function's error answer: ``{"error": {"code", "message"[, "details"]}, "request_id"}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return response(status, {"error": error, "request_id": request_id}, headers)


def _as_str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k).lower() if k is not None else "": str(v) for k, v in value.items() if v is not None}


def _headers(value: Any) -> dict[str, str]:
    """Lower-case names; a name or value that is not text (not UTF-8 on the wire) is a 400 naming the header
    (escaped), before anything reads it: a signature check, an identity or a log line would otherwise choke on it."""
    headers = _as_str_dict(value)
    for name, text in headers.items():
        if not (is_text(name) and is_text(text)):
            shown = json.dumps(name)[1:-1][:64]
            raise HttpError(400, ErrorCode.INVALID_HEADER, f"the header {shown} is not UTF-8 text")
    return headers


#: A caller's own ``X-Request-Id`` longer than this (or not text) is not used: the invocation's id stands in.
MAX_REQUEST_ID = 128


def request_id_of(event: dict[str, Any], fallback_request_id: str) -> str:
    """The id the caller can quote: API Gateway's own (``requestContext.requestId``), else the caller's
    ``X-Request-Id``, else the invocation's. Every answer and every log line of the request carries this one."""
    raw_context = event.get("requestContext")
    context: dict[str, Any] = raw_context if isinstance(raw_context, dict) else {}
    given = str(context.get("requestId") or _as_str_dict(event.get("headers")).get("x-request-id") or "")
    return given if given and len(given) <= MAX_REQUEST_ID and is_text(given) else fallback_request_id


def parse(event: dict[str, Any], request_id: str) -> HttpRequest:
    headers = _headers(event.get("headers"))
    raw = event.get("body") or ""
    if not isinstance(raw, str):
        raise HttpError(400, ErrorCode.INVALID_BODY, "the body must be a string")
    if event.get("isBase64Encoded", False):
        if len(raw) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise HttpError(413, ErrorCode.BODY_TOO_LARGE, f"the body exceeds {MAX_BODY_BYTES} bytes")
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, ErrorCode.INVALID_BODY, "the body is not valid base64") from None
    else:
        body = raw.encode("utf-8", "surrogatepass")
    if len(body) > MAX_BODY_BYTES:
        raise HttpError(413, ErrorCode.BODY_TOO_LARGE, f"the body exceeds {MAX_BODY_BYTES} bytes")
    query = event.get("queryStringParameters")
    return HttpRequest(
        method=str(event.get("httpMethod", "")).upper(),
        # Escaped when it is no text, so that it matches no route and can be named in the 404 and the log.
        path="/" + str(event.get("path") or "/").strip("/").encode("utf-8", "backslashreplace").decode(),
        headers=headers,
        query={str(k): str(v) for k, v in query.items()} if isinstance(query, dict) else {},
        body=body,
        request_id=request_id,
    )


Dispatch = Callable[["HttpRequest"], Awaitable[dict[str, Any]]]


async def handle(event: dict[str, Any], dispatch: Dispatch, fallback_request_id: str) -> dict[str, Any]:
    """Parse the event, let ``dispatch`` answer, and turn anything raised into an APIG error response."""
    request_id = request_id_of(event, fallback_request_id)
    with bound(**{"http.request.id": request_id}):
        try:
            request = parse(event, request_id)
            _log.info("http request", extra={"http.request.method": request.method, "url.path": request.path})
            answer = await dispatch(request)
        except HttpError as exc:
            answer = error_response(exc.status, exc.code, exc.message, request_id, headers=exc.headers)
        except Exception:
            _log.exception("unexpected error while answering an API Gateway request")
            answer = error_response(500, ErrorCode.INTERNAL_ERROR, "unexpected error; quote the request id", request_id)
        _log.info("http response", extra={"http.response.status_code": answer["statusCode"]})
    return answer
