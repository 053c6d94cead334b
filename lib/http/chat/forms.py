"""Form-encoded bodies (``application/x-www-form-urlencoded``), as Slack and Mattermost send their commands."""

from __future__ import annotations

from urllib.parse import parse_qs

from lib.codes import ErrorCode
from lib.http.gateway import HttpError


def parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, ErrorCode.INVALID_BODY, "the body is not UTF-8") from None
    if text and "=" not in text:
        raise HttpError(400, ErrorCode.INVALID_BODY, "the body is not form-encoded (application/x-www-form-urlencoded)")
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise HttpError(
            400, ErrorCode.INVALID_BODY, "the body is not form-encoded (application/x-www-form-urlencoded)"
        ) from None
    return {k: v[0] for k, v in form.items()}
